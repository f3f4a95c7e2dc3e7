import type { Clock } from "../session/session";
import type { StoredSession } from "../session/store";
import { clusterChangeFeed, inClusterWorker } from "./cluster-feed";
import {
  type AtomicWrites,
  envelope,
  fromEnvelope,
  KeyvSessionStore,
  namespacedKey,
  sessionKeyv,
  storedSessions,
} from "./keyv-store";
import { SqliteKeyvAdapter } from "./sqlite-adapter";

/** A durable store in one SQLite file (WAL mode, safe for several processes on one machine). */
export function createSqliteStore(path: string, clock?: Clock): KeyvSessionStore {
  return openSqliteStore(path, clock).store;
}

/** The store of {@link createSqliteStore} and the adapter under it, for a caller that needs the database itself. */
export function openSqliteStore(
  path: string,
  clock?: Clock,
): { store: KeyvSessionStore; adapter: SqliteKeyvAdapter } {
  const now = () => (clock ?? Date).now();
  const adapter = new SqliteKeyvAdapter({ path, now });
  const keyv = sessionKeyv(adapter);
  addOwnerColumn(adapter);
  const store = new KeyvSessionStore({
    keyv,
    clock,
    atomic: sqliteAtomicWrites(adapter, now),
    listOwnedBy: sqliteUserIndex(adapter, now),
    clearExpired: (signal) => adapter.deleteExpired(undefined, signal),
    outOfProcess: true,
    // The workers of `--workers` share the file; a single process tells only itself.
    ...(inClusterWorker() ? { changes: clusterChangeFeed() } : {}),
  });
  return { store, adapter };
}

/**
 * The version check as single SQL statements on the adapter's table. Keyv has no compare-and-set, and other
 * processes may write the same file, so the check must happen inside SQLite. Rows hold Keyv's JSON envelope
 * `{"value": record}`, which is where `$.value.version` points.
 */
function sqliteAtomicWrites(adapter: SqliteKeyvAdapter, now: () => number): AtomicWrites {
  const table = adapter.table;
  const insert = adapter.db.prepare(
    `INSERT INTO ${table} (key, value, expires, owner) VALUES (?, ?, ?, ?)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires, owner = excluded.owner
     WHERE ${table}.expires IS NOT NULL AND ${table}.expires <= ?`,
  );
  const update = adapter.db.prepare(
    `UPDATE ${table} SET value = ?, expires = ?, owner = ?
     WHERE key = ? AND (expires IS NULL OR expires > ?) AND json_extract(value, '$.value.version') = ?`,
  );
  const remove = adapter.db.prepare(
    `DELETE FROM ${table} WHERE key = ? AND json_extract(value, '$.value.version') = ?`,
  );
  return {
    async save(sessionKey, record, expected) {
      const storageKey = namespacedKey(sessionKey);
      const row = envelope(record);
      const at = now();
      const result =
        expected === undefined
          ? insert.run(storageKey, row, record.expiresAtMs, record.owner ?? null, at)
          : update.run(row, record.expiresAtMs, record.owner ?? null, storageKey, at, expected);
      if (result.changes === 1) return { saved: true };
      // The adapter's read runs synchronously right after the refused write, so it sees the row that won.
      const found = await adapter.get(storageKey);
      return { saved: false, current: found === undefined ? null : fromEnvelope(found) };
    },
    async delete(sessionKey, expected) {
      const storageKey = namespacedKey(sessionKey);
      return remove.run(storageKey, expected).changes === 1;
    },
  };
}

/**
 * The user index: an `owner` column beside Keyv's three, with a partial index over the rows that have one. Added
 * to a file made before it existed (SQLite's ALTER TABLE takes no IF NOT EXISTS, so the columns are looked up).
 */
function addOwnerColumn(adapter: SqliteKeyvAdapter): void {
  const { db, table } = adapter;
  const columns = db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[];
  if (!columns.includes("owner")) {
    try {
      db.exec(`ALTER TABLE ${table} ADD COLUMN owner TEXT`);
    } catch (error) {
      // Another process sharing the file (--workers) added it first.
      if (!/duplicate column name/i.test((error as Error).message)) throw error;
    }
  }
  db.exec(`CREATE INDEX IF NOT EXISTS ${table}_owner ON ${table} (owner) WHERE owner IS NOT NULL`);
}

/** Lists an owner's live rows through the owner index; the column is kept by the same statement as the row. */
function sqliteUserIndex(
  adapter: SqliteKeyvAdapter,
  now: () => number,
): (owner: string) => Promise<StoredSession[]> {
  const list = adapter.db.prepare(
    `SELECT key, value FROM ${adapter.table} WHERE owner = ? AND (expires IS NULL OR expires > ?)`,
  );
  return async (owner) => storedSessions(list.all(owner, now()) as { key: string; value: string }[]);
}
