import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { CookieJar } from "./cookies";
import { freePort } from "./free-port";
import { GraphQLClient, TEST_SECRET } from "./server";

const ROOT = resolve(__dirname, "../..");
const START_TIMEOUT_MS = 20_000;

/** How a process ended; `at` is performance.now() when the exit was seen. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** A sessionql process of its own, as a load balancer would see one: a URL and a pid. */
export interface SessionqlInstance {
  readonly url: string;
  readonly graphqlUrl: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves when the process exits, however it ends. */
  readonly exited: Promise<Exit>;
  exitedYet(): boolean;
  /** Everything the process wrote so far (its JSON log lines and any crash report). */
  output(): string;
  /** A client with the given cookie jar (a fresh one by default). */
  client(jar?: CookieJar): GraphQLClient;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s; idempotent. */
  stop(): Promise<void>;
}

/** How startInstance runs the CLI. */
export interface InstanceOptions {
  /** Command-line arguments, such as `--workers 2`. */
  args?: string[];
  /** False to resolve as soon as the process is spawned, for a start that is meant to fail; true by default. */
  waitForHealth?: boolean;
}

/**
 * Starts the real CLI from its TypeScript source on a free loopback port and resolves once /healthz answers (or at
 * once, with `waitForHealth: false`). Only the variables given (plus PATH) reach it, so the machine's own SESSION_* settings cannot leak in.
 */
export async function startInstance(
  env: Record<string, string>,
  { args = [], waitForHealth = true }: InstanceOptions = {},
): Promise<SessionqlInstance> {
  const port = await freePort();
  const child = spawn(process.execPath, ["-r", "@swc-node/register", "src/main.ts", ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      SESSION_SECRET: TEST_SECRET,
      LOG_LEVEL: "warn",
      // Every test visitor comes from 127.0.0.1; the creation limit has tests of its own.
      SESSION_CREATE_RATE: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<Exit>((done) => {
    child.once("exit", (code, signal) => done({ code, signal, at: performance.now() }));
  });
  const url = `http://127.0.0.1:${port}`;
  const instance: SessionqlInstance = {
    url,
    graphqlUrl: `${url}/graphql`,
    port,
    pid: child.pid as number,
    exited,
    exitedYet: () => child.exitCode !== null || child.signalCode !== null,
    output: () => output,
    client: (jar = new CookieJar()) => new GraphQLClient(`${url}/graphql`, jar),
    stop: () => stopChild(child),
  };
  if (!waitForHealth) return instance;
  try {
    await waitUntilHealthy(url, child, () => output);
  } catch (error) {
    await instance.stop();
    throw error;
  }
  return instance;
}

async function waitUntilHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sessionql exited during start (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`sessionql did not answer /healthz within ${START_TIMEOUT_MS} ms:\n${output()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, "SIGKILL");
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
}
