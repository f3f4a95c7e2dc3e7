import { BadInputError } from "./errors";
import { checkKey, checkSessionSize, checkValue, type SessionLimits, shownKey } from "./limits";
import type { SessionData, SessionRecord } from "./store";

/** A source of the current time in ms; injected so tests can move time without patching globals. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Django's expiry settings, and OWASP's absolute timeout. */
export interface ExpiryPolicy {
  cookieAgeSeconds: number;
  expireAtBrowserClose: boolean;
  /** Seconds after `createdAt` when a session ends however active it is; undefined for none. */
  absoluteAgeSeconds?: number;
}

/** The part of a Session that a failed change puts back. */
export interface SessionSnapshot {
  data: SessionData;
  entryExpiresAtMs: Record<string, number> | undefined;
  expirySeconds: number | undefined;
  fixedExpiresAtMs: number | undefined;
  userId: string | undefined;
  userAgent: string | undefined;
  modified: boolean;
}

/** How much of a User-Agent a login keeps. */
export const MAX_USER_AGENT_LENGTH = 256;

/** The longest `expiresIn` an entry may have: ten years, as for SESSION_COOKIE_AGE. */
const MAX_ENTRY_SECONDS = 10 * 365 * 24 * 3600;

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
  /** When the stored record was first stored (ms since the epoch); undefined until then. */
  createdAtMs: number | undefined;
  /** When the stored record was last saved (ms since the epoch); undefined until then. */
  savedAtMs: number | undefined;
  /** The user the session is logged in as; undefined while anonymous. */
  userId: string | undefined;
  /** The User-Agent of the login, cut to MAX_USER_AGENT_LENGTH. */
  userAgent: string | undefined;
  private data: SessionData = emptyData();
  /** When entries set with `expiresIn` end, by key; undefined while none has an expiry. */
  private entryExpiresAtMs: Record<string, number> | undefined;
  private expirySeconds: number | undefined;
  private fixedExpiresAtMs: number | undefined;
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
    this.dropExpiredEntries();
    return Object.hasOwn(this.data, key) ? this.data[key] : defaultValue;
  }

  /** Whether `key` holds a value. */
  has(key: string): boolean {
    checkKey(key, this.limits);
    this.dropExpiredEntries();
    return Object.hasOwn(this.data, key);
  }

  /** Every key, in insertion order. */
  keys(): string[] {
    this.dropExpiredEntries();
    return Object.keys(this.data);
  }

  /** A copy of every entry. */
  items(): SessionData {
    this.dropExpiredEntries();
    return { ...this.data };
  }

  /** Stores `value` under `key`; with `expiresInSeconds`, the entry disappears by itself after that long. */
  set(key: string, value: unknown, expiresInSeconds?: number | null): void {
    checkKey(key, this.limits);
    checkValue(value, this.limits);
    if (expiresInSeconds !== undefined && expiresInSeconds !== null) checkEntrySeconds(expiresInSeconds);
    this.dropExpiredEntries();
    this.data[key] = value;
    // Setting a key again without `expiresIn` makes it an ordinary entry again.
    if (expiresInSeconds === undefined || expiresInSeconds === null) this.forgetEntryExpiry(key);
    else {
      this.entryExpiresAtMs ??= emptyExpiries();
      this.entryExpiresAtMs[key] = this.clock.now() + expiresInSeconds * 1000;
    }
    this.modified = true;
  }

  /** The value under `key` when there is one; otherwise stores `value` there (Django's setdefault). */
  setDefault(
    key: string,
    value: unknown,
    expiresInSeconds?: number | null,
  ): { found: boolean; value: unknown } {
    // The whole input is checked whether or not the key is there: a bad call is refused the same either way.
    checkKey(key, this.limits);
    checkValue(value, this.limits);
    if (expiresInSeconds !== undefined && expiresInSeconds !== null) checkEntrySeconds(expiresInSeconds);
    this.dropExpiredEntries();
    if (Object.hasOwn(this.data, key)) return { found: true, value: this.data[key] };
    this.set(key, value, expiresInSeconds);
    return { found: false, value };
  }

  /** Removes `key`; returns whether it was there and what it held (`defaultValue` when absent). */
  pop(key: string, defaultValue: unknown = null): { found: boolean; value: unknown } {
    checkKey(key, this.limits);
    if (defaultValue !== null) checkValue(defaultValue, this.limits, "default");
    this.dropExpiredEntries();
    if (!Object.hasOwn(this.data, key)) return { found: false, value: defaultValue };
    const value = this.data[key];
    delete this.data[key];
    this.forgetEntryExpiry(key);
    this.modified = true;
    return { found: true, value };
  }

  /** Stores every entry of `values` (none of them expiring), or none of them when one breaks a limit. */
  update(values: SessionData): void {
    const entries = Object.entries(values);
    for (const [key, value] of entries) {
      checkKey(key, this.limits);
      checkValue(value, this.limits, `value of "${shownKey(key)}"`);
    }
    this.dropExpiredEntries();
    for (const [key, value] of entries) {
      this.data[key] = value;
      this.forgetEntryExpiry(key);
    }
    this.modified = true;
  }

  /**
   * Removes every entry and, as Django does, the chosen expiry with them, and the login (Django keeps the user id
   * among the entries, so clearing a session logs it out).
   */
  clear(): void {
    this.emptyState();
    this.modified = true;
  }

  /** Records the session as logged in as `userId` (the service cycles its key with it). */
  logIn(userId: string, userAgent: string | undefined): void {
    this.userId = userId;
    this.userAgent = userAgent?.slice(0, MAX_USER_AGENT_LENGTH);
    this.modified = true;
  }

  /** When the entry under `key` ends by itself; null when it has no expiry or is absent. */
  keyExpiresAt(key: string): Date | null {
    checkKey(key, this.limits);
    this.dropExpiredEntries();
    const at = this.entryExpiresAtMs?.[key];
    return at === undefined ? null : new Date(at);
  }

  /**
   * The expiry policy: seconds of inactivity (> 0), 0 for browser close, a Date for a fixed end that activity
   * does not move, or null for the default policy.
   */
  setExpiry(expiry: number | Date | null): void {
    if (expiry instanceof Date) {
      const atMs = expiry.getTime();
      if (!Number.isFinite(atMs) || atMs <= this.clock.now()) {
        throw new BadInputError(`at must be a moment in the future, got ${describeDate(expiry)}`);
      }
      this.expirySeconds = undefined;
      this.fixedExpiresAtMs = atMs;
      this.modified = true;
      return;
    }
    if (expiry !== null && (!Number.isSafeInteger(expiry) || expiry < 0)) {
      throw new BadInputError(
        `seconds must be a whole number, 0 or more (0 = when the browser closes), got ${expiry}`,
      );
    }
    // As in Django, going back to the default policy changes nothing when it was already the default.
    if (expiry === null && this.expirySeconds === undefined && this.fixedExpiresAtMs === undefined) return;
    this.expirySeconds = expiry ?? undefined;
    this.fixedExpiresAtMs = undefined;
    this.modified = true;
  }

  /** Seconds until the session expires; the cookie age for a browser-close session. */
  getExpiryAge(): number {
    if (this.getExpireAtBrowserClose()) return this.policy.cookieAgeSeconds;
    const now = this.clock.now();
    return Math.max(0, Math.round((this.getExpiryDate().getTime() - now) / 1000));
  }

  /** When the session expires if nothing changes it: counted from the last save, or the fixed end. */
  getExpiryDate(): Date {
    if (this.expiresAtMs === undefined || this.modified) return new Date(this.endIfSavedAt(this.clock.now()));
    return new Date(this.expiresAtMs);
  }

  /** Whether the session (and its cookie) ends when the browser closes. */
  /** When the next entry set with `expiresIn` ends by itself; undefined when none will. */
  nextEntryExpiryMs(): number | undefined {
    let next: number | undefined;
    for (const key in this.entryExpiresAtMs) {
      const at = this.entryExpiresAtMs[key] as number;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  getExpireAtBrowserClose(): boolean {
    return endsAtBrowserClose(this.expirySeconds, this.fixedExpiresAtMs, this.policy);
  }

  /** Whether the session holds no entries (a chosen expiry alone does not count). */
  isEmpty(): boolean {
    this.dropExpiredEntries();
    for (const _ in this.data) return false;
    return true;
  }

  /** Whether there is anything worth a record: entries, or an expiry other than the default (Django's `_session_expiry`). */
  hasStateToStore(): boolean {
    return (
      !this.isEmpty() ||
      this.expirySeconds !== undefined ||
      this.fixedExpiresAtMs !== undefined ||
      this.userId !== undefined
    );
  }

  /**
   * When a save at `nowMs` would have the session end: the fixed end, else the chosen seconds or the cookie age
   * from now; never after the absolute end (`createdAt` + SESSION_ABSOLUTE_AGE).
   */
  endIfSavedAt(nowMs: number): number {
    const idleSeconds =
      this.expirySeconds !== undefined && this.expirySeconds > 0
        ? this.expirySeconds
        : this.policy.cookieAgeSeconds;
    const end = this.fixedExpiresAtMs ?? nowMs + idleSeconds * 1000;
    const { absoluteAgeSeconds } = this.policy;
    if (absoluteAgeSeconds === undefined) return end;
    return Math.min(end, (this.createdAtMs ?? nowMs) + absoluteAgeSeconds * 1000);
  }

  /** The record a save at `nowMs` writes; a session stored for the first time is created now. */
  toRecord(nowMs: number, version: number): SessionRecord {
    this.dropExpiredEntries();
    const record: SessionRecord = {
      data: this.data,
      expiresAtMs: this.endIfSavedAt(nowMs),
      version,
      createdAtMs: this.createdAtMs ?? nowMs,
      savedAtMs: nowMs,
    };
    if (this.userId !== undefined) {
      record.userId = this.userId;
      record.owner = this.userId;
      if (this.userAgent !== undefined) record.userAgent = this.userAgent;
    }
    if (this.expirySeconds !== undefined) record.expirySeconds = this.expirySeconds;
    if (this.fixedExpiresAtMs !== undefined) record.fixedExpiresAtMs = this.fixedExpiresAtMs;
    if (this.entryExpiresAtMs !== undefined) record.entryExpiresAtMs = this.entryExpiresAtMs;
    return record;
  }

  /** Takes the state of a record read from the store, or of no record (`undefined`). */
  adopt(sessionKey: string, record: SessionRecord | undefined): void {
    this.loaded = true;
    if (record === undefined) {
      // Nothing is stored: whatever this session held (a copy from an earlier save, say) is gone with it.
      this.emptyState();
      this.forget();
      return;
    }
    this.sessionKey = sessionKey;
    this.data = copyData(record.data);
    this.entryExpiresAtMs =
      record.entryExpiresAtMs === undefined
        ? undefined
        : Object.assign(emptyExpiries(), record.entryExpiresAtMs);
    this.expirySeconds = record.expirySeconds;
    this.fixedExpiresAtMs = record.fixedExpiresAtMs;
    this.version = record.version;
    this.expiresAtMs = record.expiresAtMs;
    // A record written before createdAt existed gets one at its next save.
    this.createdAtMs = record.createdAtMs;
    this.savedAtMs = record.savedAtMs;
    this.userId = record.userId;
    this.userAgent = record.userAgent;
  }

  /** Notes a successful save of `record` under `sessionKey`. */
  markSaved(sessionKey: string, record: SessionRecord): void {
    this.sessionKey = sessionKey;
    this.version = record.version;
    this.expiresAtMs = record.expiresAtMs;
    this.createdAtMs = record.createdAtMs;
    this.savedAtMs = record.savedAtMs;
    this.modified = false;
    this.savedThisRequest = true;
  }

  /** Throws unless the whole session fits SESSION_MAX_BYTES; checked on the live entries, without a copy. Returns its size. */
  checkSize(): number {
    return checkSessionSize(this.data, this.limits);
  }

  /** Notes that the record was deleted because nothing was left to keep. */
  markDeleted(): void {
    this.forget();
    this.modified = false;
    this.savedThisRequest = true;
  }

  /** Drops the key and returns to an unsaved session; used once the record is gone. A later save is a new session. */
  forget(): void {
    this.sessionKey = undefined;
    this.version = 0;
    this.expiresAtMs = undefined;
    this.createdAtMs = undefined;
    this.savedAtMs = undefined;
  }

  /** Empties the session and drops its key (Django's flush, after the record was deleted). */
  reset(): void {
    this.emptyState();
    this.loaded = true;
    this.markDeleted();
  }

  /** What `restore` needs to undo a change. */
  snapshot(): SessionSnapshot {
    return {
      data: copyData(this.data),
      entryExpiresAtMs:
        this.entryExpiresAtMs === undefined
          ? undefined
          : Object.assign(emptyExpiries(), this.entryExpiresAtMs),
      expirySeconds: this.expirySeconds,
      fixedExpiresAtMs: this.fixedExpiresAtMs,
      userId: this.userId,
      userAgent: this.userAgent,
      modified: this.modified,
    };
  }

  /** Puts back the state of `snapshot`. */
  restore(snapshot: SessionSnapshot): void {
    this.data = snapshot.data;
    this.entryExpiresAtMs = snapshot.entryExpiresAtMs;
    this.expirySeconds = snapshot.expirySeconds;
    this.fixedExpiresAtMs = snapshot.fixedExpiresAtMs;
    this.userId = snapshot.userId;
    this.userAgent = snapshot.userAgent;
    this.modified = snapshot.modified;
  }

  /** No entries, the default expiry policy, no login: what clear(), a flush and a vanished record leave. */
  private emptyState(): void {
    this.data = emptyData();
    this.entryExpiresAtMs = undefined;
    this.expirySeconds = undefined;
    this.fixedExpiresAtMs = undefined;
    this.userId = undefined;
    this.userAgent = undefined;
  }

  /**
   * Entries whose `expiresIn` has passed are gone for every reader. They leave the data here, without marking the
   * session modified: the next save writes the data without them, and a read alone saves nothing.
   */
  private dropExpiredEntries(): void {
    const expiries = this.entryExpiresAtMs;
    if (expiries === undefined) return;
    const now = this.clock.now();
    let left = 0;
    for (const key in expiries) {
      if ((expiries[key] as number) <= now) {
        delete expiries[key];
        delete this.data[key];
      } else left++;
    }
    if (left === 0) this.entryExpiresAtMs = undefined;
  }

  private forgetEntryExpiry(key: string): void {
    if (this.entryExpiresAtMs === undefined || !Object.hasOwn(this.entryExpiresAtMs, key)) return;
    delete this.entryExpiresAtMs[key];
    for (const _ in this.entryExpiresAtMs) return;
    this.entryExpiresAtMs = undefined;
  }
}

/**
 * Whether a session with this expiry choice ends when the browser closes: never with a fixed end, with 0 seconds
 * chosen, or under the policy's default when nothing was chosen.
 */
export function endsAtBrowserClose(
  expirySeconds: number | undefined,
  fixedExpiresAtMs: number | undefined,
  policy: ExpiryPolicy,
): boolean {
  if (fixedExpiresAtMs !== undefined) return false;
  return expirySeconds === undefined ? policy.expireAtBrowserClose : expirySeconds === 0;
}

/** Throws unless `seconds` is a whole number of seconds from 1 to ten years. */
function checkEntrySeconds(seconds: number): void {
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_ENTRY_SECONDS) {
    throw new BadInputError(
      `expiresIn must be a whole number of seconds from 1 to ${MAX_ENTRY_SECONDS}, got ${seconds}`,
    );
  }
}

function describeDate(date: Date): string {
  return Number.isFinite(date.getTime()) ? date.toISOString() : "an invalid date";
}

/**
 * Entries live in objects without a prototype, so a key such as `__proto__` is an ordinary own entry rather than
 * a way to swap the object's prototype.
 */
function emptyData(): SessionData {
  return Object.create(null) as SessionData;
}

function emptyExpiries(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

function copyData(source: SessionData): SessionData {
  return Object.assign(emptyData(), source);
}
