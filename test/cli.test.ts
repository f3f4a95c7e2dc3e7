import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { newSessionKey } from "../src/session/keys";
import type { SessionStore } from "../src/session/store";
import { createSqliteStore } from "../src/stores/sqlite";
import { ManualClock } from "./helpers/clock";

const ROOT = resolve(__dirname, "..");
const CHILD_TIMEOUT_MS = 10_000;
const DAY_MS = 24 * 3600 * 1000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];
const stores: SessionStore[] = [];
let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "sessionql-cli-"));
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, "SIGKILL");
    }
  }
  for (const store of stores.splice(0)) await store.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Starts the real CLI from its TypeScript source with only the variables a test gives it. */
function launch(args: string[], env: Record<string, string>): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, ["-r", "@swc-node/register", "src/main.ts", ...args], {
    cwd: ROOT,
    // Nothing inherited, so a SESSION_* or NODE_ENV of the machine running the tests cannot change the outcome.
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exit = new Promise<Exit>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(`the CLI did not exit within ${CHILD_TIMEOUT_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, CHILD_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
  return { child, exit };
}

function run(args: string[], env: Record<string, string>): Promise<Exit> {
  return launch(args, env).exit;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === "string") throw new Error("no TCP port was assigned");
  return address.port;
}

async function waitForHealthy(url: string, exit: Promise<Exit>): Promise<void> {
  let exited: Exit | undefined;
  void exit.then(
    (result) => {
      exited = result;
    },
    () => {},
  );
  const deadline = Date.now() + CHILD_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the server exited early (${exited.code}): ${exited.stderr}`);
    const status = await fetch(url).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`${url} did not answer 200 within ${CHILD_TIMEOUT_MS} ms`);
}

describe("clear-expired", () => {
  test("removes the expired sessions, says how many, and keeps the live ones", async () => {
    const file = join(tmp, "sessions.sqlite");
    // Two days ago by the injected clock, so one-hour records are already expired by the child's wall clock.
    const past = new ManualClock(Date.now() - 2 * DAY_MS);
    const store = createSqliteStore(file, past);
    stores.push(store);
    const expired = [newSessionKey(), newSessionKey(), newSessionKey()];
    const live = [newSessionKey(), newSessionKey()];
    for (const sessionKey of expired) {
      await store.save(
        sessionKey,
        { data: { live: false }, expiresAtMs: past.now() + 3600_000, version: 1 },
        undefined,
      );
    }
    for (const sessionKey of live) {
      await store.save(
        sessionKey,
        { data: { live: true }, expiresAtMs: past.now() + 4 * DAY_MS, version: 1 },
        undefined,
      );
    }
    await store.close();
    stores.splice(0);

    const result = await run(["clear-expired"], { SESSION_STORE: `sqlite://${file}` });

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/removed 3 expired sessions/);
    // Read with the past clock: a record the CLI left behind would still be live to it.
    const after = createSqliteStore(file, past);
    stores.push(after);
    for (const sessionKey of expired) await expect(after.load(sessionKey)).resolves.toBeUndefined();
    for (const sessionKey of live)
      await expect(after.load(sessionKey)).resolves.toMatchObject({ data: { live: true } });
  });

  test("on a store with nothing expired it removes nothing", async () => {
    const result = await run(["clear-expired"], { SESSION_STORE: `sqlite://${join(tmp, "empty.sqlite")}` });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/removed 0 expired sessions/);
  });
});

describe("when the configuration is invalid", () => {
  test("it exits non-zero with one message on stderr naming every bad variable", async () => {
    const result = await run(["serve"], {
      SESSION_STORE: "memory://",
      SESSION_SECRET: "cli-test-secret-0123456789",
      PORT: "abc",
      SESSION_COOKIE_SAMESITE: "Sideways",
    });
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(/PORT/);
    expect(result.stderr).toMatch(/SESSION_COOKIE_SAMESITE/);
    expect(result.stderr.match(/sessionql:/g)).toHaveLength(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test("production without SESSION_SECRET refuses to start", async () => {
    const result = await run(["serve"], { NODE_ENV: "production", SESSION_STORE: "memory://", PORT: "0" });
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(/SESSION_SECRET/);
  });
});

describe("serve", () => {
  test("answers /healthz, then exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const { child, exit } = launch(["serve"], {
      SESSION_STORE: "memory://",
      SESSION_SECRET: "cli-test-secret-0123456789",
      PORT: String(port),
    });
    await waitForHealthy(`http://127.0.0.1:${port}/healthz`, exit);

    child.kill("SIGTERM");
    const result = await exit;
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
  });
});
