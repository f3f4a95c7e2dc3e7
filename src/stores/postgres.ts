import { Pool } from "pg";
import { encodeChange, topicOf } from "../session/change-feed";
import type { Clock } from "../session/session";
import {
  type AtomicWrites,
  envelope,
  fromEnvelope,
  KeyvSessionStore,
  namespacedKey,
  sessionKeyv,
  storedSessions,
} from "./keyv-store";
import { PostgresKeyvAdapter } from "./postgres-adapter";
import { postgresChangeFeed } from "./postgres-feed";

/** A connect that has not finished by then fails, so an unreachable database is reported instead of awaited. */
const CONNECT_TIMEOUT_MS = 1000;
/** A query without an answer by then fails and frees its connection; the service gives up at 1.5 s anyway. */
const QUERY_TIMEOUT_MS = 1500;

/**
 * A store in one PostgreSQL table, shared by any number of instances. Version checks are single statements
 * (`UPDATE … WHERE version = $n`), so they hold across instances; expired rows are hidden from reads at once
 * and deleted by the sweeper in bounded batches through the `expires` index.
 */
export function createPostgresStore(
  url: string,
  clock?: Clock,
  options: { table?: string } = {},
): KeyvSessionStore {
  const pool = new Pool({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    application_name: "sessionql",
  });
  // An idle connection the server drops (a restart, a failover) is reported here; without a listener it would
  // end the process. The pool replaces it, and the next query reports any lasting outage to its caller.
  pool.on("error", () => undefined);
  const now = () => (clock ?? Date).now();
  const adapter = new PostgresKeyvAdapter({ pool, now, table: options.table });
  const keyv = sessionKeyv(adapter);
  const atomic: AtomicWrites = {
    async save(sessionKey, record, expected) {
      const key = namespacedKey(sessionKey);
      const row = envelope(record);
      if (expected === undefined) {
        const created = await adapter.query("create", [
          key,
          row,
          record.expiresAtMs,
          record.version,
          now(),
          record.owner ?? null,
        ]);
        return { saved: created.rowCount === 1 };
      }
      const result = await adapter.query<{ saved: boolean; current: string | null }>("update", [
        key,
        row,
        record.expiresAtMs,
        record.version,
        expected,
        now(),
        record.owner ?? null,
        encodeChange({ topic: topicOf(sessionKey), kind: "saved", version: record.version }),
      ]);
      const { saved, current } = result.rows[0] ?? { saved: false, current: null };
      if (saved) return { saved: true };
      return { saved: false, current: current === null ? null : fromEnvelope(current) };
    },
    async delete(sessionKey, expected) {
      return (await adapter.query("deleteVersion", [namespacedKey(sessionKey), expected])).rowCount === 1;
    },
  };
  const changes = postgresChangeFeed(pool, url, CONNECT_TIMEOUT_MS);
  return new KeyvSessionStore({
    keyv,
    clock,
    atomic,
    // The owner column is written by the same statement as the row, so the index is never behind it.
    async listOwnedBy(owner) {
      const { rows } = await adapter.query<{ key: string; value: string }>("listOwned", [owner, now()]);
      return storedSessions(rows);
    },
    clearExpired: (signal) => adapter.deleteExpired(undefined, signal),
    outOfProcess: true,
    changes,
  });
}
