import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { type SessionqlInstance, startInstance } from "./helpers/instance";
import { waitFor } from "./helpers/services";

const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";
const READ = "{ session { data version } }";

let tmp: string;
let primary: SessionqlInstance | undefined;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "sessionql-workers-"));
});
afterEach(async () => {
  await primary?.stop();
  primary = undefined;
  rmSync(tmp, { recursive: true, force: true });
});

/** Starts the CLI with `args`; the test's afterEach stops it. */
async function launch(
  args: string[],
  env: Record<string, string>,
  waitForHealth = true,
): Promise<SessionqlInstance> {
  primary = await startInstance(env, { args, waitForHealth });
  return primary;
}

/** Waits up to 20 s for `check` to hold; failing, shows what the primary and its workers wrote. */
function until(instance: SessionqlInstance, what: string, check: () => boolean): Promise<void> {
  return waitFor(what, async () => check(), { timeoutMs: 20_000, details: instance.output });
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
  const instance = await launch(["--workers", "2"], {
    SESSION_STORE: `sqlite://${join(tmp, "sessions.sqlite")}`,
  });
  const { pid, graphqlUrl: url } = instance;
  // /healthz answers as soon as one worker listens; the test needs both.
  await until(instance, "both workers up", () => childrenOf(pid).length >= 2);
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

  process.kill(pid, "SIGTERM");
  expect((await instance.exited).code).toBe(0);
  for (const worker of workers) expect(() => process.kill(worker, 0)).toThrow();
}, 60_000);

test("every worker's subscribers hear of a change saved on another worker, through the primary", async () => {
  const instance = await launch(["--workers", "2"], {
    SESSION_STORE: `sqlite://${join(tmp, "sessions.sqlite")}`,
  });
  await until(instance, "both workers up", () => childrenOf(instance.pid).length >= 2);
  const first = await post(instance.graphqlUrl, undefined, SET, { key: "n", value: 0 });
  const cookie = (first.setCookie as string).split(";")[0] as string;
  class CookieWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: { cookie } });
    }
  }
  // Four connections of their own, handed out round-robin: each worker holds subscribers.
  const seen: number[][] = [[], [], [], []];
  const clients = seen.map((versions) => {
    const client = createClient({
      url: instance.graphqlUrl.replace(/^http/, "ws"),
      webSocketImpl: CookieWebSocket,
      retryAttempts: 0,
    });
    client.subscribe(
      { query: "subscription { sessionChanged { version } }" },
      {
        next: (value) => {
          const changed = value.data?.sessionChanged as { version: number } | undefined;
          if (changed) versions.push(changed.version);
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    return client;
  });
  try {
    await new Promise((settle) => setTimeout(settle, 1000));
    for (let i = 1; i <= 6; i++) {
      expect(
        (await post(instance.graphqlUrl, cookie, SET, { key: "n", value: i })).body.errors,
      ).toBeUndefined();
    }
    await until(instance, "every subscriber at version 7", () =>
      seen.every((versions) => versions.at(-1) === 7),
    );
    for (const versions of seen) expect(versions).toEqual([...versions].sort((a, b) => a - b));
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
  }
}, 60_000);

test("a worker that dies is replaced", async () => {
  const instance = await launch(["--workers=2"], {
    SESSION_STORE: `sqlite://${join(tmp, "sessions.sqlite")}`,
  });
  const { pid } = instance;
  await until(instance, "two workers", () => childrenOf(pid).length === 2);
  const [victim] = childrenOf(pid) as [number];
  process.kill(victim, "SIGKILL");
  await until(instance, "a worker in place of the killed one", () => {
    const workers = childrenOf(pid);
    return workers.length === 2 && !workers.includes(victim);
  });
  expect(instance.output()).toMatch(/a worker exited; starting another/);
}, 60_000);

test("memory:// with more than one worker is refused with a clear message", async () => {
  const instance = await launch(["--workers", "2"], { SESSION_STORE: "memory://" }, false);
  expect((await instance.exited).code).toBe(1);
  expect(instance.output()).toMatch(/SESSIONQL_WORKERS=2 needs a store the workers can share; memory:\/\//);
}, 30_000);
