import { type Client, createClient } from "graphql-ws";
import type { SessionFragment } from "./generated";
import { SessionClientError } from "./session-client-error";
import type { TokenKeeper } from "./token-keeper";

/**
 * A WebSocket class as graphql-ws constructs it (`new WebSocket(url, protocol)`): the browser's own, or, where
 * there is none (Node 20), the `ws` package's. Outside a browser the session cookie travels as a header of the
 * upgrade request, so the class must also take `{ headers }` as its third argument, as `ws` does.
 */
export type WebSocketClass = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => object;

/**
 * How a subscription ended on the server's side: "ended", the session ended (flushed, logged out, revoked,
 * emptied or expired, or there was none to follow) and the last `onChange` had the empty session; "completed",
 * the server stopped without ending the session, which is what a cycled key does (`cycleKey`, or a login):
 * subscribe again, now that the client holds the new key.
 */
export type LiveEnd = "ended" | "completed";

/** What a subscriber is told besides each session, and where it starts. */
export interface SubscribeOptions {
  /**
   * The version of the session the caller last read (`session()`, or any answer's `version`): a session already
   * past it is sent at once, so a change saved while the subscription was being set up is not missed. Without
   * it, the first event is the first change saved after the server has set the subscription up.
   */
  sinceVersion?: number;
  /** The subscription is over, and how; not called after `unsubscribe()` or an error. */
  onEnd?: (how: LiveEnd) => void;
  /** The subscription failed (a refused upgrade, a closed socket, a GraphQL error); nothing more follows. */
  onError?: (error: SessionClientError) => void;
}

/**
 * Stops the subscription and closes its WebSocket; calling it again, or after the end, does nothing. `done`
 * settles once it is over: with how it ended, "unsubscribed" after a call, or rejected with the error.
 */
export interface Unsubscribe {
  (): void;
  readonly done: Promise<LiveEnd | "unsubscribed">;
}

/** Where and how a subscription connects. */
export interface LiveSettings {
  /** The GraphQL-over-WebSocket endpoint. */
  url: string;
  /** The class the caller gave; undefined for the global one. */
  webSocketImpl: WebSocketClass | undefined;
  headers: Record<string, string> | undefined;
  keeper: TokenKeeper;
}

/**
 * The WebSocket endpoint for an HTTP one: the same address with ws: for http: and wss: for https:. A relative
 * `url` is resolved against the page's location, when there is a page.
 */
export function webSocketUrlOf(url: string): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  const target = new URL(url, base);
  if (target.protocol === "http:") target.protocol = "ws:";
  else if (target.protocol === "https:") target.protocol = "wss:";
  return target.toString();
}

/**
 * Opens one subscription to `sessionChanged` on a WebSocket of its own, so it always presents the key the
 * client holds now: a socket opened before a key cycle would go on presenting the old one.
 */
export function subscribeLive(
  settings: LiveSettings,
  query: string,
  onChange: (session: SessionFragment) => void,
  options: SubscribeOptions = {},
): Unsubscribe {
  const credentials = settings.keeper.socket(settings.headers);
  let lastSocketError: unknown;
  const client: Client = createClient({
    url: settings.url,
    webSocketImpl: webSocketClassFor(settings.webSocketImpl, credentials.headers),
    connectionParams: credentials.connectionParams,
    // One subscription, one socket: no reconnecting behind the caller's back with a key that may be stale.
    retryAttempts: 0,
    lazy: true,
    on: {
      error: (error) => {
        lastSocketError = error;
      },
    },
  });

  let settle: (how: LiveEnd | "unsubscribed") => void = () => {};
  let fail: (error: SessionClientError) => void = () => {};
  const done = new Promise<LiveEnd | "unsubscribed">((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  // `done` is there to be awaited if the caller wants; a failure it does not await is reported to onError.
  done.catch(() => {});

  let over = false;
  let lastWasEmpty = false;
  let stop: () => void = () => {};
  /** Marks the subscription over and closes its socket; false when it already was. */
  const finish = (): boolean => {
    if (over) return false;
    over = true;
    stop();
    void client.dispose();
    return true;
  };
  const failWith = (error: unknown) => {
    if (!finish()) return;
    const failure = liveError(error, lastSocketError);
    fail(failure);
    options.onError?.(failure);
  };
  const variables = options.sinceVersion === undefined ? {} : { sinceVersion: options.sinceVersion };
  stop = client.subscribe<{ sessionChanged: SessionFragment }>(
    { query, variables },
    {
      next(result) {
        if (over) return;
        // An error in a result (STORE_UNAVAILABLE, say) means changes may go unseen: the subscription is over.
        if (result.errors !== undefined && result.errors.length > 0) {
          failWith(result.errors);
          return;
        }
        const session = result.data?.sessionChanged;
        if (session === undefined) return;
        // A live session always has an id; the empty session (no id) is the one sent as it ends.
        lastWasEmpty = session.id === null;
        onChange(session);
      },
      error: failWith,
      complete() {
        if (!finish()) return;
        const how: LiveEnd = lastWasEmpty ? "ended" : "completed";
        settle(how);
        options.onEnd?.(how);
      },
    },
  );
  const unsubscribe = () => {
    if (finish()) settle("unsubscribed");
  };
  return Object.assign(unsubscribe, { done });
}

/**
 * The WebSocket class to open with: the given one (or, undefined, graphql-ws's default: the global one) as it is,
 * or, when the upgrade must carry headers (the cookie the client keeps outside a browser), a subclass of the
 * given one that passes them as `ws` takes them. The global one is never used for that: a standard WebSocket
 * takes no headers (Node 22's would drop them without a word).
 */
function webSocketClassFor(
  given: WebSocketClass | undefined,
  headers: Record<string, string> | undefined,
): WebSocketClass | undefined {
  if (headers === undefined) return given;
  if (given === undefined) {
    throw new SessionClientError(
      "subscribe needs the webSocketImpl option (e.g. the ws package's WebSocket) to send the session cookie outside a browser",
      { status: 0 },
    );
  }
  const Base = given as new (...args: unknown[]) => object;
  return class SessionWebSocket extends Base {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  };
}

/**
 * A SessionClientError for what graphql-ws reports: GraphQL errors (over an open socket, status 101), a close
 * event (its code and reason), or an Error. A refused upgrade shows only as a close with code 1006, so the
 * socket's own error, when it names the HTTP status ("Unexpected server response: 403" from ws), is used too.
 */
function liveError(error: unknown, socketError: unknown): SessionClientError {
  if (Array.isArray(error)) {
    const first = error[0] as { message?: unknown; extensions?: { code?: unknown } } | undefined;
    const code = first?.extensions?.code;
    return new SessionClientError(String(first?.message ?? "the subscription failed"), {
      code: typeof code === "string" ? code : undefined,
      status: 101,
    });
  }
  const socketMessage = messageOf(socketError);
  const refused = socketMessage?.match(/\b([1-5]\d\d)\b/);
  const status = refused ? Number(refused[1]) : 0;
  if (isCloseEvent(error)) {
    const reason = error.reason ? `: ${error.reason}` : "";
    const detail = socketMessage ? ` (${socketMessage})` : "";
    return new SessionClientError(`the WebSocket closed with code ${error.code}${reason}${detail}`, {
      status,
    });
  }
  return new SessionClientError(messageOf(error) ?? "the subscription failed", { status }, { cause: error });
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return (
    typeof value === "object" && value !== null && typeof (value as { code?: unknown }).code === "number"
  );
}

function messageOf(value: unknown): string | undefined {
  if (value instanceof Error) return value.message;
  const message = (value as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : undefined;
}
