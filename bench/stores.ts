import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedisServer } from "../test/helpers/redis";
import type { ServerKind } from "./servers";

/** The stores `npm run bench` can run on. */
export const STORE_NAMES = ["memory", "sqlite", "redis"] as const;
export type StoreName = (typeof STORE_NAMES)[number];

/** A store made for one part of the bench: the URL each server gets, and how to remove it afterwards. */
export interface BenchStore {
  urlFor(kind: ServerKind): string;
  /** The processes the store runs on (redis-server), for the CPU accounting. */
  pids(): number[];
  close(): Promise<void>;
}

/**
 * Memory lives in each server process; SQLite gets one file per server in a fresh temporary directory; Redis is
 * a private redis-server on a free loopback port, shared by both servers (their session keys are random).
 */
export async function openBenchStore(name: StoreName): Promise<BenchStore> {
  switch (name) {
    case "memory":
      return { urlFor: () => "memory://", pids: () => [], close: async () => {} };
    case "sqlite": {
      const dir = mkdtempSync(join(tmpdir(), "sessionql-bench-"));
      return {
        urlFor: (kind) => `sqlite://${join(dir, `${kind}.sqlite`)}`,
        pids: () => [],
        close: async () => rmSync(dir, { recursive: true, force: true }),
      };
    }
    case "redis": {
      const redis = await startRedisServer();
      return {
        urlFor: () => redis.url,
        pids: () => (redis.pid === undefined ? [] : [redis.pid]),
        close: () => redis.stop(),
      };
    }
  }
}
