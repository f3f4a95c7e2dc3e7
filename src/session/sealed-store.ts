import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import type { SessionData, SessionRecord, SessionStore, StoredSession } from "./store";

const ALGORITHM = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The sealed form's version and its separator: `v1.<key id>.<iv>.<tag>.<ciphertext>`, base64url parts. */
const FORMAT = "v1";

/** What a sealed record hides: every value and every key name, and who is logged in from where. */
interface SealedPart {
  data: SessionData;
  entryExpiresAtMs?: Record<string, number>;
  userId?: string;
  userAgent?: string;
}

/** One encryption key and the short id a sealed record names it by, so opening tries the right key first. */
interface SealingKey {
  id: string;
  key: Buffer;
  /** Keys the hash a user id is indexed under, derived from `key` so the index holds no user id in clear. */
  ownerKey: Buffer;
}

/**
 * A store that holds session data only as AES-256-GCM ciphertext (SESSION_ENCRYPTION_KEYS): the entries and
 * their key names are sealed, bound to the session key as additional authenticated data, so a record copied under
 * another key does not open. The version, the expiries and createdAt stay readable, since the store's version
 * check and sweeper need them. The first key seals; every key opens (rotation). A record written before
 * encryption was turned on is read as it is and sealed at its next save. A record no key opens reads as no
 * session, and `onUnreadable` is told.
 */
export function sealedStore(
  inner: SessionStore,
  base64Keys: readonly string[],
  onUnreadable: (error: unknown) => void,
): SessionStore {
  const keys: SealingKey[] = base64Keys.map((text) => {
    const key = Buffer.from(text, "base64");
    return {
      id: createHash("sha256").update(key).digest("base64url").slice(0, 8),
      key,
      ownerKey: createHmac("sha256", key).update("sessionql:owner-index").digest(),
    };
  });
  const sealing = keys[0];
  if (sealing === undefined) throw new Error("sealedStore needs at least one key");
  const innerSaveOrRead = inner.saveOrRead?.bind(inner);
  const innerListOwnedBy = inner.listOwnedBy?.bind(inner);
  /** A record as stored, opened when sealed; undefined, with `onUnreadable` told, when no key opens it. */
  const readable = (record: SessionRecord, sessionKey: string): SessionRecord | undefined => {
    if (record.sealed === undefined) return record;
    try {
      return open(record, record.sealed, sessionKey, keys);
    } catch (error) {
      onUnreadable(error);
      return undefined;
    }
  };
  return {
    outOfProcess: inner.outOfProcess,
    changes: inner.changes,
    async load(sessionKey) {
      const record = await inner.load(sessionKey);
      return record === undefined ? undefined : readable(record, sessionKey);
    },
    save: (sessionKey, record, expected) =>
      inner.save(sessionKey, seal(record, sessionKey, sealing), expected),
    ...(innerSaveOrRead === undefined
      ? {}
      : {
          async saveOrRead(sessionKey, record, expected) {
            const outcome = await innerSaveOrRead(sessionKey, seal(record, sessionKey, sealing), expected);
            if (outcome.saved || !outcome.current?.sealed) return outcome;
            // Opened as load opens it; one no key opens is left for the service to read (and report) again.
            try {
              return {
                saved: false,
                current: open(outcome.current, outcome.current.sealed, sessionKey, keys),
              };
            } catch {
              return { saved: false };
            }
          },
        }),
    ...(innerListOwnedBy === undefined
      ? {}
      : {
          // The records were indexed under the hash of the key that sealed them, so every key's hash is asked
          // (a rotation leaves sessions indexed under the old one); a record no key opens is left out.
          async listOwnedBy(userId) {
            const seen = new Set<string>();
            const found: StoredSession[] = [];
            for (const candidate of keys) {
              for (const { sessionKey, record } of await innerListOwnedBy(ownerHash(userId, candidate))) {
                if (seen.has(sessionKey)) continue;
                seen.add(sessionKey);
                const opened = readable(record, sessionKey);
                if (opened !== undefined) found.push({ sessionKey, record: opened });
              }
            }
            return found;
          },
        }),
    delete: (sessionKey, expected) => inner.delete(sessionKey, expected),
    clearExpired: (signal) => inner.clearExpired(signal),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}

function seal(record: SessionRecord, sessionKey: string, sealing: SealingKey): SessionRecord {
  const { id, key } = sealing;
  const { data, entryExpiresAtMs, userId, userAgent, owner: _owner, sealed: _previous, ...readable } = record;
  const hidden: SealedPart = { data };
  if (entryExpiresAtMs !== undefined) hidden.entryExpiresAtMs = entryExpiresAtMs;
  if (userId !== undefined) hidden.userId = userId;
  if (userAgent !== undefined) hidden.userAgent = userAgent;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(boundTo(sessionKey));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(hidden), "utf8"), cipher.final()]);
  const parts = [FORMAT, id, iv, cipher.getAuthTag(), ciphertext].map((part) =>
    typeof part === "string" ? part : part.toString("base64url"),
  );
  const sealedRecord: SessionRecord = { ...readable, data: {}, sealed: parts.join(".") };
  if (userId !== undefined) sealedRecord.owner = ownerHash(userId, sealing);
  return sealedRecord;
}

/** What a user's sessions are indexed under when sealed with `sealing`: an HMAC of the user id. */
function ownerHash(userId: string, sealing: SealingKey): string {
  return createHmac("sha256", sealing.ownerKey).update(userId, "utf8").digest("base64url");
}

function open(
  record: SessionRecord,
  sealed: string,
  sessionKey: string,
  keys: readonly SealingKey[],
): SessionRecord {
  const [format, id, iv, tag, ciphertext] = sealed.split(".");
  if (format !== FORMAT || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error("not a sealed session record");
  }
  // The named key first; the others too, in case two keys share an id prefix.
  const ordered = [
    ...keys.filter((candidate) => candidate.id === id),
    ...keys.filter((candidate) => candidate.id !== id),
  ];
  let failure: unknown = new Error("no encryption key opens this session record");
  for (const { key } of ordered) {
    try {
      const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, "base64url"), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(boundTo(sessionKey));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      const text = Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]);
      const hidden = JSON.parse(text.toString("utf8")) as SealedPart;
      const { sealed: _sealed, owner: _owner, ...readable } = record;
      const opened: SessionRecord = { ...readable, ...hidden };
      // Opened, the record names its user as an unsealed one does.
      if (hidden.userId !== undefined) opened.owner = hidden.userId;
      return opened;
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

function boundTo(sessionKey: string): Buffer {
  return Buffer.from(`sessionql:session:${sessionKey}`, "utf8");
}
