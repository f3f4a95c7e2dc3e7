import type { Clock } from "../session/session";
import type { StoredSession } from "../session/store";
import {
  type AtomicWrites,
  envelope,
  fromEnvelope,
  KeyvSessionStore,
  namespacedKey,
  sessionKeyOf,
  sessionKeyv,
} from "./keyv-store";

/** What the version check and the user index need of a row, kept beside it so a write never parses the row it replaces. */
interface RowVersion {
  version: number;
  expiresAtMs: number;
  owner?: string;
}

/** A store in this process's memory: for tests and trials; everything is gone on restart. */
export function createMemoryStore(clock?: Clock): KeyvSessionStore {
  // The Map keeps serialised JSON, as real stores do, so no caller ever shares a live object with it.
  const map = new Map<string, string>();
  const versions = new Map<string, RowVersion>();
  // Each owner's session keys; a key stays until a listing finds its row gone, expired or owned by another.
  const owned = new Map<string, Set<string>>();
  const keyv = sessionKeyv(map);
  const now = () => (clock ?? Date).now();
  const rowVersion = (storageKey: string): RowVersion | undefined => {
    // Keyv deletes rows on its own (a flush), so a version is only believed while its row is still there.
    if (!map.has(storageKey)) {
      versions.delete(storageKey);
      return undefined;
    }
    return versions.get(storageKey) ?? parsedVersion(map.get(storageKey) as string);
  };
  const liveVersion = (storageKey: string): number | undefined => {
    const row = rowVersion(storageKey);
    return row !== undefined && row.expiresAtMs > now() ? row.version : undefined;
  };
  return new KeyvSessionStore({
    keyv,
    clock,
    atomic: {
      async save(sessionKey, record, expected) {
        // Checked and written synchronously, with no await between, so the check holds for any number of
        // services sharing this store object.
        const storageKey = namespacedKey(sessionKey);
        if (liveVersion(storageKey) !== expected) return { saved: false };
        map.set(storageKey, envelope(record));
        versions.set(storageKey, {
          version: record.version,
          expiresAtMs: record.expiresAtMs,
          owner: record.owner,
        });
        if (record.owner !== undefined) {
          const keys = owned.get(record.owner) ?? new Set<string>();
          owned.set(record.owner, keys.add(sessionKey));
        }
        return { saved: true };
      },
      async delete(sessionKey, expected) {
        const storageKey = namespacedKey(sessionKey);
        if (rowVersion(storageKey)?.version !== expected) return false;
        versions.delete(storageKey);
        return map.delete(storageKey);
      },
    } satisfies AtomicWrites,
    async listOwnedBy(owner) {
      const keys = owned.get(owner);
      if (keys === undefined) return [];
      const found: StoredSession[] = [];
      for (const sessionKey of keys) {
        const storageKey = namespacedKey(sessionKey);
        const row = rowVersion(storageKey);
        if (row === undefined || row.expiresAtMs <= now() || row.owner !== owner) {
          keys.delete(sessionKey);
          continue;
        }
        found.push({ sessionKey, record: fromEnvelope(map.get(storageKey) as string) });
      }
      if (keys.size === 0) owned.delete(owner);
      return found;
    },
    async clearExpired() {
      let removed = 0;
      for (const storageKey of [...map.keys()]) {
        if (liveVersion(storageKey) !== undefined) continue;
        // The sweep takes expired sessions out of their user's index too.
        const owner = rowVersion(storageKey)?.owner;
        if (!map.delete(storageKey)) continue;
        versions.delete(storageKey);
        if (owner !== undefined) owned.get(owner)?.delete(sessionKeyOf(storageKey) as string);
        removed++;
      }
      return removed;
    },
  });
}

/** The version of a row written without one kept beside it. */
function parsedVersion(text: string): RowVersion {
  const { version, expiresAtMs, owner } = fromEnvelope(text);
  return { version, expiresAtMs, owner };
}
