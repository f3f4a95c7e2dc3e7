import type { Keyv } from "keyv";
import { type Clock, systemClock } from "../session/session";
import type { SessionRecord, SessionStore } from "../session/store";

/** The namespace our own stores give Keyv; storage keys are `sessionql:<sessionKey>`. */
export const KEYV_NAMESPACE = "sessionql";

/**
 * Version-checked writes done by the engine itself. Keyv has no compare-and-set, so a store that can do one
 * atomically (a SQL statement, a Lua script) provides it here and the check holds across processes.
 */
export interface AtomicWrites {
  /** Writes only if the stored version is `expected` (undefined: only if absent or expired). */
  save(storageKey: string, record: SessionRecord, expected: number | undefined): Promise<boolean>;
  /** Deletes only while the stored version is `expected`. */
  delete(storageKey: string, expected: number): Promise<boolean>;
}

/** What a store built on Keyv adds to the Keyv instance. */
export interface KeyvSessionStoreOptions {
  /** Built with `throwOnErrors: true`, so a failing store is never read as a missing session. */
  keyv: Keyv<SessionRecord>;
  clock?: Clock;
  atomic?: AtomicWrites;
  /** Removes expired records; without it the sweep walks Keyv's iterator, when the adapter has one. */
  clearExpired?: () => Promise<number>;
}

/** A SessionStore over any Keyv instance. */
export class KeyvSessionStore implements SessionStore {
  private readonly keyv: Keyv<SessionRecord>;
  private readonly clock: Clock;

  constructor(private readonly options: KeyvSessionStoreOptions) {
    this.keyv = options.keyv;
    this.clock = options.clock ?? systemClock;
  }

  async load(sessionKey: string): Promise<SessionRecord | undefined> {
    const record = await this.keyv.get(sessionKey);
    return record !== undefined && record.expiresAtMs > this.clock.now() ? record : undefined;
  }

  async save(sessionKey: string, record: SessionRecord, expected: number | undefined): Promise<boolean> {
    if (this.options.atomic) return this.options.atomic.save(this.storageKey(sessionKey), record, expected);
    // Without engine support this check-then-write is atomic only within this process, where the
    // service's per-session lock serialises writers; across instances the last writer wins.
    const current = await this.load(sessionKey);
    if (current?.version !== expected) return false;
    return this.keyv.set(sessionKey, record, Math.max(1, record.expiresAtMs - this.clock.now()));
  }

  async delete(sessionKey: string, expected?: number): Promise<boolean> {
    if (expected === undefined) return this.keyv.delete(sessionKey);
    if (this.options.atomic) return this.options.atomic.delete(this.storageKey(sessionKey), expected);
    const current = await this.keyv.get(sessionKey);
    if (current?.version !== expected) return false;
    return this.keyv.delete(sessionKey);
  }

  async clearExpired(): Promise<number> {
    if (this.options.clearExpired) return this.options.clearExpired();
    if (!this.keyv.iterator) return 0;
    let removed = 0;
    const now = this.clock.now();
    for await (const [sessionKey, record] of this.keyv.iterator(this.keyv.namespace)) {
      if ((record as SessionRecord).expiresAtMs <= now && (await this.keyv.delete(sessionKey))) removed++;
    }
    return removed;
  }

  async ping(): Promise<void> {
    await this.keyv.get("sessionql-ping");
  }

  async close(): Promise<void> {
    await this.keyv.disconnect();
  }

  private storageKey(sessionKey: string): string {
    return this.keyv.namespace ? `${this.keyv.namespace}:${sessionKey}` : sessionKey;
  }
}
