import type { Clock } from "../session/session";
import type { SessionRecord } from "../session/store";
import { type AtomicWrites, envelope, KeyvSessionStore, namespacedKey, sessionKeyv } from "./keyv-store";

/** A store in this process's memory: for tests and trials; everything is gone on restart. */
export function createMemoryStore(clock?: Clock): KeyvSessionStore {
  // The Map keeps serialised JSON, as real stores do, so no caller ever shares a live object with it.
  const map = new Map<string, string>();
  const keyv = sessionKeyv(map);
  const now = () => (clock ?? Date).now();
  const liveRecord = (storageKey: string): SessionRecord | undefined => {
    const text = map.get(storageKey);
    if (text === undefined) return undefined;
    const { value } = JSON.parse(text) as { value: SessionRecord };
    return value.expiresAtMs > now() ? value : undefined;
  };
  return new KeyvSessionStore({
    keyv,
    clock,
    atomic: mapAtomicWrites(map, liveRecord),
    async clearExpired() {
      let removed = 0;
      for (const storageKey of [...map.keys()]) {
        if (liveRecord(storageKey) === undefined && map.delete(storageKey)) removed++;
      }
      return removed;
    },
  });
}

/**
 * The version check done synchronously on the Map, with no await between reading and writing, so it holds
 * for any number of services sharing this store object. The rows are Keyv's `{ value, expires }` envelope.
 */
function mapAtomicWrites(
  map: Map<string, string>,
  liveRecord: (storageKey: string) => SessionRecord | undefined,
): AtomicWrites {
  return {
    async save(sessionKey, record, expected) {
      const storageKey = namespacedKey(sessionKey);
      if (liveRecord(storageKey)?.version !== expected) return false;
      map.set(storageKey, envelope(record));
      return true;
    },
    async delete(sessionKey, expected) {
      const storageKey = namespacedKey(sessionKey);
      const text = map.get(storageKey);
      if (text === undefined || (JSON.parse(text) as { value: SessionRecord }).value.version !== expected)
        return false;
      return map.delete(storageKey);
    },
  };
}
