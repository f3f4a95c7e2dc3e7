import { createExecute, printOperation } from "./execute";
import {
  ClearSessionDocument,
  CycleSessionKeyDocument,
  FlushSessionDocument,
  GetSessionDocument,
  GetSessionValueDocument,
  MySessionsDocument,
  type MySessionsQuery,
  PopSessionDocument,
  RevokeOtherSessionsDocument,
  RevokeSessionDocument,
  SessionChangedDocument,
  type SessionFragment,
  SetSessionDefaultDocument,
  SetSessionDocument,
  SetSessionExpiryDocument,
  UpdateSessionDocument,
} from "./generated";
import {
  type SubscribeOptions,
  subscribeLive,
  type Unsubscribe,
  type WebSocketClass,
  webSocketUrlOf,
} from "./live";
import { createTokenKeeper, type SessionTransport } from "./token-keeper";

/** The session as every operation answers it: the generated `Session` fragment. */
export type SessionSnapshot = SessionFragment;

/** One live session of the logged-in user, as `mySessions` lists it. */
export type UserSessionInfo = MySessionsQuery["mySessions"][number];

/** Where the server is and how the session key travels to it. */
export interface SessionClientOptions {
  /** The GraphQL endpoint, e.g. "http://127.0.0.1:4000/graphql". */
  url: string;
  /** Defaults to globalThis.fetch. */
  fetch?: typeof fetch;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /**
   * How the session key travels. "cookie" (default): in a browser the browser keeps the cookie (pass
   * `credentials: "include"` for another origin); outside a browser the client keeps the session cookie itself.
   * `{ header: "X-Session-Token" }`, for a server run with SESSION_HEADER=X-Session-Token: the client sends the
   * token it holds in that request header (empty while it holds none) and takes the new one from the same
   * response header, where an empty value means the session ended.
   */
  transport?: SessionTransport;
  /** The session cookie's name, when the client keeps the cookie itself; defaults to "sessionid". */
  cookieName?: string;
  /**
   * The token to start with: one kept from an earlier client's `token`. Ignored in a browser on the cookie
   * transport, where the browser holds the cookie.
   */
  token?: string;
  credentials?: RequestInit["credentials"];
  /**
   * The GraphQL-over-WebSocket endpoint `subscribe` connects to; defaults to `url` with ws: for http: and wss: for
   * https: (a relative `url` is resolved against the page's location).
   */
  wsUrl?: string;
  /**
   * The WebSocket class `subscribe` opens with; defaults to the global one. Node 20 has none: pass the `ws`
   * package's `WebSocket`, which also lets the client send the session cookie it keeps with the upgrade.
   */
  webSocketImpl?: WebSocketClass;
}

/** How a change is applied. */
export interface WriteOptions {
  /**
   * Apply only while the session is still at this version (the `version` you last read; 0 = no session yet).
   * Otherwise the call throws a SessionClientError with code "VERSION_CONFLICT" and the current `version`, and
   * nothing changes: another tab or device wrote first.
   */
  ifVersion?: number;
}

/** How `set` and `setDefault` store an entry. */
export interface SetOptions extends WriteOptions {
  /** Seconds (≥ 1) after which the entry disappears by itself: flash messages, one-time codes. */
  expiresIn?: number;
}

/** The visitor's session on a sessionql server, with Django's methods; each call is one request. */
export interface SessionClient {
  session(): Promise<SessionSnapshot>;
  get<T = unknown>(key: string, defaultValue?: T): Promise<T | undefined>;
  has(key: string): Promise<boolean>;
  set(key: string, value: unknown, options?: SetOptions): Promise<SessionSnapshot>;
  /** Stores `value` unless `key` holds one (Django's setdefault): whether it did, and the value now stored. */
  setDefault<T = unknown>(
    key: string,
    value: T,
    options?: SetOptions,
  ): Promise<{ found: boolean; value: T; session: SessionSnapshot }>;
  pop<T = unknown>(
    key: string,
    defaultValue?: T,
    options?: WriteOptions,
  ): Promise<{ found: boolean; value: T | undefined; session: SessionSnapshot }>;
  update(values: Record<string, unknown>, options?: WriteOptions): Promise<SessionSnapshot>;
  clear(options?: WriteOptions): Promise<SessionSnapshot>;
  flush(options?: WriteOptions): Promise<SessionSnapshot>;
  cycleKey(options?: WriteOptions): Promise<SessionSnapshot>;
  /**
   * Seconds of inactivity before expiry; 0 ends the session with the browser; a Date ends it at that moment
   * whatever its activity; null restores the server's default policy.
   */
  setExpiry(expiry: number | Date | null, options?: WriteOptions): Promise<SessionSnapshot>;
  /** Every live session of the user this session is logged in as, newest first; [] when not logged in. */
  mySessions(): Promise<UserSessionInfo[]>;
  /** Ends one session of the logged-in user by its id; false when the user has no such session. */
  revokeSession(id: string): Promise<boolean>;
  /** Ends every session of the logged-in user but this one; how many ended. */
  revokeOtherSessions(): Promise<number>;
  /**
   * Follows the session live (`sessionChanged` over graphql-ws): `onChange` gets the session as it now is after
   * every saved change, from any tab, device or instance. When the session ends (flush, logout, revoke, expiry)
   * `onChange` gets the empty session (id null), then `onEnd("ended")`. Cycling the key (`cycleKey`, a login)
   * completes it without an event, `onEnd("completed")`: subscribe again once the request that cycled it has
   * answered, so the new key is the one presented. Each subscription has a WebSocket of its own and presents the
   * key the client holds when it is opened; without one it gets the empty session and ends at once. Pass the
   * version last read as `sinceVersion` so that a change saved meanwhile is sent at once.
   */
  subscribe(onChange: (session: SessionSnapshot) => void, options?: SubscribeOptions): Unsubscribe;
  /** The token/cookie value the client currently holds (undefined when none); for the header transport, to persist it. */
  readonly token: string | undefined;
}

// Printed once, when the module loads, rather than on every call.
const OPERATIONS = {
  getSession: printOperation(GetSessionDocument),
  getSessionValue: printOperation(GetSessionValueDocument),
  setSession: printOperation(SetSessionDocument),
  setSessionDefault: printOperation(SetSessionDefaultDocument),
  popSession: printOperation(PopSessionDocument),
  updateSession: printOperation(UpdateSessionDocument),
  clearSession: printOperation(ClearSessionDocument),
  flushSession: printOperation(FlushSessionDocument),
  cycleSessionKey: printOperation(CycleSessionKeyDocument),
  setSessionExpiry: printOperation(SetSessionExpiryDocument),
  mySessions: printOperation(MySessionsDocument),
  revokeSession: printOperation(RevokeSessionDocument),
  revokeOtherSessions: printOperation(RevokeOtherSessionsDocument),
  sessionChanged: printOperation(SessionChangedDocument),
};

/** A client for the session at `options.url`. */
export function createSessionClient(options: SessionClientOptions): SessionClient {
  const keeper = createTokenKeeper(
    options.transport ?? "cookie",
    options.cookieName ?? "sessionid",
    options.token,
  );
  const execute = createExecute({
    url: options.url,
    fetch: options.fetch ?? globalThis.fetch,
    headers: options.headers,
    credentials: options.credentials,
    keeper,
  });
  // Defaults never travel: an absent key answers with the caller's own default, untouched by a JSON round trip.
  // Values are cast to T because the server stores JSON and cannot vouch for the caller's type.
  return {
    get token() {
      return keeper.token;
    },
    subscribe: (onChange, subscribeOptions) =>
      subscribeLive(
        {
          url: options.wsUrl ?? webSocketUrlOf(options.url),
          webSocketImpl: options.webSocketImpl,
          headers: options.headers,
          keeper,
        },
        OPERATIONS.sessionChanged.query,
        onChange,
        subscribeOptions,
      ),
    session: async () => (await execute(OPERATIONS.getSession, {})).session,
    async get<T>(key: string, defaultValue?: T) {
      const { session } = await execute(OPERATIONS.getSessionValue, { key });
      return session.has ? (session.value as T) : defaultValue;
    },
    has: async (key) => (await execute(OPERATIONS.getSessionValue, { key })).session.has,
    set: async (key, value, options = {}) =>
      (await execute(OPERATIONS.setSession, { key, value, ...options })).setSession,
    async setDefault<T>(key: string, value: T, options: SetOptions = {}) {
      const answer = (await execute(OPERATIONS.setSessionDefault, { key, value, ...options }))
        .setSessionDefault;
      return { found: answer.found, value: answer.value as T, session: answer.session };
    },
    async pop<T>(key: string, defaultValue?: T, options: WriteOptions = {}) {
      const { found, value, session } = (await execute(OPERATIONS.popSession, { key, ...options }))
        .popSession;
      return { found, value: found ? (value as T) : defaultValue, session };
    },
    update: async (values, options = {}) =>
      (await execute(OPERATIONS.updateSession, { values, ...options })).updateSession,
    clear: async (options = {}) => (await execute(OPERATIONS.clearSession, { ...options })).clearSession,
    flush: async (options = {}) => (await execute(OPERATIONS.flushSession, { ...options })).flushSession,
    cycleKey: async (options = {}) =>
      (await execute(OPERATIONS.cycleSessionKey, { ...options })).cycleSessionKey,
    mySessions: async () => (await execute(OPERATIONS.mySessions, {})).mySessions,
    revokeSession: async (id) => (await execute(OPERATIONS.revokeSession, { id })).revokeSession,
    revokeOtherSessions: async () => (await execute(OPERATIONS.revokeOtherSessions, {})).revokeOtherSessions,
    setExpiry: async (expiry, options = {}) =>
      (
        await execute(
          OPERATIONS.setSessionExpiry,
          expiry instanceof Date ? { at: expiry.toISOString(), ...options } : { seconds: expiry, ...options },
        )
      ).setSessionExpiry,
  };
}
