import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../helpers/free-port";
import { GraphQLClient } from "../helpers/server";
import { waitFor } from "../helpers/services";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "..", "..");
const INSTALL_TIMEOUT_MS = 240_000;
/**
 * An older graphql 16 minor than the one sessionql is developed with (package-lock.json), still inside the peer
 * range: the application's copy is the only one, and sessionql runs on it.
 */
const APP_GRAPHQL = "16.12.0";

/** An application written from the README: its own schema and resolver beside the session operations. */
const APP_JS = `
const { ApolloServer } = require("@apollo/server");
const { startStandaloneServer } = require("@apollo/server/standalone");
const { createSessions } = require("sessionql");

async function main() {
  const sessions = await createSessions({ store: "memory://", secrets: ["at-least-16-characters"], privateKeyPrefix: "_" });
  const server = new ApolloServer({
    typeDefs: [\`type Query { visits: Int!, graphqlVersion: String! } type Mutation { visit: Int! }\`, sessions.typeDefs],
    resolvers: [
      {
        Query: {
          visits: async (_, __, { session }) => session.get("_visits", 0),
          graphqlVersion: () => require("graphql").version,
        },
        Mutation: {
          visit: (_, __, { session }) =>
            session.modify((draft) => {
              const visits = draft.get("_visits", 0) + 1;
              draft.set("_visits", visits);
              return visits;
            }),
        },
      },
      sessions.resolvers,
    ],
    plugins: [sessions.plugin],
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: Number(process.env.PORT), host: "127.0.0.1" },
    context: async ({ req, res }) => sessions.context({ req, res }),
  });
  console.log(url);
}
main();
`;

/** The same application's context typed with the package's own declarations. */
const APP_TS = `
import { createSessions, type SessionContext } from "sessionql";
import { createSessionClient } from "sessionql/client";

export async function visits({ session }: SessionContext): Promise<number> {
  return (await session.get("_visits", 0)) as number;
}
export const made = createSessions({ store: "memory://", secrets: ["at-least-16-characters"] });
export const client = createSessionClient;
`;

describe("the package as npm pack builds it, installed into a fresh application", () => {
  let dir: string;
  let app: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sessionql-package-"));
    app = join(dir, "app");
    mkdirSync(app);
    await run("npm", ["pack", "--pack-destination", dir, "--silent"], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const tarball = readdirSync(dir).find((name) => name.endsWith(".tgz")) as string;
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "shop-app",
        private: true,
        dependencies: { sessionql: `file:../${tarball}`, graphql: APP_GRAPHQL, "@apollo/server": "^5.5.1" },
      }),
    );
    writeFileSync(join(app, "app.js"), APP_JS);
    writeFileSync(join(app, "app.ts"), APP_TS);
    // Install scripts are skipped: the memory store never loads better-sqlite3's native build, which would
    // otherwise compile for a minute; everything else installs as an application's `npm install` does.
    await run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], {
      cwd: app,
      maxBuffer: 16 * 1024 * 1024,
    });
  }, INSTALL_TIMEOUT_MS);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("ships dist, schema.graphql and the type declarations, and peers on graphql and @apollo/server", () => {
    const installed = join(app, "node_modules", "sessionql");
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(manifest.peerDependencies).toEqual({
      "@apollo/server": expect.any(String),
      graphql: expect.any(String),
    });
    expect(manifest.dependencies.graphql).toBeUndefined();
    for (const file of [
      "dist/index.js",
      "dist/index.d.ts",
      "dist/client/index.d.ts",
      "dist/main.js",
      "schema.graphql",
    ]) {
      expect(() => readFileSync(join(installed, file))).not.toThrow();
    }
  });

  test("holds one copy of graphql, the application's", async () => {
    const { stdout } = await run("npm", ["ls", "graphql", "--all", "--json"], {
      cwd: app,
      maxBuffer: 16 * 1024 * 1024,
    });
    const versions = new Set<string>();
    const visit = (node: { version?: string; dependencies?: Record<string, unknown> }, name?: string) => {
      if (name === "graphql" && node.version) versions.add(node.version);
      for (const [child, value] of Object.entries(node.dependencies ?? {}))
        visit(value as typeof node, child);
    };
    visit(JSON.parse(stdout));
    expect([...versions]).toEqual([APP_GRAPHQL]);
  });

  test("type-checks an application's context against the shipped declarations", async () => {
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const flags = [
      "--noEmit",
      "--strict",
      "--module",
      "node16",
      "--moduleResolution",
      "node16",
      "--skipLibCheck",
    ];
    await expect(run(process.execPath, [tsc, ...flags, "app.ts"], { cwd: app })).resolves.toBeDefined();
  }, 60_000);

  test("an application written from the README runs on it: its resolvers read and write the session", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["app.js"], {
      cwd: app,
      env: { ...process.env, PORT: String(port) },
    });
    const output: string[] = [];
    child.stdout.on("data", (chunk) => output.push(String(chunk)));
    child.stderr.on("data", (chunk) => output.push(String(chunk)));
    try {
      await waitFor("the application to listen", async () => output.join("").includes("http://"), {
        timeoutMs: 15_000,
      });
      const client = new GraphQLClient(`http://127.0.0.1:${port}/`);
      expect((await client.request("mutation { visit }")).data).toEqual({ visit: 1 });
      expect((await client.request("mutation { visit }")).data).toEqual({ visit: 2 });
      const read = await client.request("{ visits graphqlVersion session { keys version } }");
      expect(read.data).toEqual({
        visits: 2,
        graphqlVersion: APP_GRAPHQL,
        session: { keys: [], version: 2 },
      });
      const refused = await client.request('mutation { setSession(key: "_visits", value: 99) { version } }');
      expect(refused.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    } finally {
      child.kill("SIGTERM");
    }
  }, 30_000);
});
