import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** The external servers that store tests need. */
export type Service = "redis" | "redis-cluster" | "postgres" | "postgres-server";

export type Availability = { available: true } | { available: false; reason: string };

/** The server throwaway databases are created on; CI may point it elsewhere, with a password. */
export const POSTGRES_ADMIN_URL: string =
  process.env.SESSIONQL_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** An OS account a child process runs as. */
export interface OsUser {
  uid: number;
  gid: number;
}

const POSTGRES_INSTALLS = "/usr/lib/postgresql";
const PROBE_TIMEOUT_MS = 10_000;
const OUTPUT_LIMIT = 16_384;

/** Whether `service` can be used on this machine and, if not, why. */
export async function serviceAvailability(service: Service): Promise<Availability> {
  return availabilityNow(service);
}

/**
 * Runs `describe(name, body)` when the service is here. Without it the suite is skipped with one warning, except
 * in CI, where a missing service is a broken machine and fails the run instead of passing it quietly.
 */
export function describeWithService(service: Service, name: string, body: () => void): void {
  const availability = availabilityNow(service);
  if (availability.available) {
    describe(name, body);
  } else if (process.env.CI === "true") {
    const message = `${service} is required when CI=true: ${availability.reason}`;
    describe(name, () => {
      test(`${service} is available`, () => {
        throw new Error(message);
      });
    });
  } else {
    // Straight to stderr: jest drops console output of a file whose tests were all skipped.
    process.stderr.write(`skipped ${name}: ${availability.reason}\n`);
    describe.skip(name, body);
  }
}

/**
 * Starts something (a server, a database) in a beforeAll of the enclosing describe, allowing it `timeoutMs`, and
 * stops it in an afterAll. The getter returned gives it to the tests and hooks in between; before the start, or
 * after a start that failed, it throws.
 */
export function startBeforeAll<T>(
  start: () => Promise<T>,
  stop: (started: T) => Promise<unknown>,
  timeoutMs = 30_000,
): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  }, timeoutMs);
  afterAll(async () => {
    if (started !== undefined) await stop(started);
  });
  return () => {
    if (started === undefined) throw new Error("used before its beforeAll started it, or the start failed");
    return started;
  };
}

// Jest collects describe blocks synchronously, so every probe here blocks; each runs once per test file.
const known = new Map<Service, Availability>();

function availabilityNow(service: Service): Availability {
  let availability = known.get(service);
  if (availability === undefined) {
    availability = probe(service);
    known.set(service, availability);
  }
  return availability;
}

function probe(service: Service): Availability {
  switch (service) {
    case "redis":
    case "redis-cluster":
      return firstMissing(["redis-server", "redis-cli"].map(commandAvailability));
    case "postgres":
      return postgresAcceptsConnections(POSTGRES_ADMIN_URL);
    case "postgres-server":
      return postgresServerAvailability();
  }
}

function firstMissing(availabilities: Availability[]): Availability {
  return availabilities.find((availability) => !availability.available) ?? { available: true };
}

function commandAvailability(command: string): Availability {
  const result = spawnSync(command, ["--version"], { timeout: PROBE_TIMEOUT_MS });
  if (result.error === undefined && result.status === 0) return { available: true };
  return {
    available: false,
    reason: `${command} is not on PATH (${result.error?.message ?? result.status})`,
  };
}

// pg only connects asynchronously, so a child node connects and answers through its exit code.
function postgresAcceptsConnections(url: string): Availability {
  const script = `
    const { Client } = require(${JSON.stringify(require.resolve("pg"))});
    const client = new Client({ connectionString: process.env.PROBE_URL, connectionTimeoutMillis: 5000 });
    client.connect().then(() => client.end(), (error) => {
      console.error(error.message || error.code || String(error));
      process.exit(1);
    });`;
  const result = spawnSync(process.execPath, ["-e", script], {
    env: { ...process.env, PROBE_URL: url },
    encoding: "utf8",
    timeout: PROBE_TIMEOUT_MS,
  });
  if (result.error === undefined && result.status === 0) return { available: true };
  const why = result.stderr.trim() || result.error?.message || `exit ${result.status}`;
  return { available: false, reason: `${withoutPassword(url)} does not accept connections: ${why}` };
}

function postgresServerAvailability(): Availability {
  const bin = postgresBinDir();
  if (bin === undefined) {
    return { available: false, reason: `no initdb and postgres binaries under ${POSTGRES_INSTALLS}/*/bin` };
  }
  if (isRoot() && postgresOsUser() === undefined) {
    return {
      available: false,
      reason: "tests run as root, which PostgreSQL refuses, and there is no OS user postgres",
    };
  }
  return { available: true };
}

/** The bin directory of the newest PostgreSQL installed under /usr/lib/postgresql, if any. */
export function postgresBinDir(): string | undefined {
  if (!existsSync(POSTGRES_INSTALLS)) return undefined;
  return readdirSync(POSTGRES_INSTALLS)
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    .map((version) => join(POSTGRES_INSTALLS, version, "bin"))
    .find((bin) => existsSync(join(bin, "initdb")) && existsSync(join(bin, "postgres")));
}

/** Who a private PostgreSQL server runs as: the OS user postgres when we are root (PostgreSQL refuses root). */
export function postgresOsUser(): OsUser | undefined {
  if (!isRoot()) return undefined;
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The URL as it may appear in a message. */
export function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  return parsed.toString();
}

/** A server process started by a test, with its recent output kept for error messages. */
export interface ServiceProcess {
  /** The process id while it runs, undefined once it has exited. */
  readonly pid: number | undefined;
  readonly exited: Promise<void>;
  hasExited(): boolean;
  output(): string;
  /** Sends `signal`, then SIGKILL if it is still running after `graceMs`, and resolves once it has exited. */
  end(signal: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Starts `command` as a child of this test process, as `user` when given. */
export function spawnService(command: string, args: string[], cwd: string, user?: OsUser): ServiceProcess {
  const child = spawn(command, args, { cwd, ...user, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer | string) => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let running = true;
  const exited = new Promise<void>((resolve) => {
    child.once("error", (error) => keep(`${error.message}\n`));
    child.once("close", () => {
      running = false;
      resolve();
    });
  });
  return {
    get pid() {
      return running ? child.pid : undefined;
    },
    exited,
    hasExited: () => !running,
    output: () => output,
    end: (signal, graceMs = 5000) => endChild(child, exited, signal, graceMs),
  };
}

async function endChild(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals, graceMs: number) {
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Runs `command` to completion and resolves with its output; rejects with that output when it fails. */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; user?: OsUser; timeoutMs: number },
): Promise<string> {
  const { cwd, user, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, ...user, timeout: timeoutMs }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${output}`));
      else resolve(output);
    });
  });
}

/**
 * Polls `ready` until it returns true, for at most `timeoutMs`. `ready` may throw to give up early (a server that
 * exited will never answer); a timeout's error ends with `details()`, so a failed start shows the server's log.
 */
export async function waitFor(
  what: string,
  ready: () => Promise<boolean>,
  options: { timeoutMs: number; details?: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) {
      const details = options.details?.() ?? "";
      throw new Error(
        `${what} did not happen within ${options.timeoutMs} ms${details ? `:\n${details}` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Calls `start` with a port from `choosePort`, and again with another when the first was taken: a port is free
 * when chosen, but a server in another test file may bind it before ours does.
 */
export async function startOnFreePort<T>(
  choosePort: () => Promise<number>,
  start: (port: number) => Promise<T>,
): Promise<{ port: number; started: T }> {
  for (let attempt = 1; ; attempt++) {
    const port = await choosePort();
    try {
      return { port, started: await start(port) };
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("Address already in use")) throw error;
    }
  }
}
