import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freePort } from "../test/helpers/free-port";
import { onServerCore, type Pinning } from "./cpu";

/**
 * The servers the bench compares: sessionql, the bare baseline, the Apollo floor (Apollo Server on fastify
 * answering from constants: what any server built on them could do at most), which needs no store, Apollo as
 * its users get it (Apollo Server on fastify through @as-integrations/fastify, default plugins, sessions in a
 * Map), and the two Express 5 servers: sessionql's library on Express and Apollo Server with express-session.
 */
export type ServerKind =
  | "sessionql"
  | "sessionql-defaults"
  | "baseline"
  | "apollo-floor"
  | "apollo-users"
  | "express-library"
  | "express-session";
export const SERVER_KINDS: readonly ServerKind[] = ["sessionql", "baseline"];

/** The Express 5 pair, which runs on the stores both have (memory and Redis). */
export const EXPRESS_KINDS: readonly ServerKind[] = ["express-library", "express-session"];

/**
 * The servers W5 (one session written by every connection) runs on: the ones that keep a per-session lock,
 * sessionql and its library. The baseline and express-session would lose updates to concurrent writes of one
 * session, and the floor and apollo-users are no session layer to test.
 */
export const HOT_SESSION_KINDS: ReadonlySet<ServerKind> = new Set<ServerKind>([
  "sessionql",
  "sessionql-defaults",
  "express-library",
]);

const SCRIPTS: Record<Exclude<ServerKind, "sessionql" | "sessionql-defaults">, string> = {
  baseline: "bench/baseline.ts",
  "apollo-floor": "bench/apollo-floor.ts",
  "apollo-users": "bench/apollo-users.ts",
  "express-library": "bench/express-library.ts",
  "express-session": "bench/express-session.ts",
};

/** A server process the bench started; `stop` ends it by its pid. */
export interface RunningServer {
  kind: ServerKind;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** What a server is started with. */
export interface ServerOptions {
  storeUrl: string;
  secret: string;
  pinning: Pinning;
  /** When set, sessionql runs with `--cpu-prof` and writes its profile here on exit. */
  cpuProfileDir?: string;
  /** The sessionql build to run instead of dist/main.js. */
  entry?: string;
  /** Settings added to the server's environment (SESSION_SWEEP_INTERVAL…), over the bench's own. */
  env?: Readonly<Record<string, string>>;
}

const ROOT = join(__dirname, "..");
const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;
const OUTPUT_LIMIT = 8192;

/** Starts `kind` on the server core with the store URL and resolves once its /healthz answers. */
export async function startServer(kind: ServerKind, options: ServerOptions): Promise<RunningServer> {
  const port = await freePort();
  const profile =
    options.cpuProfileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir];
  // sessionql's own build, tuned for the bench or exactly as `npm start` runs it; the others from their scripts.
  const nodeArgs =
    kind === "sessionql" || kind === "sessionql-defaults"
      ? [...profile, options.entry ?? join(ROOT, "dist/main.js")]
      : ["-r", "@swc-node/register", join(ROOT, SCRIPTS[kind])];
  const [command, args] = onServerCore(options.pinning, process.execPath, nodeArgs);
  const where = { PORT: String(port), HOST, SESSION_STORE: options.storeUrl, SESSION_SECRET: options.secret };
  const { NODE_ENV: _unset, LOG_LEVEL: _default, ...inherited } = process.env;
  const child = spawn(command, args, {
    cwd: ROOT,
    env:
      kind === "sessionql-defaults"
        ? // As `npm start` runs it: the store and the secret, every other setting at its default.
          { ...inherited, ...where }
        : {
            ...process.env,
            NODE_ENV: "production",
            ...where,
            // Per-request logs and the per-address creation limit would measure something else.
            LOG_LEVEL: "warn",
            SESSION_CREATE_RATE: "0",
            ...options.env,
          },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = keepOutput(child);
  const url = `http://${HOST}:${port}`;
  try {
    await waitUntilHealthy(url, child, output);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { kind, pid: child.pid as number, url, stop: () => stopProcess(child, kind, output) };
}

async function waitUntilHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited before it was ready:\n${output()}`);
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server at ${url} not healthy within ${START_TIMEOUT_MS} ms:\n${output()}`);
}

/** SIGTERM (every server then closes its store and exits, and a --cpu-prof profile gets written), SIGKILL late. */
function stopProcess(child: ChildProcess, kind: ServerKind, output: () => string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${kind} (pid ${child.pid}) did not stop within ${STOP_TIMEOUT_MS} ms:\n${output()}`));
    }, STOP_TIMEOUT_MS);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Drains the child's output (a full pipe would stall it) and keeps the last few KB for error messages. */
function keepOutput(child: ChildProcess): () => string {
  let kept = "";
  const keep = (chunk: Buffer) => {
    kept = (kept + chunk.toString("utf8")).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => kept;
}
