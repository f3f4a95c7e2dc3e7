import type { RequestSession } from "../http/request-session";
import type { Session } from "../session/session";
import type { SessionData } from "../session/store";
import { codedErrors as coded } from "./errors";
import { sessionChanges } from "./session-changes";

/** What `sessions.context()` gives the application's context: spread it in, or put it in a context type. */
export interface SessionContext {
  session: SessionHandle;
}

/**
 * The synchronous session methods a {@link SessionHandle.modify} callback gets: changes to one draft, saved
 * together. The callback may run again on a fresh copy when another request saved first, so it must only change
 * the draft (no other side effects).
 */
export type SessionDraft = Pick<
  Session,
  | "get"
  | "has"
  | "keys"
  | "items"
  | "isEmpty"
  | "set"
  | "setDefault"
  | "pop"
  | "update"
  | "clear"
  | "setExpiry"
>;

/** How a write is applied. */
export interface WriteOptions {
  /** Apply only while the stored version is still this one (0: only while no session is stored); otherwise
   * VERSION_CONFLICT, with the current version in `extensions.version`, and nothing changes. */
  ifVersion?: number;
}

/** How `set` and `setDefault` store an entry. */
export interface SetOptions extends WriteOptions {
  /** Seconds (≥ 1) after which the entry disappears by itself (flash messages, one-time codes). */
  expiresIn?: number;
}

/** Where the GraphQL layer finds the request behind a handle; not part of the package's API. */
export const REQUEST_SESSION: unique symbol = Symbol("sessionql.requestSession");

/**
 * `context.session`: Django's session API for the application's resolvers. The session loads on first use, and
 * each change is saved, with the version check, before its promise resolves; limits and failures are thrown as
 * GraphQL errors whose `extensions.code` is the contract's (`BAD_USER_INPUT`, `STORE_UNAVAILABLE`, …). Private
 * keys are ordinary keys here: only the GraphQL operations hide them.
 */
export class SessionHandle {
  readonly [REQUEST_SESSION]: RequestSession;

  constructor(request: RequestSession) {
    this[REQUEST_SESSION] = request;
  }

  /** The value under `key`, or `defaultValue` (null) when there is none. */
  get(key: string, defaultValue: unknown = null): Promise<unknown> {
    return this.read((session) => session.get(key, defaultValue));
  }

  /** Whether `key` holds a value. */
  has(key: string): Promise<boolean> {
    return this.read((session) => session.has(key));
  }

  /** Every key, in insertion order. */
  keys(): Promise<string[]> {
    return this.read((session) => session.keys());
  }

  /** A copy of every entry. */
  items(): Promise<SessionData> {
    return this.read((session) => session.items());
  }

  /** Whether the session holds no entries. */
  isEmpty(): Promise<boolean> {
    return this.read((session) => session.isEmpty());
  }

  /** Seconds until the session expires (the cookie age for a browser-close session). */
  expiryAge(): Promise<number> {
    return this.read((session) => session.getExpiryAge());
  }

  /** When the session expires if nothing changes it. */
  expiryDate(): Promise<Date> {
    return this.read((session) => session.getExpiryDate());
  }

  /** Whether the session ends when the browser closes. */
  expireAtBrowserClose(): Promise<boolean> {
    return this.read((session) => session.getExpireAtBrowserClose());
  }

  /** When the entry under `key` ends by itself (set with `expiresIn`); null when it has no expiry or is absent. */
  keyExpiresAt(key: string): Promise<Date | null> {
    return this.read((session) => session.keyExpiresAt(key));
  }

  /** When the session was first stored; null until then. */
  createdAt(): Promise<Date | null> {
    return this.read((session) => (session.createdAtMs === undefined ? null : new Date(session.createdAtMs)));
  }

  /** The session's public, non-secret id (as `Session.id` shows it), or null while nothing is stored. */
  id(): Promise<string | null> {
    return this.read(() => this[REQUEST_SESSION].publicId());
  }

  /** Stores `value` under `key`; with `expiresIn`, the entry disappears by itself after that many seconds. */
  async set(key: string, value: unknown, options: SetOptions = {}): Promise<void> {
    await this.modify((draft) => draft.set(key, value, options.expiresIn), options);
  }

  /** The value under `key`; when there is none, stores `value` there first (Django's setdefault). */
  async setDefault(key: string, value: unknown, options: SetOptions = {}): Promise<unknown> {
    return (await this.modify((draft) => draft.setDefault(key, value, options.expiresIn), options)).value;
  }

  /** Removes `key`: whether it was there, and what it held (`defaultValue`, null, when absent). */
  pop(
    key: string,
    defaultValue: unknown = null,
    options: WriteOptions = {},
  ): Promise<{ found: boolean; value: unknown }> {
    return this.modify((draft) => draft.pop(key, defaultValue), options);
  }

  /** Stores every entry of `values`, or none when one breaks a limit. */
  async update(values: SessionData, options: WriteOptions = {}): Promise<void> {
    await this.modify((draft) => draft.update(values), options);
  }

  /** Removes every entry; an empty session is deleted and its cookie expired. */
  async clear(options: WriteOptions = {}): Promise<void> {
    await this.modify((draft) => draft.clear(), options);
  }

  /**
   * The expiry: seconds of inactivity (> 0), 0 for browser close, a Date for a fixed end that activity does not
   * move, or null for the default policy.
   */
  async setExpiry(expiry: number | Date | null, options: WriteOptions = {}): Promise<void> {
    await this.modify((draft) => draft.setExpiry(expiry), options);
  }

  /**
   * Logs the session in as `userId`, as Django's `login()` does: a session of another user is emptied first, then
   * the key is cycled (against session fixation) and the session recorded under the user, with the User-Agent
   * (the request's own unless given), so that `sessions.userSessions` lists it and `revokeUserSessions` ends it.
   */
  async login(userId: string, options: { userAgent?: string } = {}): Promise<void> {
    const request = this[REQUEST_SESSION];
    const userAgent = options.userAgent ?? request.userAgent();
    await coded(() => request.layer.sessions.login(request.session, userId, { userAgent }));
  }

  /** Logs out: deletes the session and its data and expires the cookie (Django's `logout()` flushes). */
  async logout(): Promise<void> {
    await this.flush();
  }

  /** The user the session is logged in as, or null. */
  userId(): Promise<string | null> {
    return this.read((session) => session.userId ?? null);
  }

  /** Deletes the session and its data and expires the cookie (logout). */
  async flush(options: WriteOptions = {}): Promise<void> {
    const { layer, session } = this[REQUEST_SESSION];
    await coded(() => layer.sessions.flush(session, options));
  }

  /** Keeps the data under a new session key; the old key stops working (call it on login). */
  async cycleKey(options: WriteOptions = {}): Promise<void> {
    const { layer, session } = this[REQUEST_SESSION];
    await coded(() => layer.sessions.cycleKey(session, options));
  }

  /**
   * The session after each saved change, from any request on any instance, for a subscription of the
   * application's own (`subscribe: (_, __, { session }) => session.changes()`): each value is a context whose
   * `session` shows the new state. It ends, after an empty state, when the session ends, and without one when its
   * key is cycled; it throws STORE_UNAVAILABLE when changes can no longer be followed. With `sinceVersion` (the
   * version the client last read), a session already past it is sent at once.
   */
  changes(): AsyncIterable<SessionContext> {
    return mapAsync(sessionChanges(this[REQUEST_SESSION]), (shown) => ({
      session: new SessionHandle(shown),
    }));
  }

  /**
   * Makes several changes in one save: `mutate` changes the draft, and everything it did is saved together, or
   * nothing when it throws or a limit is broken. Resolves to what `mutate` returned.
   */
  modify<T>(mutate: (draft: SessionDraft) => T, options: WriteOptions = {}): Promise<T> {
    const { layer, session } = this[REQUEST_SESSION];
    return coded(() => layer.sessions.change(session, mutate, options));
  }

  private async read<T>(answer: (session: Session) => T): Promise<T> {
    const { layer, session } = this[REQUEST_SESSION];
    return coded(async () => answer(await layer.sessions.read(session)));
  }
}

/** `source` with `map` applied to each value; returning from it returns from the source (stops following). */
function mapAsync<T, U>(source: AsyncIterable<T>, map: (value: T) => U): AsyncIterable<U> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      return {
        async next() {
          const step = await iterator.next();
          return step.done ? { done: true, value: undefined } : { done: false, value: map(step.value) };
        },
        async return() {
          await iterator.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
