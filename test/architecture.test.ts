import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

const ROOT = resolve(__dirname, "..");
const SRC = join(ROOT, "src");

/** One import of a source file: what it names, and where a relative one leads (repo-relative, posix). */
interface Dependency {
  file: string;
  specifier: string;
  target: string | undefined;
}

// Matches static imports and re-exports (`… from "x"`, including multi-line and `import type`), side-effect
// imports, `require("x")` and `import("x")`. A specifier only inside a comment still counts: it is cheaper to
// reword such a comment than to let a wrong-way import hide behind a parser's blind spot.
const SPECIFIER =
  /\b(?:import|export)\s[^"'`;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']|\b(?:require|import)\s*\(\s*["']([^"']+)["']\s*\)/g;

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(c|m)?tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

function posix(path: string): string {
  return path.split(sep).join("/");
}

function dependenciesOf(file: string): Dependency[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(SPECIFIER)].map((match) => {
    const specifier = (match[1] ?? match[2] ?? match[3]) as string;
    const target = specifier.startsWith(".")
      ? posix(relative(ROOT, resolve(dirname(file), specifier)))
      : undefined;
    return { file: posix(relative(ROOT, file)), specifier, target };
  });
}

/** The file's code with its comments removed, so a comment that mentions process.env is no offence. */
function codeOf(file: string): string {
  const output = ts.transpileModule(readFileSync(file, "utf8"), {
    compilerOptions: { removeComments: true, target: ts.ScriptTarget.ES2022 },
    fileName: file,
  });
  return output.outputText;
}

const files = sourceFiles(SRC);
const dependencies = files.flatMap(dependenciesOf);

function importsOf(prefix: string): Dependency[] {
  return dependencies.filter((dependency) => dependency.file.startsWith(prefix));
}

function describeDependency({ file, specifier }: Dependency): string {
  return `${file} imports "${specifier}"`;
}

const isInside = (directory: string) => (dependency: Dependency) =>
  dependency.target?.startsWith(`${directory}/`) === true;

// The packages that make up the web layer; the core and the stores must work without any of them.
const WEB_PACKAGES = [
  /^fastify$/,
  /^@fastify\//,
  /^@apollo\//,
  /^type-graphql$/,
  /^graphql(-scalars|-http)?$/,
  /^graphql\//,
  /^cookie$/,
  /^reflect-metadata$/,
];

/** Whether the import reaches HTTP, GraphQL or the server, as a package or as one of our modules. */
function reachesWebLayer(dependency: Dependency): boolean {
  if (dependency.target === undefined)
    return WEB_PACKAGES.some((pattern) => pattern.test(dependency.specifier));
  return /^src\/(http|graphql|integrations|standalone)\/|^src\/(server|main|library)(\.ts)?$/.test(
    dependency.target,
  );
}

/** Web frameworks: only their adapters and the standalone server may know them. */
const FRAMEWORK_PACKAGES = [/^fastify$/, /^@fastify\//, /^express$/, /^@as-integrations\//];

function reachesFramework(dependency: Dependency): boolean {
  return (
    dependency.target === undefined &&
    FRAMEWORK_PACKAGES.some((pattern) => pattern.test(dependency.specifier))
  );
}

describe("the import scanner", () => {
  test("finds the source files and the imports it checks", () => {
    expect(files.map((file) => posix(relative(ROOT, file)))).toEqual(
      expect.arrayContaining(["src/session/service.ts", "src/config.ts", "src/main.ts"]),
    );
    expect(importsOf("src/session/service.ts").map((dependency) => dependency.specifier)).toEqual(
      expect.arrayContaining(["./errors", "./store"]),
    );
    expect(importsOf("src/server.ts").map((dependency) => dependency.specifier)).toEqual(
      expect.arrayContaining(["fastify", "./config"]),
    );
  });

  test("sees multi-line, type-only, side-effect, require and dynamic imports", () => {
    const text = [
      'import {\n  a,\n  type B,\n} from "./multi";',
      'import type { C } from "./typed";',
      'import "./side-effect";',
      'const d = require("./required");',
      'const e = await import("./dynamic");',
      'export { f } from "./reexported";',
    ].join("\n");
    const found = [...text.matchAll(SPECIFIER)].map((match) => match[1] ?? match[2] ?? match[3]);
    expect(found).toEqual(["./multi", "./typed", "./side-effect", "./required", "./dynamic", "./reexported"]);
  });
});

describe("the session core", () => {
  const core = importsOf("src/session/");

  test("imports nothing from HTTP, GraphQL or Keyv", () => {
    const wrong = core.filter(
      (dependency) => reachesWebLayer(dependency) || /^(@keyv\/|keyv$)/.test(dependency.specifier),
    );
    expect(wrong.map(describeDependency)).toEqual([]);
  });

  test("imports only its own files and node: built-ins", () => {
    const wrong = core.filter(
      (dependency) => !dependency.specifier.startsWith("node:") && !isInside("src/session")(dependency),
    );
    expect(wrong.map(describeDependency)).toEqual([]);
  });
});

describe("the stores", () => {
  const stores = importsOf("src/stores/");

  test("import only the session core, each other and drivers", () => {
    const wrong = stores.filter(
      (dependency) =>
        dependency.target !== undefined &&
        !isInside("src/session")(dependency) &&
        !isInside("src/stores")(dependency),
    );
    expect(wrong.map(describeDependency)).toEqual([]);
  });

  test("import nothing from HTTP, GraphQL or the server", () => {
    const wrong = stores.filter(reachesWebLayer);
    expect(wrong.map(describeDependency)).toEqual([]);
  });
});

describe("the web frameworks", () => {
  test("are known only to src/integrations (one adapter each) and the standalone server", () => {
    const wrong = dependencies.filter(
      (dependency) =>
        reachesFramework(dependency) &&
        !/^src\/(integrations|standalone)\/|^src\/server\.ts$/.test(dependency.file),
    );
    expect(wrong.map(describeDependency)).toEqual([]);
  });

  test("the session layer's HTTP part (cookies, the request's session) imports no GraphQL", () => {
    const wrong = importsOf("src/http/").filter(
      (dependency) =>
        (dependency.target === undefined && /^(@apollo\/|graphql|type-graphql)/.test(dependency.specifier)) ||
        isInside("src/graphql")(dependency),
    );
    expect(wrong.map(describeDependency)).toEqual([]);
  });
});

describe("the config module", () => {
  test("imports nothing from src", () => {
    const wrong = importsOf("src/config.ts").filter((dependency) => dependency.target !== undefined);
    expect(wrong.map(describeDependency)).toEqual([]);
  });
});

describe("the environment", () => {
  test("is read only by src/main.ts", () => {
    const readers = files
      .filter((file) =>
        /\bprocess\s*(\.\s*env\b|\[\s*["'`]env["'`]\s*\])|\}\s*=\s*process\b/.test(codeOf(file)),
      )
      .map((file) => posix(relative(ROOT, file)));
    expect(readers).toEqual(["src/main.ts"]);
  });
});

describe("the source tree", () => {
  test("imports nothing from test/", () => {
    const wrong = dependencies.filter(
      (dependency) => isInside("test")(dependency) || /^@?jest(\/|$)/.test(dependency.specifier),
    );
    expect(wrong.map(describeDependency)).toEqual([]);
  });
});
