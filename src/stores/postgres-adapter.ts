import { EventEmitter } from "node:events";
import type { KeyvStoreAdapter, StoredData } from "keyv";
import type { Pool, QueryResultRow } from "pg";
import { CHANGES_CHANNEL } from "./postgres-feed";

/**
 * Options for {@link PostgresKeyvAdapter}. The adapter takes a pool rather than a URL so its owner sets the
 * timeouts; `now` exists so tests can move time without sleeping.
 */
export interface PostgresKeyvAdapterOptions {
  pool: Pool;
  table?: string;
  now?: () => number;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;
const ITERATOR_BATCH = 100;

/**
 * Keyv storage adapter on one PostgreSQL table with an indexed `expires` column and a `version` column for
 * version-checked writes. Written here rather than taken from @keyv/postgres, which keeps one connection pool
 * per process for every instance (two stores cannot have their own), creates its table only at the first
 * connect (a database that is down at start stays without one until a restart), has no expiry column to sweep
 * by, and deletes with a SELECT then a DELETE (two round trips).
 */
export class PostgresKeyvAdapter extends EventEmitter implements KeyvStoreAdapter {
  // Keyv only wires up its iterator for adapters whose `opts.dialect` names a backend it knows how to iterate.
  readonly opts: { dialect: "postgres"; url: string };
  namespace?: string;
  readonly pool: Pool;
  readonly table: string;
  private readonly now: () => number;
  private readonly sql;
  private schema: Promise<void> | undefined;

  constructor(options: PostgresKeyvAdapterOptions) {
    super();
    const table = options.table ?? "sessionql_sessions";
    // The name is spliced into SQL text, where bound parameters cannot reach.
    if (!TABLE_NAME.test(table)) throw new Error(`Invalid PostgreSQL table name: ${JSON.stringify(table)}`);
    this.table = table;
    this.pool = options.pool;
    this.now = options.now ?? (() => Date.now());
    this.opts = { dialect: "postgres", url: "postgres://" };
    this.sql = statements(table);
  }

  /**
   * Runs one statement once the table exists. Named statements are prepared once per connection, so the
   * server parses and plans each of them once rather than on every request.
   */
  async query<Row extends QueryResultRow>(name: keyof ReturnType<typeof statements>, values: unknown[]) {
    await this.ensureTable();
    return this.pool.query<Row>({ name: `${this.table}_${name}`, text: this.sql[name], values });
  }

  get(key: string): Promise<string | undefined>;
  get<Value>(key: string): Promise<StoredData<Value>>;
  async get(key: string): Promise<string | undefined> {
    const { rows } = await this.query<{ value: string }>("get", [key, this.now()]);
    return rows[0]?.value;
  }

  getMany(keys: string[]): Promise<Array<string | undefined>>;
  getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>>;
  async getMany(keys: string[]): Promise<Array<string | undefined>> {
    const { rows } = await this.query<{ key: string; value: string }>("getMany", [keys, this.now()]);
    const found = new Map(rows.map((row) => [row.key, row.value]));
    return keys.map((key) => found.get(key));
  }

  async has(key: string): Promise<boolean> {
    return (await this.query("has", [key, this.now()])).rowCount === 1;
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    return (await this.getMany(keys)).map((value) => value !== undefined);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<void> {
    await this.query("upsert", [key, checkValue(value), this.expiresAt(ttl)]);
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    const keys = entries.map((entry) => entry.key);
    const values = entries.map((entry) => checkValue(entry.value));
    const expires = entries.map((entry) => this.expiresAt(entry.ttl));
    await this.query("upsertMany", [keys, values, expires]);
  }

  async delete(key: string): Promise<boolean> {
    return ((await this.query("delete", [key])).rowCount ?? 0) > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    return ((await this.query("deleteMany", [keys])).rowCount ?? 0) > 0;
  }

  async clear(): Promise<void> {
    if (this.namespace) await this.query("clearRange", namespaceRange(this.namespace));
    else await this.query("clearAll", []);
  }

  async *iterator(namespace?: string): AsyncGenerator<[string, string], void> {
    const [lo, hi] = namespace ? namespaceRange(namespace) : [null, null];
    // A key cursor, unlike OFFSET, neither skips nor repeats rows when others are deleted mid-iteration.
    let after = "";
    for (;;) {
      const { rows } = await this.query<{ key: string; value: string }>("iterate", [
        after,
        lo,
        hi,
        this.now(),
        ITERATOR_BATCH,
      ]);
      for (const row of rows) yield [row.key, row.value];
      const last = rows.at(-1);
      if (last === undefined || rows.length < ITERATOR_BATCH) return;
      after = last.key;
    }
  }

  /**
   * Purges expired rows in batches of `batchSize`, returning how many went; reads already hide them. Aborting
   * `signal` ends the purge after the current batch.
   */
  async deleteExpired(batchSize = 1000, signal?: AbortSignal): Promise<number> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError("batchSize must be a positive integer");
    }
    // One cutoff for the whole run, so rows expiring meanwhile cannot keep the loop going forever; each batch
    // is its own short transaction, so the sweep never holds many row locks at once.
    const cutoff = this.now();
    let removed = 0;
    for (;;) {
      const deleted = (await this.query("deleteExpired", [cutoff, batchSize])).rowCount ?? 0;
      removed += deleted;
      if (deleted < batchSize || signal?.aborted) return removed;
    }
  }

  async disconnect(): Promise<void> {
    await this.pool.end();
  }

  /** Creates the table on first use; a failure is not remembered, so the next call tries again. */
  private ensureTable(): Promise<void> {
    this.schema ??= this.createTable().catch((error: unknown) => {
      this.schema = undefined;
      throw error;
    });
    return this.schema;
  }

  private async createTable(): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Concurrent CREATE ... IF NOT EXISTS from several instances can still collide in the catalog, so
      // instances starting together take turns.
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`sessionql:${this.table}`]);
      await client.query(
        // COLLATE "C" orders keys bytewise, which the namespace range in clear() and iterator() relies on.
        `CREATE TABLE IF NOT EXISTS ${this.table} (
           key text COLLATE "C" PRIMARY KEY,
           value text NOT NULL,
           expires bigint,
           version integer,
           owner text
         )`,
      );
      // Tables made before the user index existed get its column here.
      await client.query(`ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS owner text`);
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${this.table}_owner ON ${this.table} (owner) WHERE owner IS NOT NULL`,
      );
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${this.table}_expires ON ${this.table} (expires) WHERE expires IS NOT NULL`,
      );
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private expiresAt(ttl: number | undefined): number | null {
    return typeof ttl === "number" && ttl > 0 && Number.isFinite(ttl) ? Math.ceil(this.now() + ttl) : null;
  }
}

function statements(t: string) {
  const live = "(expires IS NULL OR expires > $2)";
  return {
    get: `SELECT value FROM ${t} WHERE key = $1 AND ${live}`,
    getMany: `SELECT key, value FROM ${t} WHERE key = ANY($1::text[]) AND ${live}`,
    has: `SELECT 1 FROM ${t} WHERE key = $1 AND ${live}`,
    upsert: `INSERT INTO ${t} (key, value, expires) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires, version = NULL`,
    upsertMany: `INSERT INTO ${t} (key, value, expires)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires, version = NULL`,
    delete: `DELETE FROM ${t} WHERE key = $1`,
    deleteMany: `DELETE FROM ${t} WHERE key = ANY($1::text[])`,
    clearAll: `DELETE FROM ${t}`,
    clearRange: `DELETE FROM ${t} WHERE key >= $1 AND key < $2`,
    iterate: `SELECT key, value FROM ${t}
              WHERE key > $1 AND ($2::text IS NULL OR (key >= $2 AND key < $3)) AND (expires IS NULL OR expires > $4)
              ORDER BY key LIMIT $5`,
    deleteExpired: `DELETE FROM ${t} WHERE key IN (
                      SELECT key FROM ${t} WHERE expires IS NOT NULL AND expires <= $1 LIMIT $2)`,
    // The version-checked writes the session store makes (see postgres.ts).
    create: `INSERT INTO ${t} (key, value, expires, version, owner) VALUES ($1, $2, $3, $4, $6)
             ON CONFLICT (key) DO UPDATE
               SET value = excluded.value, expires = excluded.expires, version = excluded.version,
                   owner = excluded.owner
               WHERE ${t}.expires IS NOT NULL AND ${t}.expires <= $5`,
    // One statement that writes only at the expected version and, when it does not, returns the live row that
    // won. That read locks (FOR SHARE): a plain one sees the table as the statement began, so an UPDATE that waited
    // for another writer's commit would answer with the row from before it, and its retry, always one version
    // behind a writer with queued changes, could lose every time (two instances writing one hot session).
    update: `WITH updated AS (
               UPDATE ${t} SET value = $2, expires = $3, version = $4, owner = $7
               WHERE key = $1 AND version = $5 AND (expires IS NULL OR expires > $6)
               RETURNING 1
             ),
             -- Live sessions: the change is told in the same statement, and so only once it commits.
             told AS (SELECT pg_notify('${CHANGES_CHANNEL}', $8) FROM updated)
             SELECT EXISTS (SELECT 1 FROM updated) AS saved,
                    (SELECT value FROM ${t} WHERE key = $1 AND (expires IS NULL OR expires > $6)
                       AND NOT EXISTS (SELECT 1 FROM updated) FOR SHARE) AS current,
                    (SELECT count(*) FROM told) AS told`,
    deleteVersion: `DELETE FROM ${t} WHERE key = $1 AND version = $2`,
    // The user index (see postgres.ts): an owner's live rows.
    listOwned: `SELECT key, value FROM ${t} WHERE owner = $1 AND (expires IS NULL OR expires > $2)`,
  };
}

// Keyv hands adapters serialized strings; anything else means a misconfigured serializer, better caught at write time.
function checkValue(value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(`PostgresKeyvAdapter stores strings only, got ${typeof value}`);
  }
  return value;
}

// Keyv stores keys as `namespace:key`; ";" is the code point right after ":", so [ns:, ns;) is exactly that prefix.
function namespaceRange(namespace: string): [string, string] {
  return [`${namespace}:`, `${namespace};`];
}
