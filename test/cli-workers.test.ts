import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./helpers/free-port";
import { TEST_SECRET } from "./helpers/server";

const ROOT = resolve(__dirname, "..");
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";
const READ = "{ session { data version } }";

let tmp: string;
let primary: ChildProcess | undefined;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "sessionql-workers-"));
});
afterEach(() => {
  if (primary?.pid !== undefined && primary.exitCode === null) process.kill(primary.pid, "SIGKILL");
  primary = undefined;
  rmSync(tmp, { recursive: true, force: true });
});

function launch(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ["-r", "@swc-node/register", "src/main.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  return { child, output: () => output };
}

/** The pids of a process's children, from /proc. */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
}

/** User plus system CPU ticks a process has used so far. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

/** One request on a connection of its own, so the primary hands each to the next worker in turn. */
async function post(
  url: string,
  cookie: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", connection: "close", ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const setCookie = res.headers.get("set-cookie");
  return { body: (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] }, setCookie };
}

test("two workers on one SQLite file serve the same sessions, and SIGTERM stops them all with exit 0", async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/graphql`;
  const started = launch(["--workers", "2"], {
    PORT: String(port),
    SESSION_STORE: `sqlite://${join(tmp, "sessions.sqlite")}`,
    SESSION_SECRET: TEST_SECRET,
    SESSION_CREATE_RATE: "0",
  });
  primary = started.child;
  const pid = primary.pid as number;
  const deadline = Date.now() + 20_000;
  while (
    childrenOf(pid).length < 2 ||
    !(await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok
  ) {
    if (Date.now() > deadline) throw new Error(`the workers did not come up:\n${started.output()}`);
    await new Promise((wait) => setTimeout(wait, 100));
  }
  const workers = childrenOf(pid);
  expect(workers).toHaveLength(2);
  const before = workers.map(cpuTicks);

  const first = await post(url, undefined, SET, { key: "k0", value: 0 });
  const cookie = (first.setCookie as string).split(";")[0] as string;
  for (let i = 1; i < 60; i++) {
    const written = await post(url, cookie, SET, { key: `k${i}`, value: i });
    expect(written.body.errors).toBeUndefined();
    // Whichever worker answers the read, it sees every write so far, whichever worker made it.
    const read = await post(url, cookie, READ);
    expect(read.body.data).toEqual({
      session: { data: expect.objectContaining({ [`k${i}`]: i }), version: i + 1 },
    });
  }
  // Both workers did part of the work (the primary hands out connections round-robin).
  const after = workers.map(cpuTicks);
  expect(after.map((ticks, i) => ticks - (before[i] as number)).every((used) => used > 0)).toBe(true);

  const exited = new Promise<number | null>((done) => primary?.once("exit", (code) => done(code)));
  process.kill(pid, "SIGTERM");
  await expect(exited).resolves.toBe(0);
  for (const worker of workers) expect(() => process.kill(worker, 0)).toThrow();
}, 60_000);

test("a worker that dies is replaced", async () => {
  const port = await freePort();
  const started = launch(["--workers=2"], {
    PORT: String(port),
    SESSION_STORE: `sqlite://${join(tmp, "sessions.sqlite")}`,
    SESSION_SECRET: TEST_SECRET,
  });
  primary = started.child;
  const pid = primary.pid as number;
  const waitFor = async (check: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out:\n${started.output()}`);
      await new Promise((wait) => setTimeout(wait, 100));
    }
  };
  await waitFor(() => childrenOf(pid).length === 2);
  const [victim] = childrenOf(pid) as [number];
  process.kill(victim, "SIGKILL");
  await waitFor(() => childrenOf(pid).length === 2 && !childrenOf(pid).includes(victim));
  expect(started.output()).toMatch(/a worker exited; starting another/);
}, 60_000);

test("memory:// with more than one worker is refused with a clear message", async () => {
  const started = launch(["--workers", "2"], { SESSION_STORE: "memory://", SESSION_SECRET: TEST_SECRET });
  primary = started.child;
  const code = await new Promise<number | null>((done) => primary?.once("exit", (exit) => done(exit)));
  expect(code).toBe(1);
  expect(started.output()).toMatch(/SESSIONQL_WORKERS=2 needs a store the workers can share; memory:\/\//);
}, 30_000);
