import { BadInputError } from "./errors";
import { checkKey, checkSessionSize, checkValue, type SessionLimits } from "./limits";
import type { SessionData, SessionRecord } from "./store";

/** A source of the current time in ms; injected so tests can move time without patching globals. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Django's expiry settings. */
export interface ExpiryPolicy {
  cookieAgeSeconds: number;
  expireAtBrowserClose: boolean;
}

/** The part of a Session that a failed change puts back. */
export interface SessionSnapshot {
  data: SessionData;
  expirySeconds: number | undefined;
  modified: boolean;
}

/**
 * One visitor's session during one request, in the style of Django's SessionBase: the data, the expiry
 * policy and the `accessed` / `modified` flags. It never touches a store; SessionService loads and saves it.
 */
export class Session {
  /** Set once this request read or changed the session (the response then varies on Cookie). */
  accessed = false;
  /** Set by a change that still has to be saved. */
  modified = false;
  /** Whether the stored record was looked up (or known to be absent). */
  loaded: boolean;
  /** Whether a save or delete reached the store during this request. */
  savedThisRequest = false;
  /** Whether an operation on this session failed on the store or was interrupted. */
  failed = false;
  /** The key of the stored record; undefined while nothing is stored under a key this request may use. */
  sessionKey: string | undefined;
  /** Rises by one with every saved change; 0 while never stored. */
  version = 0;
  /** When the stored record expires (ms since the epoch). */
  expiresAtMs: number | undefined;
  private data: SessionData = emptyData();
  private expirySeconds: number | undefined;
  private creationVerdict: Promise<boolean> | undefined;

  constructor(
    /** The verified, well-formed key the cookie named, if any; not yet known to be live. */
    readonly incomingKey: string | undefined,
    /** Whether the request carried a session cookie at all, valid or not. */
    readonly arrivedWithCookie: boolean,
    private readonly policy: ExpiryPolicy,
    private readonly limits: SessionLimits,
    private readonly clock: Clock,
    /** Asked before this request stores a brand-new session (the HTTP layer limits creation per client). */
    private readonly admitNew?: () => Promise<boolean>,
  ) {
    this.loaded = incomingKey === undefined;
  }

  /** Whether this request may store a new session; the admission is asked at most once per request. */
  mayStoreNew(): Promise<boolean> {
    if (this.admitNew === undefined) return Promise.resolve(true);
    this.creationVerdict ??= this.admitNew();
    return this.creationVerdict;
  }

  /** The value under `key`, or `defaultValue` when there is none. */
  get(key: string, defaultValue: unknown = null): unknown {
    checkKey(key, this.limits);
    if (defaultValue !== null) checkValue(defaultValue, this.limits, "default");
    return Object.hasOwn(this.data, key) ? this.data[key] : defaultValue;
  }

  /** Whether `key` holds a value. */
  has(key: string): boolean {
    checkKey(key, this.limits);
    return Object.hasOwn(this.data, key);
  }

  /** Every key, in insertion order. */
  keys(): string[] {
    return Object.keys(this.data);
  }

  /** A copy of every entry. */
  items(): SessionData {
    return { ...this.data };
  }

  /** Stores `value` under `key`. */
  set(key: string, value: unknown): void {
    checkKey(key, this.limits);
    checkValue(value, this.limits);
    this.data[key] = value;
    this.modified = true;
  }

  /** The value under `key`; when there is none, stores `value` there first (Django's setdefault). */
  setDefault(key: string, value: unknown): unknown {
    checkKey(key, this.limits);
    if (Object.hasOwn(this.data, key)) return this.data[key];
    this.set(key, value);
    return value;
  }

  /** Removes `key`; returns whether it was there and what it held (`defaultValue` when absent). */
  pop(key: string, defaultValue: unknown = null): { found: boolean; value: unknown } {
    checkKey(key, this.limits);
    if (defaultValue !== null) checkValue(defaultValue, this.limits, "default");
    if (!Object.hasOwn(this.data, key)) return { found: false, value: defaultValue };
    const value = this.data[key];
    delete this.data[key];
    this.modified = true;
    return { found: true, value };
  }

  /** Stores every entry of `values`, or none of them when one breaks a limit. */
  update(values: SessionData): void {
    const entries = Object.entries(values);
    for (const [key, value] of entries) {
      checkKey(key, this.limits);
      checkValue(value, this.limits, `value of "${truncate(key)}"`);
    }
    for (const [key, value] of entries) this.data[key] = value;
    this.modified = true;
  }

  /** Removes every entry and, as Django does, the chosen expiry with them. */
  clear(): void {
    this.data = emptyData();
    this.expirySeconds = undefined;
    this.modified = true;
  }

  /** Seconds of inactivity before expiry: > 0 seconds, 0 for browser close, null for the default policy. */
  setExpiry(seconds: number | null): void {
    if (seconds !== null && (!Number.isSafeInteger(seconds) || seconds < 0)) {
      throw new BadInputError(
        `seconds must be a whole number, 0 or more (0 = when the browser closes), got ${seconds}`,
      );
    }
    // As in Django, going back to the default policy changes nothing when it was already the default.
    if (seconds === null && this.expirySeconds === undefined) return;
    this.expirySeconds = seconds ?? undefined;
    this.modified = true;
  }

  /** Seconds until the session expires; the cookie age for a browser-close session. */
  getExpiryAge(): number {
    if (this.getExpireAtBrowserClose()) return this.policy.cookieAgeSeconds;
    if (this.expiresAtMs === undefined || this.modified) return this.ageSeconds();
    return Math.max(0, Math.round((this.expiresAtMs - this.clock.now()) / 1000));
  }

  /** When the session expires if nothing changes it; counted from the last save. */
  getExpiryDate(): Date {
    if (this.expiresAtMs === undefined || this.modified) {
      return new Date(this.clock.now() + this.ageSeconds() * 1000);
    }
    return new Date(this.expiresAtMs);
  }

  /** Whether the session (and its cookie) ends when the browser closes. */
  getExpireAtBrowserClose(): boolean {
    return this.expirySeconds === undefined ? this.policy.expireAtBrowserClose : this.expirySeconds === 0;
  }

  /** Whether the session holds no entries (a chosen expiry alone does not count). */
  isEmpty(): boolean {
    for (const _ in this.data) return false;
    return true;
  }

  /** Whether there is anything worth a record: entries, or an expiry other than the default (Django's `_session_expiry`). */
  hasStateToStore(): boolean {
    return !this.isEmpty() || this.expirySeconds !== undefined;
  }

  /** The server-side lifetime a save starts: the chosen seconds, else the cookie age. */
  ageSeconds(): number {
    return this.expirySeconds !== undefined && this.expirySeconds > 0
      ? this.expirySeconds
      : this.policy.cookieAgeSeconds;
  }

  /** The record a save at `nowMs` writes. */
  toRecord(nowMs: number, version: number): SessionRecord {
    const record: SessionRecord = { data: this.data, expiresAtMs: nowMs + this.ageSeconds() * 1000, version };
    if (this.expirySeconds !== undefined) record.expirySeconds = this.expirySeconds;
    return record;
  }

  /** Takes the state of a record read from the store, or of no record (`undefined`). */
  adopt(sessionKey: string, record: SessionRecord | undefined): void {
    this.loaded = true;
    if (record === undefined) {
      this.forget();
      return;
    }
    this.sessionKey = sessionKey;
    this.data = copyData(record.data);
    this.expirySeconds = record.expirySeconds;
    this.version = record.version;
    this.expiresAtMs = record.expiresAtMs;
  }

  /** Notes a successful save of `record` under `sessionKey`. */
  markSaved(sessionKey: string, record: SessionRecord): void {
    this.sessionKey = sessionKey;
    this.version = record.version;
    this.expiresAtMs = record.expiresAtMs;
    this.modified = false;
    this.savedThisRequest = true;
  }

  /** Throws unless the whole session fits SESSION_MAX_BYTES; checked on the live entries, without a copy. */
  checkSize(): void {
    checkSessionSize(this.data, this.limits);
  }

  /** Notes that the record was deleted because nothing was left to keep. */
  markDeleted(): void {
    this.forget();
    this.modified = false;
    this.savedThisRequest = true;
  }

  /** Drops the key and returns to an unsaved session; used once the record is gone. */
  forget(): void {
    this.sessionKey = undefined;
    this.version = 0;
    this.expiresAtMs = undefined;
  }

  /** Empties the session and drops its key (Django's flush, after the record was deleted). */
  reset(): void {
    this.data = emptyData();
    this.expirySeconds = undefined;
    this.loaded = true;
    this.markDeleted();
  }

  /** What `restore` needs to undo a change. */
  snapshot(): SessionSnapshot {
    return { data: copyData(this.data), expirySeconds: this.expirySeconds, modified: this.modified };
  }

  /** Puts back the state of `snapshot`. */
  restore(snapshot: SessionSnapshot): void {
    this.data = snapshot.data;
    this.expirySeconds = snapshot.expirySeconds;
    this.modified = snapshot.modified;
  }
}

/**
 * Entries live in objects without a prototype, so a key such as `__proto__` is an ordinary own entry rather than
 * a way to swap the object's prototype.
 */
function emptyData(): SessionData {
  return Object.create(null) as SessionData;
}

function copyData(source: SessionData): SessionData {
  return Object.assign(emptyData(), source);
}

function truncate(key: string): string {
  return key.length > 40 ? `${key.slice(0, 40)}…` : key;
}
