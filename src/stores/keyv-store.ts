import { Keyv, type KeyvOptions } from "keyv";
import { type ChangeFeed, inProcessFeed } from "../session/change-feed";
import { StoreUnavailableError, UnsupportedError } from "../session/errors";
import { type Clock, systemClock } from "../session/session";
import type { SaveOutcome, SessionRecord, SessionStore, StoredSession } from "../session/store";

/** The namespace our own stores give Keyv; storage keys are `sessionql:<sessionKey>`. */
export const KEYV_NAMESPACE = "sessionql";

/** The key Keyv itself reads and writes for a session when it prefixes keys with {@link KEYV_NAMESPACE}. */
export function namespacedKey(sessionKey: string): string {
  return `${KEYV_NAMESPACE}:${sessionKey}`;
}

/**
 * Version-checked writes done by the engine itself. Keyv has no compare-and-set, so a store that can do one
 * atomically (a SQL statement, a Lua script) provides it here and the check holds across processes.
 */
export interface AtomicWrites {
  /**
   * Writes only if the stored version is `expected` (undefined: only if absent or expired); when it is not, says
   * what live record the check found, if the engine sent it back in the same answer.
   */
  save(sessionKey: string, record: SessionRecord, expected: number | undefined): Promise<SaveOutcome>;
  /** Deletes only while the stored version is `expected`. */
  delete(sessionKey: string, expected: number): Promise<boolean>;
}

/**
 * Rows written by AtomicWrites hold Keyv's envelope without its `expires`: expiry is the record's `expiresAtMs`,
 * judged by the injected clock here and in the service, never by Keyv's own reading of the wall clock.
 */
export function envelope(record: SessionRecord): string {
  return JSON.stringify({ value: record });
}

/** The session key of a storage key written under {@link KEYV_NAMESPACE}; undefined for any other key. */
export function sessionKeyOf(storageKey: string): string | undefined {
  const prefix = namespacedKey("");
  return storageKey.startsWith(prefix) ? storageKey.slice(prefix.length) : undefined;
}

/** A listing's rows (storage key and envelope) as sessions, leaving out rows of other namespaces. */
export function storedSessions(rows: readonly { key: string; value: string }[]): StoredSession[] {
  const sessions: StoredSession[] = [];
  for (const { key, value } of rows) {
    const sessionKey = sessionKeyOf(key);
    if (sessionKey !== undefined) sessions.push({ sessionKey, record: fromEnvelope(value) });
  }
  return sessions;
}

/** The record in a row written by {@link envelope} (or by Keyv itself, whose envelope may add `expires`). */
export function fromEnvelope(row: string): SessionRecord {
  return (JSON.parse(row) as { value: SessionRecord }).value;
}

/**
 * The Keyv instance every store we ship builds over its adapter: our namespace, plain JSON rows (the format the
 * atomic writes and {@link envelope} share), and errors thrown, so a failing store never reads as a missing
 * session. `extra` adds adapter-specific settings.
 */
export function sessionKeyv(
  store: KeyvOptions["store"],
  extra: Partial<KeyvOptions> = {},
): Keyv<SessionRecord> {
  return new Keyv<SessionRecord>({
    store,
    namespace: KEYV_NAMESPACE,
    serialize: JSON.stringify,
    deserialize: JSON.parse,
    throwOnErrors: true,
    ...extra,
  });
}

/** What a store built on Keyv adds to the Keyv instance. */
export interface KeyvSessionStoreOptions {
  /** Built with `throwOnErrors: true`, so a failing store is never read as a missing session. */
  keyv: Keyv<SessionRecord>;
  clock?: Clock;
  atomic?: AtomicWrites;
  /** Removes expired records; without it the sweep walks Keyv's iterator, when the adapter has one. */
  clearExpired?: (signal?: AbortSignal) => Promise<number>;
  /** Resolves once the adapter can take commands; awaited before each operation (connects on first use). */
  ready?: () => Promise<void>;
  /** Whether the records live outside this process (see SessionStore.outOfProcess). */
  outOfProcess?: boolean;
  /** The live records of an owner, from the store's user index (see SessionStore.listOwnedBy). */
  listOwnedBy?: (owner: string) => Promise<StoredSession[]>;
  /** How instances tell each other of changes (see SessionStore.changes); this process alone when absent. */
  changes?: ChangeFeed;
}

/** A SessionStore over any Keyv instance. */
export class KeyvSessionStore implements SessionStore {
  readonly outOfProcess: boolean;
  readonly changes: ChangeFeed;
  private readonly keyv: Keyv<SessionRecord>;
  private readonly clock: Clock;

  constructor(private readonly options: KeyvSessionStoreOptions) {
    this.keyv = options.keyv;
    this.clock = options.clock ?? systemClock;
    this.outOfProcess = options.outOfProcess ?? false;
    this.changes = options.changes ?? inProcessFeed();
  }

  load(sessionKey: string): Promise<SessionRecord | undefined> {
    return this.run(() => this.loadLive(sessionKey));
  }

  async save(sessionKey: string, record: SessionRecord, expected: number | undefined): Promise<boolean> {
    return (await this.saveOrRead(sessionKey, record, expected)).saved;
  }

  saveOrRead(sessionKey: string, record: SessionRecord, expected: number | undefined): Promise<SaveOutcome> {
    return this.run(async () => {
      if (this.options.atomic) return this.options.atomic.save(sessionKey, record, expected);
      // Without engine support this check-then-write is atomic only within this process, where the
      // service's per-session lock serialises writers; across instances the last writer wins.
      const current = await this.loadLive(sessionKey);
      if (current?.version !== expected) return { saved: false, current: current ?? null };
      const saved = await this.keyv.set(
        sessionKey,
        record,
        Math.max(1, record.expiresAtMs - this.clock.now()),
      );
      return saved ? { saved: true } : { saved: false };
    });
  }

  listOwnedBy(owner: string): Promise<StoredSession[]> {
    return this.run(async () => {
      const { listOwnedBy } = this.options;
      if (listOwnedBy === undefined) throw new UnsupportedError("list a user's sessions");
      return listOwnedBy(owner);
    });
  }

  delete(sessionKey: string, expected?: number): Promise<boolean> {
    return this.run(async () => {
      if (expected === undefined) return this.keyv.delete(sessionKey);
      if (this.options.atomic) return this.options.atomic.delete(sessionKey, expected);
      const current = await this.keyv.get(sessionKey);
      if (current?.version !== expected) return false;
      return this.keyv.delete(sessionKey);
    });
  }

  clearExpired(signal?: AbortSignal): Promise<number> {
    return this.run(async () => {
      if (this.options.clearExpired) return this.options.clearExpired(signal);
      if (!this.keyv.iterator) return 0;
      let removed = 0;
      const now = this.clock.now();
      for await (const [sessionKey, record] of this.keyv.iterator(this.keyv.namespace)) {
        if (signal?.aborted) break;
        if ((record as SessionRecord).expiresAtMs <= now && (await this.keyv.delete(sessionKey))) removed++;
      }
      return removed;
    });
  }

  ping(): Promise<void> {
    return this.run(async () => {
      await this.keyv.get("sessionql-ping");
    });
  }

  close(): Promise<void> {
    return reportFailures(async () => {
      await this.changes.close();
      await this.keyv.disconnect();
    });
  }

  /** Runs a store operation once the adapter is ready, reporting any driver failure as StoreUnavailableError. */
  private run<T>(operation: () => Promise<T>): Promise<T> {
    const { ready } = this.options;
    if (!ready) return reportFailures(operation);
    return reportFailures(async () => {
      await ready();
      return operation();
    });
  }

  private async loadLive(sessionKey: string): Promise<SessionRecord | undefined> {
    const record = await this.keyv.get(sessionKey);
    return record !== undefined && record.expiresAtMs > this.clock.now() ? record : undefined;
  }
}

/** Runs a store operation, reporting any driver failure as StoreUnavailableError with the original as `cause`. */
async function reportFailures<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof StoreUnavailableError || error instanceof UnsupportedError) throw error;
    throw new StoreUnavailableError({ cause: error });
  }
}

/**
 * A store over a Keyv instance the caller built, for an adapter sessionql does not ship. Keyv has no
 * compare-and-set, so writes are version-checked and serialised per session within this process only; across
 * instances sharing the adapter the last writer wins. Keyv's `throwOnErrors` is switched on, so an adapter
 * failure is reported as STORE_UNAVAILABLE instead of reading as an empty session (the adapter itself must
 * not swallow errors either: @keyv/redis, for one, needs its own `throwOnErrors: true`).
 */
export function createKeyvStore(
  keyv: Keyv<SessionRecord>,
  options: { clock?: Clock } = {},
): KeyvSessionStore {
  keyv.throwOnErrors = true;
  return new KeyvSessionStore({ keyv, clock: options.clock });
}
