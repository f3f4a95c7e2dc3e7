import { parseSetCookie, type SetCookie } from "cookie";

/** Every Set-Cookie header of a response, one entry each. */
export function setCookiesOf(res: Response): string[] {
  return res.headers.getSetCookie();
}

/** Asserts the response sets a live session cookie and returns it parsed. */
export function expectSessionCookie(res: Response, name = "sessionid"): SetCookie {
  const cookies = setCookiesOf(res).map((header) => parseSetCookie(header));
  const cookie = cookies.find((candidate) => candidate.name === name);
  expect(cookie).toBeDefined();
  expect(cookie?.value).toBeTruthy();
  expect(cookie?.maxAge).not.toBe(0);
  return cookie as SetCookie;
}

/** Asserts the response expires the session cookie (Max-Age=0, Expires in 1970) and returns it parsed. */
export function expectCookieCleared(res: Response, name = "sessionid"): SetCookie {
  const cookies = setCookiesOf(res).map((header) => parseSetCookie(header));
  const cookie = cookies.find((candidate) => candidate.name === name);
  expect(cookie).toBeDefined();
  expect(cookie?.value).toBe("");
  expect(cookie?.maxAge).toBe(0);
  expect(cookie?.expires?.getTime()).toBe(0);
  return cookie as SetCookie;
}

/** Asserts the response sets no cookie at all. */
export function expectNoSetCookie(res: Response): void {
  expect(setCookiesOf(res)).toEqual([]);
}

/** A minimal browser-like cookie jar for one origin: keeps what Set-Cookie says, drops what it expires. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** The Cookie header to send, if any. */
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  /** The value of one cookie. */
  get(name = "sessionid"): string | undefined {
    return this.cookies.get(name);
  }

  /** Puts a cookie in by hand (to present a forged or stale one). */
  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  /** Applies a response's Set-Cookie headers. */
  update(res: Response): void {
    for (const header of setCookiesOf(res)) {
      const cookie = parseSetCookie(header);
      if (cookie.maxAge === 0 || cookie.value === "") this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value ?? "");
    }
  }
}
