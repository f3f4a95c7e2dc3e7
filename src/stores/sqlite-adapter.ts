import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { KeyvStoreAdapter, StoredData } from "keyv";

/** Options for {@link SqliteKeyvAdapter}; `now` exists so tests can move time without sleeping. */
export interface SqliteKeyvAdapterOptions {
  path: string;
  table?: string;
  now?: () => number;
}

type Row = { key: string; value: string };
type IterRow = Row & { id: number };

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ITERATOR_BATCH = 100;
/** Rows one sweep batch deletes: about 2 ms with 1 KB sessions in a table of a million, plus 5 ms to checkpoint. */
const SWEEP_BATCH = 250;

/** Keyv storage adapter that keeps entries in one SQLite table and enforces expiry in SQL, so stale rows never leak out even before they are purged. */
export class SqliteKeyvAdapter extends EventEmitter implements KeyvStoreAdapter {
  // Keyv only wires up its iterator for adapters whose `opts.dialect` (or `opts.url`) names a backend it knows how to iterate.
  readonly opts: { dialect: "sqlite"; url: string };
  namespace?: string;
  readonly db: Database.Database;
  readonly table: string;
  private readonly now: () => number;
  private readonly stmts;
  private readonly upsertMany;

  constructor(options: SqliteKeyvAdapterOptions) {
    super();
    const table = options.table ?? "sessionql_keyv";
    // The name is spliced into SQL text, where bound parameters cannot reach.
    if (!TABLE_NAME.test(table)) throw new Error(`Invalid SQLite table name: ${JSON.stringify(table)}`);
    this.table = table;
    // Resolve Date.now per call, not once, so fake clocks that replace Date still take effect.
    this.now = options.now ?? (() => Date.now());
    this.opts = { dialect: "sqlite", url: `sqlite://${options.path}` };
    if (options.path !== ":memory:" && options.path !== "")
      mkdirSync(dirname(options.path), { recursive: true });

    this.db = new Database(options.path);
    try {
      this.db.pragma("journal_mode = WAL");
      // In WAL mode NORMAL still keeps every committed transaction across a process crash (kill -9);
      // only an OS crash or power loss can lose the most recent commits, and it saves an fsync per write.
      this.db.pragma("synchronous = NORMAL");
      // Several processes may share the file; wait for their write locks instead of failing with SQLITE_BUSY.
      this.db.pragma("busy_timeout = 5000");
      // A 64 MiB page cache (the default is 2 MB) keeps the upper levels of both B-trees of a million-session
      // table in memory: at 1 M sessions it lifted W1 from 0.89× to 0.95× its 1 k figure (`npm run bench:scale`).
      // It is an upper bound, filled only as pages are read.
      this.db.pragma("cache_size = -65536");
      this.db.exec(
        `CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER);
         CREATE INDEX IF NOT EXISTS ${table}_expires ON ${table} (expires);`,
      );
      this.stmts = this.prepareStatements(table);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.upsertMany = this.db.transaction((entries: Array<{ key: string; value: unknown; ttl?: number }>) => {
      for (const { key, value, ttl } of entries)
        this.stmts.upsert.run(key, checkValue(value), this.expiresAt(ttl));
    });
  }

  // Prepared once because every session request goes through these statements.
  private prepareStatements(t: string) {
    const live = "(expires IS NULL OR expires > ?)";
    // json_each lets one prepared statement take a key list of any length.
    const inKeys = "key IN (SELECT value FROM json_each(?))";
    return {
      get: this.db
        .prepare<[string, number], string>(`SELECT value FROM ${t} WHERE key = ? AND ${live}`)
        .pluck(),
      has: this.db.prepare<[string, number], number>(`SELECT 1 FROM ${t} WHERE key = ? AND ${live}`).pluck(),
      getMany: this.db.prepare<[string, number], Row>(
        `SELECT key, value FROM ${t} WHERE ${inKeys} AND ${live}`,
      ),
      upsert: this.db.prepare<[string, string, number | null]>(
        `INSERT INTO ${t} (key, value, expires) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
      ),
      delete: this.db.prepare<[string]>(`DELETE FROM ${t} WHERE key = ?`),
      deleteMany: this.db.prepare<[string]>(`DELETE FROM ${t} WHERE ${inKeys}`),
      clearAll: this.db.prepare<[]>(`DELETE FROM ${t}`),
      // A [lo, hi) range rather than LIKE, so `_` and `%` in a namespace are not wildcards and the key index is used.
      clearRange: this.db.prepare<[string, string]>(`DELETE FROM ${t} WHERE key >= ? AND key < ?`),
      iterate: this.db.prepare<
        [{ after: number; lo: string | null; hi: string | null; now: number; limit: number }],
        IterRow
      >(
        `SELECT rowid AS id, key, value FROM ${t}
         WHERE rowid > @after AND (@lo IS NULL OR (key >= @lo AND key < @hi))
           AND (expires IS NULL OR expires > @now)
         ORDER BY rowid LIMIT @limit`,
      ),
      // Bounded by LIMIT so each batch is a short write transaction and never starves other writers.
      deleteExpired: this.db.prepare<[number, number]>(
        `DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE expires IS NOT NULL AND expires <= ? LIMIT ?)`,
      ),
    };
  }

  private expiresAt(ttl: number | undefined): number | null {
    return typeof ttl === "number" && ttl > 0 && Number.isFinite(ttl) ? Math.ceil(this.now() + ttl) : null;
  }

  // The first overload is what our own callers see; the generic one only satisfies Keyv's interface.
  get(key: string): Promise<string | undefined>;
  get<Value>(key: string): Promise<StoredData<Value>>;
  async get(key: string): Promise<string | undefined> {
    return this.stmts.get.get(key, this.now());
  }

  getMany(keys: string[]): Promise<Array<string | undefined>>;
  getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>>;
  async getMany(keys: string[]): Promise<Array<string | undefined>> {
    const found = new Map<string, string>();
    for (const row of this.stmts.getMany.all(JSON.stringify(keys), this.now())) found.set(row.key, row.value);
    return keys.map((key) => found.get(key));
  }

  async has(key: string): Promise<boolean> {
    return this.stmts.has.get(key, this.now()) !== undefined;
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    return (await this.getMany(keys)).map((value) => value !== undefined);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<void> {
    this.stmts.upsert.run(key, checkValue(value), this.expiresAt(ttl));
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    this.upsertMany(entries);
  }

  async delete(key: string): Promise<boolean> {
    return this.stmts.delete.run(key).changes > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    return this.stmts.deleteMany.run(JSON.stringify(keys)).changes > 0;
  }

  async clear(): Promise<void> {
    if (this.namespace) this.stmts.clearRange.run(...namespaceRange(this.namespace));
    else this.stmts.clearAll.run();
  }

  async *iterator(namespace?: string): AsyncGenerator<[string, string], void> {
    const [lo, hi] = namespace ? namespaceRange(namespace) : [null, null];
    let after = 0;
    // A rowid cursor, unlike OFFSET, neither skips nor repeats rows when others are deleted mid-iteration.
    for (;;) {
      const rows = this.stmts.iterate.all({ after, lo, hi, now: this.now(), limit: ITERATOR_BATCH });
      for (const row of rows) yield [row.key, row.value];
      const last = rows.at(-1);
      if (last === undefined || rows.length < ITERATOR_BATCH) return;
      after = last.id;
    }
  }

  /**
   * Purges expired rows in batches of `batchSize`, returning how many were removed; reads already hide them, so
   * this only reclaims space. Other work runs between batches, and closing the database or aborting `signal`
   * ends the purge after the current batch.
   */
  async deleteExpired(batchSize = SWEEP_BATCH, signal?: AbortSignal): Promise<number> {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError("batchSize must be a positive integer");
    // One cutoff for the whole run, so rows expiring meanwhile cannot keep the loop going forever.
    const cutoff = this.now();
    let removed = 0;
    for (;;) {
      const { changes } = this.stmts.deleteExpired.run(cutoff, batchSize);
      removed += changes;
      if (changes < batchSize) return removed;
      // better-sqlite3 holds the event loop for each statement, so a backlog purged in one loop would stall
      // every request until its last row went; between batches, requests waiting on I/O get their turn.
      if (!(await this.mayGoOnAfterOtherWork(signal))) return removed;
      // A purge fills the WAL fast, and the commit that crosses wal_autocheckpoint (1000 pages) copies and
      // fsyncs all of it at once, some 20 ms; checkpointing each batch's pages on their own keeps every step
      // short. PASSIVE never waits for other connections, so it cannot block on another process either.
      this.db.pragma("wal_checkpoint(PASSIVE)");
      if (!(await this.mayGoOnAfterOtherWork(signal))) return removed;
    }
  }

  private async mayGoOnAfterOtherWork(signal: AbortSignal | undefined): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.db.open && signal?.aborted !== true;
  }

  async disconnect(): Promise<void> {
    this.db.close();
  }
}

// Keyv hands adapters serialized strings; anything else means a misconfigured serializer, better caught at write time.
function checkValue(value: unknown): string {
  if (typeof value !== "string")
    throw new TypeError(`SqliteKeyvAdapter stores strings only, got ${typeof value}`);
  return value;
}

// Keyv stores keys as `namespace:key`; ";" is the code point right after ":", so [ns:, ns;) is exactly that prefix.
function namespaceRange(namespace: string): [string, string] {
  return [`${namespace}:`, `${namespace};`];
}
