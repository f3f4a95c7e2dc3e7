import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { startRedisServer } from "../test/helpers/redis";
import { createBenchDatabase } from "./bench-database";

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
  const database = await createBenchDatabase(DATABASE_PREFIX, "bench:live");
  return { name: "postgres", url: database.url, close: () => database.drop() };
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
