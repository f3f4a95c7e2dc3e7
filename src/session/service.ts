import { type ChangeFeed, type SessionChangeKind, topicOf } from "./change-feed";
import { monotonicNow, raceTimeout } from "./deadline";
import {
  BadInputError,
  ConflictError,
  RateLimitedError,
  SessionError,
  SessionInterruptedError,
  StoreUnavailableError,
  UnsupportedError,
  VersionConflictError,
} from "./errors";
import { KeyedLock } from "./keyed-lock";
import { newSessionKey, publicId } from "./keys";
import type { SessionLimits } from "./limits";
import { RecentRecords } from "./recent-records";
import { type Clock, type ExpiryPolicy, endsAtBrowserClose, Session, systemClock } from "./session";
import type { SaveOutcome, SessionRecord, SessionStore, StoredSession } from "./store";

/** How many sessions a revoke deletes at once. */
const REVOKE_BATCH = 32;

/** How many saved records an instance keeps copies of, and their bytes of JSON at most. */
const RECENT_RECORDS = 10_000;
const RECENT_RECORD_BYTES = 32 * 1024 * 1024;

/** How a change is applied. */
export interface ChangeOptions {
  /** Apply only while the stored version is still this one (0: only while no session is stored). */
  ifVersion?: number;
}

/** What the service needs to know; every field comes from the validated config. */
export interface SessionServiceOptions {
  store: SessionStore;
  policy: ExpiryPolicy & { saveEveryRequest: boolean };
  limits: SessionLimits;
  /** Keys the public session id; the first signing secret. */
  idSecret: string;
  clock?: Clock;
  /** How long an operation may wait for the store (and for its turn) before it fails as unavailable. */
  storeTimeoutMs?: number;
  /** How many times a change is re-applied after losing the version check to another writer. */
  maxAttempts?: number;
  /** Told of what happened to sessions, for metrics; must not throw. */
  onEvent?: (event: SessionEvent) => void;
  /** A login past this many live sessions of one user ends the user's least recently used ones; none by default. */
  maxSessionsPerUser?: number;
  /** Where every saved change is told, for live sessions; none when absent. */
  changes?: ChangeFeed;
  /** Told when telling a change failed (the change itself is saved); must not throw. */
  onChangeNotSent?: (error: unknown) => void;
}

/** One live session of a user, as `userSessions` lists it. */
export interface UserSession {
  /** The session's public id (Session.id). */
  id: string;
  createdAt: Date;
  /** Its last save. */
  lastSeenAt: Date;
  /** When it ends if nothing changes it; null for a session that ends when the browser closes. */
  expiresAt: Date | null;
  /** The User-Agent it logged in with. */
  userAgent: string | null;
}

/** How `login` records the session. */
export interface LoginOptions {
  /** The User-Agent of the request, kept (cut to 256 characters) for a "your devices" list. */
  userAgent?: string;
}

/**
 * What the service reports: a session stored for the first time, given a new key, flushed, deleted because it
 * became empty; a version check lost to another writer (the change is then re-applied); a creation refused; a
 * sealed record no encryption key opens (it reads as no session).
 */
export type SessionEvent =
  | "created"
  | "cycled"
  | "flushed"
  | "emptied"
  | "conflict"
  | "rate-limited"
  | "unreadable"
  | "revoked";

/**
 * The session use cases: load lazily, apply a change under a per-session lock, save it with a version check,
 * and re-apply it to the fresh record when another writer won.
 */
export class SessionService {
  private readonly locks = new KeyedLock();
  private readonly unsavedLockKeys = new WeakMap<Session, string>();
  private unsavedSessions = 0;
  private readonly clock: Clock;
  private readonly storeTimeoutMs: number;
  private readonly maxAttempts: number;
  /** Copies of the records saved last, for stores out of this process (see RecentRecords). */
  private readonly recent: RecentRecords | undefined;

  constructor(private readonly options: SessionServiceOptions) {
    this.recent = options.store.outOfProcess
      ? new RecentRecords(RECENT_RECORDS, RECENT_RECORD_BYTES)
      : undefined;
    this.clock = options.clock ?? systemClock;
    this.storeTimeoutMs = options.storeTimeoutMs ?? 1500;
    // Each lost race costs one round trip, and the deadline bounds them anyway. 25 was too few: instances writing
    // one hot session each hold a queue of changes, and one instance's change could lose 25 races in a row to the
    // other's queue on a loaded machine (200 parallel writes over two instances on PostgreSQL, in CI).
    this.maxAttempts = options.maxAttempts ?? 100;
  }

  /**
   * A session for a request; nothing is read until an operation needs it. `admitNewSession`, when given, is
   * asked before this request stores a brand-new session (the HTTP layer rate-limits creation per client).
   */
  open(
    incomingKey: string | undefined,
    arrivedWithCookie: boolean,
    admitNewSession?: () => Promise<boolean>,
  ): Session {
    return new Session(
      incomingKey,
      arrivedWithCookie,
      this.options.policy,
      this.options.limits,
      this.clock,
      admitNewSession,
    );
  }

  /** The non-secret handle of a stored session, or null. */
  publicId(session: Session): string | null {
    return session.sessionKey === undefined ? null : this.idOf(session.sessionKey);
  }

  /** The public id (Session.id) of a session key. */
  idOf(sessionKey: string): string {
    return publicId(sessionKey, this.options.idSecret);
  }

  /** Loads the session for reading. */
  async read(session: Session): Promise<Session> {
    session.accessed = true;
    if (session.loaded) return session;
    const deadline = this.deadline();
    await this.guard(session, () => this.load(session, deadline));
    return session;
  }

  /**
   * Applies `mutate` and saves the result. `mutate` may run more than once (on the fresh record after a lost
   * version check), so it must only use the session it is given. A throw leaves the session as it was.
   */
  async change<T>(
    session: Session,
    mutate: (session: Session) => T,
    options: ChangeOptions = {},
  ): Promise<T> {
    session.accessed = true;
    const deadline = this.deadline();
    return this.guard(session, () =>
      this.withLock(session, deadline, async () => {
        // With `ifVersion` the answer must name the stored version, so a copy kept from an earlier save is no use.
        let fromCopy = options.ifVersion === undefined && this.adoptKeptCopy(session);
        if (!fromCopy) await this.load(session, deadline);
        let outcome: SaveOutcome;
        for (let attempt = 1; ; attempt++) {
          checkVersion(session, options);
          const before = session.snapshot();
          try {
            const result = mutate(session);
            if (!session.modified) return result;
            const bytes = session.checkSize();
            outcome = await this.persist(session, deadline, bytes);
            if (outcome.saved) return result;
          } catch (error) {
            session.restore(before);
            throw error;
          }
          session.restore(before);
          if (fromCopy) {
            // The kept copy was overtaken (another instance saved, or deleted the session): take the record as a
            // request without a copy would have read it, and apply the change to that.
            fromCopy = false;
            const sessionKey = session.incomingKey as string;
            this.recent?.forget(sessionKey);
            session.adopt(sessionKey, await this.winner(sessionKey, outcome, deadline));
            continue;
          }
          this.report("conflict");
          await this.reload(session, deadline, outcome);
          if (attempt >= this.maxAttempts) throw new ConflictError();
        }
      }),
    );
  }

  /**
   * Moves the data to a new key and kills the old one (call on login, against session fixation). The copy is
   * written first and the old record deleted with a version check, so a failure never loses the data and a
   * concurrent change is never dropped: when the old record changed meanwhile, the copy is undone and redone.
   */
  async cycleKey(session: Session, options: ChangeOptions = {}): Promise<void> {
    session.accessed = true;
    const deadline = this.deadline();
    await this.guard(session, () =>
      this.withLock(session, deadline, async () => {
        await this.load(session, deadline);
        checkVersion(session, options);
        await this.rekey(session, deadline, () => checkVersion(session, options));
      }),
    );
  }

  /**
   * Logs the session in as `userId`, as Django's `login()` does: a session of another user is emptied first, then
   * the session is stored under a new key (against session fixation) with the user recorded outside its data,
   * where the store indexes it. With `maxSessionsPerUser`, the user's least recently used sessions beyond it end.
   */
  async login(session: Session, userId: string, options: LoginOptions = {}): Promise<void> {
    checkUserId(userId);
    session.accessed = true;
    const deadline = this.deadline();
    await this.guard(session, () =>
      this.withLock(session, deadline, async () => {
        await this.load(session, deadline);
        const oldKey = session.sessionKey;
        if (oldKey !== undefined && session.userId !== undefined && session.userId !== userId) {
          // Django's login() flushes a session of another user: that record goes, and the login starts a new
          // session (a new createdAt, so no absolute age is inherited from the other user).
          await this.call(deadline, () => this.options.store.delete(oldKey));
          this.recent?.forget(oldKey);
          this.tell(oldKey, "ended", session.version);
          session.reset();
          this.report("flushed");
        }
        const prepare = () => {
          // Another request may have logged the session in as someone else meanwhile (seen after a lost check).
          if (session.userId !== undefined && session.userId !== userId) session.clear();
          session.logIn(userId, options.userAgent);
        };
        if (session.sessionKey === undefined) {
          // Nothing stored yet: the first save is a new session under a new key, as any first save is.
          prepare();
          if (!(await this.persist(session, deadline, session.checkSize())).saved) throw new ConflictError();
          return;
        }
        await this.rekey(session, deadline, prepare);
      }),
    );
    const max = this.options.maxSessionsPerUser;
    if (max !== undefined) await this.endLeastRecentlyUsed(userId, max);
  }

  /** The live sessions of `userId`, newest first. */
  async userSessions(userId: string): Promise<UserSession[]> {
    const owned = await this.ownedSessions(userId, this.deadline());
    return owned.map(({ sessionKey, record }) => this.describe(sessionKey, record));
  }

  /**
   * Ends every live session of `userId` but those whose public ids are in `except`; resolves to how many ended.
   * Each one reads as no session, on every instance, once this resolves; a change racing the end does not bring
   * it back (it fails with SESSION_INTERRUPTED).
   */
  async revokeUserSessions(userId: string, options: { except?: readonly string[] } = {}): Promise<number> {
    const deadline = this.deadline();
    const kept = new Set(options.except ?? []);
    const owned = await this.ownedSessions(userId, deadline);
    const ending = owned
      .map(({ sessionKey }) => sessionKey)
      .filter((sessionKey) => !kept.has(this.idOf(sessionKey)));
    let ended = 0;
    // Some at a time rather than one by one, so a user with many sessions is done well within the deadline.
    for (let start = 0; start < ending.length; start += REVOKE_BATCH) {
      const batch = ending.slice(start, start + REVOKE_BATCH);
      const deleted = await Promise.all(batch.map((sessionKey) => this.end(sessionKey, deadline)));
      ended += deleted.filter(Boolean).length;
    }
    return ended;
  }

  /** Ends one session of `userId` by its public id; false when the user has no such session. */
  async revokeUserSession(userId: string, id: string): Promise<boolean> {
    const deadline = this.deadline();
    const owned = await this.ownedSessions(userId, deadline);
    const target = owned.find(({ sessionKey }) => this.idOf(sessionKey) === id);
    return target !== undefined && (await this.end(target.sessionKey, deadline));
  }

  /** Deletes a session's record, whatever it holds, and drops the copy kept of it. */
  private async end(sessionKey: string, deadline: number): Promise<boolean> {
    const deleted = await this.call(deadline, () => this.options.store.delete(sessionKey));
    this.recent?.forget(sessionKey);
    if (deleted) {
      this.report("revoked");
      this.tell(sessionKey, "ended", 0);
    }
    return deleted;
  }

  /** A user's live sessions, newest first, from the store's index. */
  private async ownedSessions(userId: string, deadline: number): Promise<StoredSession[]> {
    checkUserId(userId);
    const { store } = this.options;
    if (store.listOwnedBy === undefined) throw new UnsupportedError("list a user's sessions");
    const listOwnedBy = store.listOwnedBy.bind(store);
    const now = this.clock.now();
    const listed = await this.call(deadline, () => listOwnedBy(userId));
    return listed
      .filter(({ record }) => record.userId === userId && record.expiresAtMs > now)
      .sort((a, b) => (b.record.createdAtMs ?? 0) - (a.record.createdAtMs ?? 0));
  }

  /**
   * Keeps the `max` most recently used sessions of `userId` and ends the rest. Every instance orders sessions
   * alike (last use, then key), so logins racing past the limit agree on which to keep: the last one to list
   * sees them all and leaves exactly `max`, and the most recent session is kept by every one of them.
   */
  private async endLeastRecentlyUsed(userId: string, max: number): Promise<void> {
    const deadline = this.deadline();
    const owned = await this.ownedSessions(userId, deadline);
    if (owned.length <= max) return;
    const leastRecentFirst = [...owned].sort((a, b) => (usedBefore(a, b) ? -1 : 1));
    const ending = leastRecentFirst.slice(0, owned.length - max);
    await Promise.all(ending.map(({ sessionKey }) => this.end(sessionKey, deadline)));
  }

  private describe(sessionKey: string, record: SessionRecord): UserSession {
    const browserClose = endsAtBrowserClose(
      record.expirySeconds,
      record.fixedExpiresAtMs,
      this.options.policy,
    );
    return {
      id: this.idOf(sessionKey),
      createdAt: new Date(record.createdAtMs ?? lastSeen(record)),
      lastSeenAt: new Date(lastSeen(record)),
      expiresAt: browserClose ? null : new Date(record.expiresAtMs),
      userAgent: record.userAgent ?? null,
    };
  }

  /**
   * Writes the session under a new key and deletes the old record with a version check; on a lost check the copy
   * is deleted again and the whole move redone on the fresh record. `prepare` changes the session before each
   * try (a login records its user), and may throw to stop.
   */
  private async rekey(session: Session, deadline: number, prepare: () => void): Promise<void> {
    for (let attempt = 1; session.sessionKey !== undefined; attempt++) {
      const before = session.snapshot();
      prepare();
      const oldKey = session.sessionKey;
      const newKey = newSessionKey();
      const record = session.toRecord(this.clock.now(), session.version + 1);
      if (await this.call(deadline, () => this.options.store.save(newKey, record, undefined))) {
        if (await this.call(deadline, () => this.options.store.delete(oldKey, session.version))) {
          session.markSaved(newKey, record);
          this.recent?.forget(oldKey);
          this.report("cycled");
          this.tell(oldKey, "rekeyed", record.version - 1);
          return;
        }
        await this.call(deadline, () => this.options.store.delete(newKey));
      }
      session.restore(before);
      this.report("conflict");
      await this.reload(session, deadline);
      if (attempt >= this.maxAttempts) throw new ConflictError();
    }
  }

  /**
   * Deletes the record and empties the session (logout); the old key reads nothing afterwards. With `ifVersion`,
   * only while the stored version is still that one.
   */
  async flush(session: Session, options: ChangeOptions = {}): Promise<void> {
    session.accessed = true;
    const deadline = this.deadline();
    await this.guard(session, () =>
      this.withLock(session, deadline, async () => {
        const { ifVersion } = options;
        if (ifVersion !== undefined) await this.load(session, deadline);
        // Without a version to check, no load: the record goes whatever it holds, so reading it first would only
        // cost a round trip.
        const sessionKey = session.loaded ? session.sessionKey : session.incomingKey;
        checkVersion(session, options);
        if (sessionKey !== undefined) {
          const deleted = await this.call(deadline, () => this.options.store.delete(sessionKey, ifVersion));
          if (!deleted && ifVersion !== undefined) {
            await this.reload(session, deadline).catch(() => {});
            throw new VersionConflictError(session.version);
          }
        }
        if (sessionKey !== undefined) {
          this.recent?.forget(sessionKey);
          this.tell(sessionKey, "ended", session.version);
        }
        session.reset();
        if (sessionKey !== undefined) this.report("flushed");
      }),
    );
  }

  /**
   * With SESSION_SAVE_EVERY_REQUEST, re-saves a session this request touched but did not save, so its expiry
   * restarts; the version stays. Losing the version check is fine: the winner's save restarted it too.
   */
  async finish(session: Session): Promise<boolean> {
    const { sessionKey } = session;
    if (!this.options.policy.saveEveryRequest || !session.accessed || session.failed) return false;
    if (session.savedThisRequest || sessionKey === undefined) return false;
    const deadline = this.deadline();
    // Under the lock like every write: on a store whose version check is not atomic, a refresh racing a change
    // or a flush could otherwise write back the state this request read.
    return this.withLock(session, deadline, async () => {
      const record = session.toRecord(this.clock.now(), session.version);
      const saved = await this.call(deadline, () =>
        this.options.store.save(sessionKey, record, session.version),
      );
      // The refresh saved the same data under the same version; a copy kept from before would now expire early.
      this.recent?.forget(sessionKey);
      if (saved) session.markSaved(sessionKey, record);
      return saved;
    });
  }

  private async load(session: Session, deadline: number): Promise<void> {
    if (session.loaded || session.incomingKey === undefined) return;
    const sessionKey = session.incomingKey;
    session.adopt(sessionKey, await this.fetch(sessionKey, deadline));
  }

  /**
   * Re-reads after a lost version check (or takes the record the store sent back with it); a record that vanished
   * meanwhile is not brought back.
   */
  private async reload(session: Session, deadline: number, lost?: SaveOutcome): Promise<void> {
    const { sessionKey } = session;
    if (sessionKey === undefined) return;
    const record = await this.winner(sessionKey, lost, deadline);
    session.adopt(sessionKey, record);
    if (record === undefined) throw new SessionInterruptedError();
  }

  /** The live record that won a version check: the one the store answered with, or else read now. */
  private winner(
    sessionKey: string,
    lost: SaveOutcome | undefined,
    deadline: number,
  ): Promise<SessionRecord | undefined> {
    if (lost === undefined || lost.saved || lost.current === undefined)
      return this.fetch(sessionKey, deadline);
    const { current } = lost;
    return Promise.resolve(current !== null && current.expiresAtMs > this.clock.now() ? current : undefined);
  }

  /** Reads a record, enforcing expiry here whatever the store does. */
  private async fetch(sessionKey: string, deadline: number): Promise<SessionRecord | undefined> {
    const record = await this.call(deadline, () => this.options.store.load(sessionKey));
    return record !== undefined && record.expiresAtMs > this.clock.now() ? record : undefined;
  }

  /**
   * Takes the copy this instance kept of the record the request names, when there is one and the session was not
   * read yet; false when there is none.
   */
  private adoptKeptCopy(session: Session): boolean {
    const sessionKey = session.incomingKey;
    if (this.recent === undefined || session.loaded || sessionKey === undefined) return false;
    const record = this.recent.take(sessionKey, this.clock.now());
    if (record === undefined) return false;
    session.adopt(sessionKey, record);
    return true;
  }

  /** Writes the session's state: a versioned save, or a delete once nothing is left to keep. */
  private async persist(session: Session, deadline: number, bytes: number): Promise<SaveOutcome> {
    const { store } = this.options;
    const { sessionKey } = session;
    if (!session.hasStateToStore()) {
      if (
        sessionKey !== undefined &&
        !(await this.call(deadline, () => store.delete(sessionKey, session.version)))
      ) {
        return { saved: false };
      }
      session.markDeleted();
      if (sessionKey !== undefined) {
        this.recent?.forget(sessionKey);
        this.report("emptied");
        this.tell(sessionKey, "ended", session.version);
      }
      return { saved: true };
    }
    if (sessionKey === undefined) await this.admitNew(session);
    // A new session gets a fresh key: a key from the request is only ever reused after it loaded a live record.
    const targetKey = sessionKey ?? newSessionKey();
    const expected = sessionKey === undefined ? undefined : session.version;
    const record = session.toRecord(this.clock.now(), session.version + 1);
    const outcome = await this.call(deadline, () => this.saveOrRead(targetKey, record, expected));
    if (!outcome.saved) return outcome;
    session.markSaved(targetKey, record);
    this.recent?.keep(targetKey, record, bytes);
    // A new key has no subscriber yet: nobody can have presented it.
    if (expected === undefined) this.report("created");
    else if (this.options.changes?.sentWithSaves !== true) this.tell(targetKey, "saved", record.version);
    return outcome;
  }

  /** A versioned save, with the record that won a lost check when the store can send it back. */
  private async saveOrRead(
    sessionKey: string,
    record: SessionRecord,
    expected: number | undefined,
  ): Promise<SaveOutcome> {
    const { store } = this.options;
    if (store.saveOrRead !== undefined) return store.saveOrRead(sessionKey, record, expected);
    return { saved: await store.save(sessionKey, record, expected) };
  }

  /** A refusal to store a new session saves nothing, now or later in the request. */
  private async admitNew(session: Session): Promise<void> {
    if (!(await session.mayStoreNew())) {
      this.report("rate-limited");
      throw new RateLimitedError();
    }
  }

  /**
   * Tells the instances' subscribers of a saved change. Not awaited: the change is saved whatever becomes of the
   * message, and the request need not wait for the engine to pass it on.
   */
  private tell(sessionKey: string, kind: SessionChangeKind, version: number): void {
    const { changes, onChangeNotSent } = this.options;
    if (changes === undefined) return;
    changes.publish({ topic: topicOf(sessionKey), kind, version }).catch((error) => onChangeNotSent?.(error));
  }

  private report(event: SessionEvent): void {
    this.options.onEvent?.(event);
  }

  private withLock<T>(session: Session, deadline: number, task: () => Promise<T>): Promise<T> {
    const lockKey =
      (session.loaded ? session.sessionKey : session.incomingKey) ?? this.unsavedLockKey(session);
    return this.locks.run(lockKey, deadline, monotonicNow, () => new StoreUnavailableError(), task);
  }

  /**
   * A session with no key yet still gets a lock of its own, so operations of one request that run in parallel
   * (a batch) take turns: the first creates the session and the others change it, instead of each creating one.
   */
  private unsavedLockKey(session: Session): string {
    let key = this.unsavedLockKeys.get(session);
    if (key === undefined) {
      key = `unsaved:${++this.unsavedSessions}`;
      this.unsavedLockKeys.set(session, key);
    }
    return key;
  }

  /** Marks the session failed on store trouble, so the response changes no cookie. */
  private async guard<T>(session: Session, task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } catch (error) {
      if (error instanceof SessionError && error.code !== "BAD_INPUT") session.failed = true;
      throw error;
    }
  }

  /** One store call, bounded by the operation's deadline; driver failures become StoreUnavailableError. */
  private async call<T>(deadline: number, operation: () => Promise<T>): Promise<T> {
    try {
      return await raceTimeout(operation(), deadline - monotonicNow(), () => new StoreUnavailableError());
    } catch (error) {
      if (error instanceof SessionError || error instanceof UnsupportedError) throw error;
      throw new StoreUnavailableError({ cause: error });
    }
  }

  private deadline(): number {
    return monotonicNow() + this.storeTimeoutMs;
  }
}

/** Longest user id a login takes: ids are the application's own, and every store indexes them. */
const MAX_USER_ID_LENGTH = 256;

function checkUserId(userId: string): void {
  if (typeof userId !== "string" || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
    throw new BadInputError(
      `userId must be a string of 1–${MAX_USER_ID_LENGTH} characters, got ${typeof userId === "string" ? `${userId.length} characters` : typeof userId}`,
    );
  }
}

function lastSeen(record: SessionRecord): number {
  return record.savedAtMs ?? record.createdAtMs ?? 0;
}

/** Whether `a` was used less recently than `b`; ties go by key, so every instance orders sessions alike. */
function usedBefore(a: StoredSession, b: StoredSession): boolean {
  const [seenA, seenB] = [lastSeen(a.record), lastSeen(b.record)];
  return seenA !== seenB ? seenA < seenB : a.sessionKey < b.sessionKey;
}

/** Throws VERSION_CONFLICT, with the version found, unless the session is at the version the change asked for. */
function checkVersion(session: Session, { ifVersion }: ChangeOptions): void {
  if (ifVersion !== undefined && session.version !== ifVersion)
    throw new VersionConflictError(session.version);
}
