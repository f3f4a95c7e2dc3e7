import type { SocketCredentials, TokenKeeper } from "./token-keeper";

/**
 * Keeps the token for a server run with SESSION_HEADER: the token travels in that request header, and an answer
 * carrying the same header replaces it, an empty value meaning the session ended. Across origins the server must
 * list the header in Access-Control-Expose-Headers, or the browser hides it from fetch.
 */
export class HeaderKeeper implements TokenKeeper {
  constructor(
    private readonly name: string,
    private current: string | undefined,
  ) {}

  get token(): string | undefined {
    return this.current;
  }

  attach(headers: Headers): void {
    // Sent even empty while no token is held: the header's presence is what picks the header transport, so the
    // first write answers with a token in the header rather than with a Set-Cookie.
    headers.set(this.name, this.current ?? "");
  }

  socket(): SocketCredentials {
    // A browser cannot put a header on a WebSocket, so the token travels in the connection params, under the
    // header's name. Without a token there is no session to follow, and nothing is sent.
    return this.current === undefined ? {} : { connectionParams: { [this.name]: this.current } };
  }

  absorb(response: Response): void {
    const value = response.headers.get(this.name);
    if (value !== null) this.current = value === "" ? undefined : value;
  }
}
