import type { ChangeFeed } from "./change-feed";

/** JSON-compatible session entries. */
export type SessionData = Record<string, unknown>;

/** What a store keeps for one session. */
export interface SessionRecord {
  data: SessionData;
  /** The expiry chosen with setExpiry: seconds of inactivity, 0 for browser close; absent means the default policy. */
  expirySeconds?: number;
  /** A fixed end chosen with setExpiry(Date), in ms since the epoch: later saves do not move it. */
  fixedExpiresAtMs?: number;
  /** When entries set with `expiresIn` disappear, by key, in ms since the epoch. */
  entryExpiresAtMs?: Record<string, number>;
  /** When the session was first stored, in ms since the epoch; kept by every later save and key cycle. */
  createdAtMs?: number;
  /** When the record expires, in ms since the epoch (counted from the last save). */
  expiresAtMs: number;
  /** Rises by one with every saved change. */
  version: number;
  /** The user the session is logged in as (Django's `_auth_user_id`, kept outside `data`). */
  userId?: string;
  /** The User-Agent it logged in with, cut to 256 characters. */
  userAgent?: string;
  /**
   * What the store indexes the session under, to list and end a user's sessions: the user id, or a keyed hash
   * of it when the record is sealed (then `userId` and `userAgent` are sealed with the data).
   */
  owner?: string;
  /** When the record was saved, in ms since the epoch (a session's "last seen"). */
  savedAtMs?: number;
  /** With encryption at rest: `data`, `entryExpiresAtMs`, `userId` and `userAgent`, sealed (then `data` is empty). */
  sealed?: string;
}

/** A stored session as a listing returns it. */
export interface StoredSession {
  sessionKey: string;
  record: SessionRecord;
}

/**
 * What a versioned save did. When the version check failed, `current` is the live record it found, read in the
 * same round trip (`null`: no live record), or absent when the store did not send it back.
 */
export type SaveOutcome = { saved: true } | { saved: false; current?: SessionRecord | null };

/** Persists session records. Never returns an expired record. */
export interface SessionStore {
  /**
   * Whether the records live outside this process (a file, a server), so that reading one back costs more than
   * keeping a copy of the one just saved: the service then writes a session's next change without reading it first.
   */
  readonly outOfProcess?: boolean;
  /**
   * How the instances sharing this store tell each other of saved changes (live sessions), through the store's
   * own engine; without one, changes are told within this process only.
   */
  readonly changes?: ChangeFeed;
  load(sessionKey: string): Promise<SessionRecord | undefined>;
  /** Writes only if the stored version is still `expected` (undefined: only if absent); false means another won. */
  save(sessionKey: string, record: SessionRecord, expected: number | undefined): Promise<boolean>;
  /**
   * The same check and write as `save`; a store whose engine can answer a failed check with the record that won
   * (a Lua script, a SQL statement) does so, so that the change can be applied again without another read.
   */
  saveOrRead?(sessionKey: string, record: SessionRecord, expected: number | undefined): Promise<SaveOutcome>;
  /**
   * The live records whose `owner` is `owner` (a store that seals records takes the user id and finds the
   * records under its hashes). Never an expired record or one indexed under another owner.
   */
  listOwnedBy?(owner: string): Promise<StoredSession[]>;
  /** Deletes the record; with `expected`, only while its version is still that one (false otherwise). */
  delete(sessionKey: string, expected?: number): Promise<boolean>;
  /**
   * Removes expired records and returns how many went. A store that removes them in steps stops early, with the
   * count so far, once `signal` is aborted (the server is shutting down).
   */
  clearExpired(signal?: AbortSignal): Promise<number>;
  /** Resolves when the store answers; backs /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
