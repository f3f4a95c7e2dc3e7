import { parseSetCookie, type SetCookie, stringifyCookie } from "cookie";
import type { SocketCredentials, TokenKeeper } from "./token-keeper";

/**
 * Keeps one cookie the way a browser would, for clients where fetch keeps none. Domain and Path are not
 * checked: the client only ever talks to the one endpoint that set the cookie.
 */
export class CookieKeeper implements TokenKeeper {
  constructor(
    private readonly name: string,
    private current: string | undefined,
  ) {}

  get token(): string | undefined {
    return this.current;
  }

  attach(headers: Headers): void {
    if (this.current === undefined) return;
    const ours = stringifyCookie({ [this.name]: this.current });
    // Cookies the caller put in its own `headers` option travel alongside the session cookie.
    const theirs = headers.get("cookie");
    headers.set("cookie", theirs ? `${theirs}; ${ours}` : ours);
  }

  socket(headers: Record<string, string> | undefined): SocketCredentials {
    // The upgrade request carries the same Cookie header a fetch would: the caller's cookies, then the session's.
    const upgrade = new Headers(headers);
    this.attach(upgrade);
    const cookie = upgrade.get("cookie");
    return cookie === null ? {} : { headers: { cookie } };
  }

  absorb(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const cookie = parseSetCookie(header);
      if (cookie.name !== this.name) continue;
      this.current = removesCookie(cookie, Date.now()) ? undefined : cookie.value;
    }
  }
}

/**
 * Whether a Set-Cookie expires the cookie rather than storing it. Max-Age wins over Expires when both are
 * present (RFC 6265, section 5.3), and an empty value names no session whatever its attributes say.
 */
export function removesCookie(cookie: SetCookie, nowMs: number): boolean {
  if (!cookie.value) return true;
  if (cookie.maxAge !== undefined) return cookie.maxAge <= 0;
  return cookie.expires !== undefined && cookie.expires.getTime() <= nowMs;
}
