import { Keyv } from "keyv";
import type { Clock } from "../session/session";
import type { SessionRecord } from "../session/store";
import { KEYV_NAMESPACE, KeyvSessionStore } from "./keyv-store";

/** A store in this process's memory: for tests and trials; everything is gone on restart. */
export function createMemoryStore(clock?: Clock): KeyvSessionStore {
  // The Map keeps serialised JSON, as real stores do, so no caller ever shares a live object with it.
  const map = new Map<string, string>();
  const keyv = new Keyv<SessionRecord>({
    store: map,
    namespace: KEYV_NAMESPACE,
    serialize: JSON.stringify,
    deserialize: JSON.parse,
    throwOnErrors: true,
  });
  const now = () => (clock ?? Date).now();
  return new KeyvSessionStore({
    keyv,
    clock,
    async clearExpired() {
      let removed = 0;
      for (const [storageKey, text] of map) {
        const { value } = JSON.parse(text) as { value: SessionRecord };
        if (value.expiresAtMs <= now() && map.delete(storageKey)) removed++;
      }
      return removed;
    },
  });
}
