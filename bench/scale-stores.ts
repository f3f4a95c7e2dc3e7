import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { newSessionKey } from "../src/session/keys";
import type { SessionRecord, SessionStore } from "../src/session/store";
import { createStore } from "../src/stores/index";
import { openSqliteStore } from "../src/stores/sqlite";
import { startRedisServer } from "../test/helpers/redis";
import { SESSION_DATA } from "./workloads";

/** The stores the scale bench fills: the two that keep sessions outside the server process. */
export const SCALE_STORE_NAMES = ["sqlite", "redis"] as const;
export type ScaleStoreName = (typeof SCALE_STORE_NAMES)[number];

/** A store of its own that the bench fills directly through the store adapter, then measures. */
export interface ScaleStore {
  readonly name: ScaleStoreName;
  /** The SESSION_STORE the server gets. */
  readonly url: string;
  /** Whether the server's sweeper removes expired sessions (SQLite) or the store does by itself (Redis's TTL). */
  readonly sweptByServer: boolean;
  /** The processes the store runs on (redis-server), for the CPU accounting. */
  pids(): number[];
  /**
   * Saves `count` new sessions of the bench's data expiring at `expiresAtMs`, each through the adapter's
   * `save` exactly as the server saves a new session; returns the session keys at the indices in `keep`.
   */
  fill(count: number, expiresAtMs: number, keep?: ReadonlySet<number>): Promise<string[]>;
  /** What the store's data takes: the file's pages after a checkpoint (SQLite), used_memory (Redis). */
  bytesUsed(): Promise<number>;
  /**
   * How many of the sessions expiring at `expiresAtMs` are still stored (expired or not), undefined for none.
   * Redis answers from a counter, so the bench polls it while the keys go. SQLite is only asked once the server
   * says its sweep is done: polled from the bench's connection during the sweep, the two processes waited on
   * each other's WAL locks for tens of milliseconds, a stall the bench itself would have caused.
   */
  expiredLeft(expiresAtMs: number): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Sessions one SQLite transaction saves: enough to amortise the commit. */
const SQLITE_BATCH = 5000;
/** Saves in flight on Redis: enough for the client to pipeline them, few enough to bound memory. */
const REDIS_IN_FLIGHT = 256;
const REDIS_CHUNK = 16;
/** The loader's own page cache, so random key-index pages are not re-read from the file on every insert. */
const SQLITE_LOADER_CACHE_KIB = 256 * 1024;
/** Sessions per fill call, each followed by a progress line. */
const FILL_CHUNK = 100_000;

/** Opens an empty store of its own: a SQLite file in a fresh temporary directory, or a private redis-server. */
export async function openScaleStore(name: ScaleStoreName): Promise<ScaleStore> {
  return name === "sqlite" ? openSqlite() : openRedis();
}

/** Fills `store` in chunks, printing progress, and returns the keys of the sessions numbered in `keep`. */
export async function fillInChunks(
  store: ScaleStore,
  count: number,
  expiresAtMs: number,
  keep: ReadonlySet<number> = new Set(),
): Promise<string[]> {
  const kept: string[] = [];
  const started = performance.now();
  for (let done = 0; done < count; done += FILL_CHUNK) {
    const size = Math.min(FILL_CHUNK, count - done);
    const chunkKeep = new Set(
      [...keep].filter((index) => index >= done && index < done + size).map((i) => i - done),
    );
    kept.push(...(await store.fill(size, expiresAtMs, chunkKeep)));
    if (count > FILL_CHUNK) {
      const seconds = (performance.now() - started) / 1000;
      console.log(`${store.name}: ${done + size} of ${count} sessions stored (${seconds.toFixed(1)} s)`);
    }
  }
  return kept;
}

function openSqlite(): ScaleStore {
  const dir = mkdtempSync(join(tmpdir(), "sessionql-scale-"));
  const path = join(dir, "sessions.sqlite");
  const { store, adapter } = openSqliteStore(path);
  const db = adapter.db;
  db.pragma(`cache_size = -${SQLITE_LOADER_CACHE_KIB}`);
  const countLeft = db
    .prepare<[number], number>(`SELECT count(*) FROM ${adapter.table} WHERE expires = ?`)
    .pluck();
  return {
    name: "sqlite",
    url: `sqlite://${path}`,
    sweptByServer: true,
    pids: () => [],
    async fill(count, expiresAtMs, keep) {
      const kept: string[] = [];
      for (let start = 0; start < count; start += SQLITE_BATCH) {
        const end = Math.min(count, start + SQLITE_BATCH);
        // better-sqlite3's transaction() takes synchronous functions only; the adapter runs each save's
        // statement synchronously inside the call, so BEGIN … COMMIT around the awaited batch holds them all.
        db.exec("BEGIN");
        try {
          await saveRange(store, start, end, expiresAtMs, keep, kept);
          db.exec("COMMIT");
        } catch (error) {
          db.exec("ROLLBACK");
          throw error;
        }
      }
      // A server's own small writes never leave more than wal_autocheckpoint pages behind; these big
      // transactions can, and the next writer (the server's sweep) would pay for copying them.
      db.pragma("wal_checkpoint(TRUNCATE)");
      return kept;
    },
    async bytesUsed() {
      db.pragma("wal_checkpoint(TRUNCATE)");
      const pages = db.pragma("page_count", { simple: true }) as number;
      return pages * (db.pragma("page_size", { simple: true }) as number);
    },
    async expiredLeft(expiresAtMs) {
      const left = countLeft.get(expiresAtMs) ?? 0;
      return left > 0 ? left : undefined;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openRedis(): Promise<ScaleStore> {
  const redis = await startRedisServer();
  const store = createStore(redis.url);
  // A client of the bench's own for INFO and DBSIZE, which the store does not offer.
  const admin = createClient({ url: redis.url });
  try {
    await admin.connect();
  } catch (error) {
    await store.close();
    await redis.stop();
    throw error;
  }
  const filled = new Map<number, number>();
  let total = 0;
  return {
    name: "redis",
    url: redis.url,
    sweptByServer: false,
    pids: () => (redis.pid === undefined ? [] : [redis.pid]),
    async fill(count, expiresAtMs, keep) {
      const kept: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const start = next;
          next = Math.min(count, next + REDIS_CHUNK);
          await saveRange(store, start, next, expiresAtMs, keep, kept);
        }
      };
      await Promise.all(Array.from({ length: REDIS_IN_FLIGHT / REDIS_CHUNK }, worker));
      filled.set(expiresAtMs, (filled.get(expiresAtMs) ?? 0) + count);
      total += count;
      return kept;
    },
    async bytesUsed() {
      const match = /^used_memory:(\d+)/m.exec(await admin.info("memory"));
      if (match === null) throw new Error("INFO memory has no used_memory");
      return Number(match[1]);
    },
    async expiredLeft(expiresAtMs) {
      // DBSIZE still counts expired keys Redis has not reclaimed, so it falls exactly as Redis expires them;
      // the other sessions the bench stored expire long after the run.
      const others = total - (filled.get(expiresAtMs) ?? 0);
      const left = (await admin.dbSize()) - others;
      return left > 0 ? left : undefined;
    },
    async close() {
      await admin.close().catch(() => {});
      await store.close();
      await redis.stop();
    },
  };
}

/** Saves new sessions number `start` to `end` - 1 in parallel, keeping the keys of those whose number is in `keep`. */
async function saveRange(
  store: SessionStore,
  start: number,
  end: number,
  expiresAtMs: number,
  keep: ReadonlySet<number> | undefined,
  kept: string[],
): Promise<void> {
  const saves: Promise<boolean>[] = [];
  for (let index = start; index < end; index++) {
    const sessionKey = newSessionKey();
    if (keep?.has(index)) kept.push(sessionKey);
    // The record a first save writes: Session.toRecord with version 1 and no expiry of its own.
    const record: SessionRecord = { data: SESSION_DATA, expiresAtMs, version: 1 };
    saves.push(store.save(sessionKey, record, undefined));
  }
  if ((await Promise.all(saves)).includes(false)) throw new Error("a fresh session key was already taken");
}
