import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { Client } from "pg";
import { newSessionKey } from "../src/session/keys";
import type { SessionRecord, SessionStore } from "../src/session/store";
import { createStore } from "../src/stores/index";
import { createPostgresStore } from "../src/stores/postgres";
import { openSqliteStore } from "../src/stores/sqlite";
import { startRedisServer } from "../test/helpers/redis";
import { createBenchDatabase } from "./bench-database";
import { SESSION_DATA } from "./workloads";

/** The stores the scale bench fills: the three that keep sessions outside the server process. */
export const SCALE_STORE_NAMES = ["sqlite", "redis", "postgres"] as const;
export type ScaleStoreName = (typeof SCALE_STORE_NAMES)[number];

/**
 * Which sessions of a fill to keep the keys of (`keep`, by number), and which to store logged in as a user
 * (`owners`, number → user id). An owned session is saved as a login saves it: `userId` and `owner` set, created
 * with expected = undefined (which is when Redis indexes it).
 */
export interface FillPlan {
  keep?: ReadonlySet<number>;
  owners?: ReadonlyMap<number, string>;
}

/** What a fill stored: the keys of the kept sessions, in number order, and every owned session's key by user. */
export interface Filled {
  kept: string[];
  owned: Map<string, string[]>;
}

/** A store of its own that the bench fills directly through the store adapter, then measures. */
export interface ScaleStore {
  readonly name: ScaleStoreName;
  /** The SESSION_STORE the server gets. */
  readonly url: string;
  /** Whether the server's sweeper removes expired sessions (SQLite, PostgreSQL) or the store does by itself (Redis's TTL). */
  readonly sweptByServer: boolean;
  /**
   * The processes the store runs on for the bench (redis-server; the backends connected to the bench's own
   * PostgreSQL database, which change as pools connect), for the CPU accounting.
   */
  pids(): number[];
  /**
   * Saves `count` new sessions of the bench's data expiring at `expiresAtMs`, each through the adapter's
   * `save` exactly as the server saves a new session (numbered 0 … count - 1 for `plan`).
   */
  fill(count: number, expiresAtMs: number, plan?: FillPlan): Promise<Filled>;
  /** Brings the store to how a long-running one would be after the load (PostgreSQL: ANALYZE); timed apart. */
  afterLoad(): Promise<void>;
  /** What the store's data takes: the file's pages after a checkpoint (SQLite), used_memory (Redis), the table with its indexes and TOAST (PostgreSQL). */
  bytesUsed(): Promise<number>;
  /**
   * How many of the sessions expiring at `expiresAtMs` are still stored (expired or not), undefined for none.
   * Redis answers from a counter, so the bench polls it while the keys go. SQLite is only asked once the server
   * says its sweep is done: polled from the bench's connection during the sweep, the two processes waited on
   * each other's WAL locks for tens of milliseconds, a stall the bench itself would have caused.
   */
  expiredLeft(expiresAtMs: number): Promise<number | undefined>;
  /** How many entries the store's user index holds for `owner` (rows with that owner; members of the Redis set). */
  ownerIndexSize(owner: string): Promise<number>;
  close(): Promise<void>;
}

/** Sessions one SQLite transaction saves: enough to amortise the commit. */
const SQLITE_BATCH = 5000;
/** Saves in flight on Redis: enough for the client to pipeline them, few enough to bound memory. */
const REDIS_IN_FLIGHT = 256;
const REDIS_CHUNK = 16;
/** Saves in flight on PostgreSQL: a few per connection of the store's pool (10), so none waits idle. */
const POSTGRES_IN_FLIGHT = 40;
const POSTGRES_CHUNK = 4;
/** The loader's own page cache, so random key-index pages are not re-read from the file on every insert. */
const SQLITE_LOADER_CACHE_KIB = 256 * 1024;
/** Sessions per fill call, each followed by a progress line. */
const FILL_CHUNK = 100_000;
/** The User-Agent the bench's logged-in sessions carry. */
const USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) sessionql-bench/1.0";
/** What the bench's PostgreSQL databases are called, with the bench's pid, so a killed run's can be found. */
const POSTGRES_DATABASE_PREFIX = "sessionql_scale_";
const POSTGRES_TABLE = "sessionql_sessions";

/** Opens an empty store of its own: a SQLite file in a fresh temporary directory, a private redis-server, or a throwaway PostgreSQL database. */
export async function openScaleStore(name: ScaleStoreName): Promise<ScaleStore> {
  switch (name) {
    case "sqlite":
      return openSqlite();
    case "redis":
      return openRedis();
    case "postgres":
      return openPostgres();
  }
}

/** Fills `store` in chunks, printing progress; `plan` numbers the sessions 0 … count - 1 across all chunks. */
export async function fillInChunks(
  store: ScaleStore,
  count: number,
  expiresAtMs: number,
  plan: FillPlan = {},
): Promise<Filled> {
  const filled: Filled = { kept: [], owned: new Map() };
  const keep = [...(plan.keep ?? [])];
  const owners = [...(plan.owners ?? [])];
  const started = performance.now();
  for (let done = 0; done < count; done += FILL_CHUNK) {
    const size = Math.min(FILL_CHUNK, count - done);
    const inChunk = (index: number) => index >= done && index < done + size;
    const chunkPlan: FillPlan = {
      keep: new Set(keep.filter(inChunk).map((index) => index - done)),
      owners: new Map(
        owners.filter(([index]) => inChunk(index)).map(([index, owner]) => [index - done, owner]),
      ),
    };
    const chunk = await store.fill(size, expiresAtMs, chunkPlan);
    filled.kept.push(...chunk.kept);
    for (const [owner, keys] of chunk.owned) ownedBy(filled, owner).push(...keys);
    if (count > FILL_CHUNK) {
      const seconds = (performance.now() - started) / 1000;
      console.log(`${store.name}: ${done + size} of ${count} sessions stored (${seconds.toFixed(1)} s)`);
    }
  }
  return filled;
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
  const countOwned = db
    .prepare<[string], number>(`SELECT count(*) FROM ${adapter.table} WHERE owner = ?`)
    .pluck();
  return {
    name: "sqlite",
    url: `sqlite://${path}`,
    sweptByServer: true,
    pids: () => [],
    async fill(count, expiresAtMs, plan) {
      const filled = gathered();
      for (let start = 0; start < count; start += SQLITE_BATCH) {
        const end = Math.min(count, start + SQLITE_BATCH);
        // better-sqlite3's transaction() takes synchronous functions only; the adapter runs each save's
        // statement synchronously inside the call, so BEGIN … COMMIT around the awaited batch holds them all.
        db.exec("BEGIN");
        try {
          await saveRange(store, start, end, expiresAtMs, plan, filled);
          db.exec("COMMIT");
        } catch (error) {
          db.exec("ROLLBACK");
          throw error;
        }
      }
      // A server's own small writes never leave more than wal_autocheckpoint pages behind; these big
      // transactions can, and the next writer (the server's sweep) would pay for copying them.
      db.pragma("wal_checkpoint(TRUNCATE)");
      return filledFrom(filled);
    },
    async afterLoad() {},
    async bytesUsed() {
      db.pragma("wal_checkpoint(TRUNCATE)");
      const pages = db.pragma("page_count", { simple: true }) as number;
      return pages * (db.pragma("page_size", { simple: true }) as number);
    },
    async expiredLeft(expiresAtMs) {
      const left = countLeft.get(expiresAtMs) ?? 0;
      return left > 0 ? left : undefined;
    },
    async ownerIndexSize(owner) {
      return countOwned.get(owner) ?? 0;
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
  // A client of the bench's own for INFO, DBSIZE and ZCARD, which the store does not offer.
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
  // The users whose sessions were stored, each with an index set (a key of its own) beside the sessions.
  const indexed = new Set<string>();
  return {
    name: "redis",
    url: redis.url,
    sweptByServer: false,
    pids: () => (redis.pid === undefined ? [] : [redis.pid]),
    async fill(count, expiresAtMs, plan) {
      const result = await fillConcurrently(store, count, expiresAtMs, plan, REDIS_IN_FLIGHT, REDIS_CHUNK);
      filled.set(expiresAtMs, (filled.get(expiresAtMs) ?? 0) + count);
      total += count;
      for (const owner of result.owned.keys()) indexed.add(owner);
      return result;
    },
    async afterLoad() {},
    async bytesUsed() {
      const match = /^used_memory:(\d+)/m.exec(await admin.info("memory"));
      if (match === null) throw new Error("INFO memory has no used_memory");
      return Number(match[1]);
    },
    async expiredLeft(expiresAtMs) {
      // DBSIZE still counts expired keys Redis has not reclaimed, so it falls exactly as Redis expires them;
      // the other sessions the bench stored expire long after the run, and the users' index sets are keys too.
      const others = total - (filled.get(expiresAtMs) ?? 0) + indexed.size;
      const left = (await admin.dbSize()) - others;
      return left > 0 ? left : undefined;
    },
    async ownerIndexSize(owner) {
      return admin.zCard(`sessionql:user:${owner}`);
    },
    async close() {
      await admin.close().catch(() => {});
      await store.close();
      await redis.stop();
    },
  };
}

/**
 * A throwaway database on the PostgreSQL POSTGRES_ADMIN_URL names (loopback only), created here and dropped on
 * close. The bench loads it through a store whose connections run with synchronous_commit off, so a million
 * single-row commits do not each wait for a WAL flush; the server and the users' part use the plain URL, with
 * the database's own settings.
 */
async function openPostgres(): Promise<ScaleStore> {
  const database = await createBenchDatabase(POSTGRES_DATABASE_PREFIX, "the scale bench");
  const url = new URL(database.url);
  const drop = database.drop;
  const loaderUrl = new URL(url);
  loaderUrl.searchParams.set("options", "-c synchronous_commit=off");
  const store = createPostgresStore(loaderUrl.toString());
  // A connection of the bench's own for sizes and counts, which the store does not offer.
  const client = new Client({ connectionString: url.toString() });
  try {
    await client.connect();
    await store.ping(); // creates the table and its indexes
  } catch (error) {
    await client.end().catch(() => {});
    await store.close().catch(() => {});
    await drop();
    throw error;
  }
  const count = async (sql: string, values: unknown[]) =>
    Number((await client.query<{ n: string }>(sql, values)).rows[0]?.n ?? 0);
  return {
    name: "postgres",
    url: url.toString(),
    sweptByServer: true,
    pids: () => backendsOf(database.name),
    fill: (count, expiresAtMs, plan) =>
      fillConcurrently(store, count, expiresAtMs, plan, POSTGRES_IN_FLIGHT, POSTGRES_CHUNK),
    async afterLoad() {
      // Autovacuum would have analysed a table that grew this much by the time a listing runs; done here so
      // every run plans its statements on the same statistics.
      await client.query(`ANALYZE ${POSTGRES_TABLE}`);
    },
    async bytesUsed() {
      return count(`SELECT pg_total_relation_size('${POSTGRES_TABLE}') AS n`, []);
    },
    async expiredLeft(expiresAtMs) {
      const left = await count(`SELECT count(*) AS n FROM ${POSTGRES_TABLE} WHERE expires = $1`, [
        expiresAtMs,
      ]);
      return left > 0 ? left : undefined;
    },
    async ownerIndexSize(owner) {
      return count(`SELECT count(*) AS n FROM ${POSTGRES_TABLE} WHERE owner = $1`, [owner]);
    },
    async close() {
      await client.end().catch(() => {});
      await store.close().catch(() => {});
      await drop();
    },
  };
}

/**
 * The PostgreSQL backends (and autovacuum workers) working in `database`: their process titles name it, e.g.
 * "postgres: 15/main: postgres sessionql_scale_… 127.0.0.1(40112) idle".
 */
function backendsOf(database: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, "latin1");
      if (title.startsWith("postgres: ") && title.includes(` ${database} `)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Saves chunks of sessions from `inFlight / chunk` workers at once, for a store reached over the network. */
async function fillConcurrently(
  store: SessionStore,
  count: number,
  expiresAtMs: number,
  plan: FillPlan | undefined,
  inFlight: number,
  chunk: number,
): Promise<Filled> {
  const filled = gathered();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const start = next;
      next = Math.min(count, next + chunk);
      await saveRange(store, start, next, expiresAtMs, plan, filled);
    }
  };
  await Promise.all(Array.from({ length: inFlight / chunk }, worker));
  return filledFrom(filled);
}

/** What saveRange gathers as the saves go out: the kept keys by number, and the owned ones by user. */
interface Gathered {
  kept: Map<number, string>;
  owned: Map<string, string[]>;
}

function gathered(): Gathered {
  return { kept: new Map(), owned: new Map() };
}

/** The fill's answer: the kept keys in number order. */
function filledFrom({ kept, owned }: Gathered): Filled {
  return { kept: [...kept].sort(([a], [b]) => a - b).map(([, key]) => key), owned };
}

function ownedBy(filled: Filled | Gathered, owner: string): string[] {
  let keys = filled.owned.get(owner);
  if (keys === undefined) {
    keys = [];
    filled.owned.set(owner, keys);
  }
  return keys;
}

/**
 * Saves new sessions number `start` to `end` - 1 in parallel, keeping the keys of those whose number is in
 * `plan.keep` and of every owned one.
 */
async function saveRange(
  store: SessionStore,
  start: number,
  end: number,
  expiresAtMs: number,
  plan: FillPlan | undefined,
  filled: Gathered,
): Promise<void> {
  const saves: Promise<boolean>[] = [];
  for (let index = start; index < end; index++) {
    const sessionKey = newSessionKey();
    if (plan?.keep?.has(index)) filled.kept.set(index, sessionKey);
    // The record a first save writes: Session.toRecord with version 1 and no expiry of its own.
    const record: SessionRecord = { data: SESSION_DATA, expiresAtMs, version: 1 };
    const owner = plan?.owners?.get(index);
    if (owner !== undefined) {
      // As a login stores it (Session.toRecord after logIn): the user outside the data, indexed under its id.
      const now = Date.now();
      Object.assign(record, {
        createdAtMs: now,
        savedAtMs: now,
        userId: owner,
        owner,
        userAgent: USER_AGENT,
      });
      ownedBy(filled, owner).push(sessionKey);
    }
    saves.push(store.save(sessionKey, record, undefined));
  }
  if ((await Promise.all(saves)).includes(false)) throw new Error("a fresh session key was already taken");
}
