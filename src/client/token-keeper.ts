import { CookieKeeper } from "./cookie-keeper";
import { HeaderKeeper } from "./header-keeper";

/** Holds the session token between requests: puts it on each request and learns the new one from each answer. */
export interface TokenKeeper {
  /** The token held now; undefined when there is none (or when the browser holds it out of reach). */
  readonly token: string | undefined;
  /** Adds the token, if any, to an outgoing request's headers. */
  attach(headers: Headers): void;
  /** Applies what an answer says about the token: a new value, or the end of the session. */
  absorb(response: Response): void;
  /**
   * How a WebSocket opened now presents the token: headers for its upgrade request (only a WebSocket class that
   * takes headers, such as the `ws` package's, can send them), or graphql-ws connection params.
   */
  socket(headers: Record<string, string> | undefined): SocketCredentials;
}

/** What a WebSocket carries the session token in. */
export interface SocketCredentials {
  /** Headers for the upgrade request; undefined when it needs none of its own. */
  headers?: Record<string, string>;
  /** graphql-ws's `connectionParams`; undefined when the token does not travel there. */
  connectionParams?: Record<string, string>;
}

/** How the session token travels: the session cookie, or a request and response header of the given name. */
export type SessionTransport = "cookie" | { header: string };

/**
 * A browser keeps the session cookie itself, HttpOnly and out of the page's reach, and sends it as `credentials`
 * allows; a Cookie header set by hand would be dropped anyway. So in a browser the client keeps nothing.
 */
const BROWSER_KEEPS_THE_COOKIE: TokenKeeper = {
  token: undefined,
  attach() {},
  absorb() {},
  // The browser's own WebSocket sends the cookie with the upgrade, as it does with a fetch.
  socket: () => ({}),
};

/** The keeper for a transport; `initialToken` is a token persisted from an earlier client. */
export function createTokenKeeper(
  transport: SessionTransport,
  cookieName: string,
  initialToken: string | undefined,
): TokenKeeper {
  if (transport !== "cookie") return new HeaderKeeper(transport.header, initialToken);
  // Outside a browser (Node, Deno, server-side rendering) fetch keeps no cookies, so the client must.
  if ("document" in globalThis) return BROWSER_KEEPS_THE_COOKIE;
  return new CookieKeeper(cookieName, initialToken);
}
