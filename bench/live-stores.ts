import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Client } from "pg";
import { startRedisServer } from "../test/helpers/redis";
import { POSTGRES_ADMIN_URL } from "../test/helpers/services";

/** The stores `npm run bench:live` runs on; memory only holds subscriptions (it cannot be shared by two servers). */
export const LIVE_STORE_NAMES = ["memory", "redis", "postgres"] as const;
export type LiveStoreName = (typeof LIVE_STORE_NAMES)[number];

/** The stores whose change feed crosses processes, so a save on one server reaches a subscriber on another. */
export const SHARED_STORES: ReadonlySet<LiveStoreName> = new Set<LiveStoreName>(["redis", "postgres"]);

/** A store made for one part of the bench: the SESSION_STORE its servers get, and how to remove it afterwards. */
export interface LiveStore {
  readonly name: LiveStoreName;
  readonly url: string;
  close(): Promise<void>;
}

/** Databases this bench creates are named `sessionql_live_<pid>_<random>`, so an abandoned one can be found. */
const DATABASE_PREFIX = "sessionql_live_";

/**
 * Memory lives in the server process; Redis is a private redis-server on a free loopback port, keeping nothing on
 * disk, so the 10,000 sessions of a run (which live two weeks) do not stay behind in a shared one; PostgreSQL is
 * a throwaway database on the server POSTGRES_ADMIN_URL names (loopback only), dropped on close.
 */
export async function openLiveStore(name: LiveStoreName): Promise<LiveStore> {
  switch (name) {
    case "memory":
      return { name, url: "memory://", close: async () => {} };
    case "redis": {
      const redis = await startRedisServer();
      return { name, url: redis.url, close: () => redis.stop() };
    }
    case "postgres":
      return openPostgres();
  }
}

async function openPostgres(): Promise<LiveStore> {
  const admin = new URL(POSTGRES_ADMIN_URL);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(admin.hostname)) {
    throw new Error(`bench:live runs on a loopback PostgreSQL only, not ${admin.hostname}`);
  }
  await dropAbandonedDatabases();
  const database = `${DATABASE_PREFIX}${process.pid}_${randomBytes(4).toString("hex")}`;
  await asAdmin(`CREATE DATABASE "${database}"`);
  const url = new URL(admin);
  url.pathname = `/${database}`;
  return {
    name: "postgres",
    url: url.toString(),
    close: () => asAdmin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`),
  };
}

async function asAdmin(sql: string): Promise<void> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Drops the databases of earlier runs whose process no longer exists (a run killed before its cleanup). */
async function dropAbandonedDatabases(): Promise<void> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
      [DATABASE_PREFIX],
    );
    for (const { datname } of rows) {
      const pid = Number(/^sessionql_live_(\d+)_/.exec(datname)?.[1]);
      if (!Number.isInteger(pid) || isRunning(pid)) continue;
      console.log(`postgres: dropping ${datname}, left by an earlier run (pid ${pid} is gone)`);
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * What the server is started with so the bench can collect its garbage before reading its heap: --expose-gc and
 * a one-line preload that runs gc() on SIGUSR2 (a signal dist/main.js leaves alone). Nothing else changes.
 */
export const GC_ON_SIGNAL_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS:
    "--expose-gc --import=data:text/javascript,process.on('SIGUSR2',()=>{globalThis.gc();globalThis.gc()})",
};

/** A server process's memory at one moment. */
export interface MemorySample {
  /** Resident set size, from /proc/<pid>/status (VmRSS). */
  rssBytes: number;
  /** V8's used heap, from the server's /metrics (prom-client's sessionql_nodejs_heap_size_used_bytes). */
  heapUsedBytes: number;
  /** Memory held outside the heap for JS objects (Buffers and such), from /metrics (nodejs_external_memory_bytes). */
  externalBytes: number;
}

/** Collects the server's garbage (twice, a second apart), then reads its memory. */
export async function settledMemory(pid: number, baseUrl: string): Promise<MemorySample> {
  for (let i = 0; i < 2; i++) {
    process.kill(pid, "SIGUSR2");
    await sleep(1000);
  }
  return memoryOf(pid, baseUrl);
}

async function memoryOf(pid: number, baseUrl: string): Promise<MemorySample> {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKib = Number(/^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1]);
  const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
  const gauge = (name: string) =>
    Number(new RegExp(`^sessionql_${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(metrics)?.[1]);
  return {
    rssBytes: rssKib * 1024,
    heapUsedBytes: gauge("nodejs_heap_size_used_bytes"),
    externalBytes: gauge("nodejs_external_memory_bytes"),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
