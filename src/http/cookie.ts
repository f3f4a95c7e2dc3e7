import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import { parseCookie, stringifySetCookie } from "cookie";
import { LRUCache } from "lru-cache";
import type { CookieConfig } from "../config";
import { isWellFormedKey } from "../session/keys";
import type { Session } from "../session/session";

/** The base64url length of an HMAC-SHA256 (32 bytes). */
const SIGNATURE_LENGTH = 43;
const UNIX_EPOCH = new Date(0);
/** How many verified and issued cookie values are remembered: the visitors active at one time, roughly. */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Signs session keys with HMAC-SHA256: the first secret signs, every secret verifies, so secrets can be rotated
 * by putting a new one first and dropping the old one once its cookies have expired.
 */
export class CookieSigner {
  private readonly keys: readonly KeyObject[];
  /**
   * Values that passed the check, and the key each names. Verifying costs an HMAC per secret (about 4 µs, the
   * biggest single cost of a session read under `npm run bench`), and the same cookie comes back on every request
   * of a visit. Only verified values are kept, so forgeries cannot fill it, and a value's verdict never changes
   * while the process runs, since the secrets do not.
   */
  private readonly verified = new LRUCache<string, string>({ max: VERIFIED_CACHE_SIZE });
  /** The values issued lately, by key: every saving request of a visit sets the same cookie value again. */
  private readonly issued = new LRUCache<string, string>({ max: VERIFIED_CACHE_SIZE });

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error("at least one signing secret is needed");
    this.keys = secrets.map((secret) => createSecretKey(Buffer.from(secret, "utf8")));
  }

  /** The cookie value for `sessionKey`: `<key>.<signature>`. */
  sign(sessionKey: string): string {
    let value = this.issued.get(sessionKey);
    if (value === undefined) {
      value = `${sessionKey}.${this.mac(this.keys[0] as KeyObject, sessionKey).toString("base64url")}`;
      this.issued.set(sessionKey, value);
    }
    return value;
  }

  /** The session key a cookie value carries, or undefined when it is malformed or no secret signed it. */
  unsign(value: string): string | undefined {
    const known = this.verified.get(value);
    if (known !== undefined) return known;
    const dot = value.lastIndexOf(".");
    if (dot < 0 || value.length - dot - 1 !== SIGNATURE_LENGTH) return undefined;
    const sessionKey = value.slice(0, dot);
    if (!isWellFormedKey(sessionKey)) return undefined;
    // The signature's text is compared, not its decoded bytes: base64 decoding forgives other alphabets and stray
    // low bits, and only the exact text this server issued may name a session. Constant-time, so the response
    // time reveals nothing about how much of a forgery was right.
    const presented = Buffer.from(value.slice(dot + 1), "latin1");
    for (const key of this.keys) {
      const expected = Buffer.from(this.mac(key, sessionKey).toString("base64url"), "latin1");
      if (presented.length === expected.length && timingSafeEqual(presented, expected)) {
        this.verified.set(value, sessionKey);
        return sessionKey;
      }
    }
    return undefined;
  }

  private mac(key: KeyObject, sessionKey: string): Buffer {
    return createHmac("sha256", key).update(`sessionql:cookie:${sessionKey}`).digest();
  }
}

/** What the request's session cookie says: whether there was one, and the key it validly names. */
export interface IncomingSessionCookie {
  present: boolean;
  sessionKey: string | undefined;
}

/**
 * Reads the session cookie from a Cookie header; a forged or malformed value names no key. When the name comes
 * more than once (browsers send the cookie with the longest Path first, so a sibling subdomain can plant one in
 * front of ours), the first value this server signed wins, so garbage planted in front cannot hide the session.
 */
export function readSessionCookie(
  header: string | undefined,
  name: string,
  signer: CookieSigner,
): IncomingSessionCookie {
  if (!header) return { present: false, sessionKey: undefined };
  const first = parseCookie(header)[name];
  if (first === undefined) return { present: false, sessionKey: undefined };
  return { present: true, sessionKey: signer.unsign(first) ?? laterSignedValue(header, name, signer) };
}

/** The key of the first signed value among repeats of `name`; the cookie parser keeps only the first. */
function laterSignedValue(header: string, name: string, signer: CookieSigner): string | undefined {
  for (const pair of header.split(";")) {
    const value = parseCookie(pair)[name];
    const sessionKey = value === undefined ? undefined : signer.unsign(value);
    if (sessionKey !== undefined) return sessionKey;
  }
  return undefined;
}

/**
 * Reads the session from the header transport (SESSION_HEADER): the same signed value a cookie holds. An empty
 * header asks for the header transport without naming a session yet.
 */
export function readSessionHeader(
  value: string | string[] | undefined,
  signer: CookieSigner,
): IncomingSessionCookie {
  // Node joins a repeated header into one value with ", ", which fails the signature check like a forged one;
  // the array type only exists for Set-Cookie, but an ambiguous value must never pick one of its parts.
  if (Array.isArray(value)) return { present: true, sessionKey: undefined };
  if (!value) return { present: false, sessionKey: undefined };
  return { present: true, sessionKey: signer.unsign(value) };
}

/**
 * What the header transport answers, by the rules of the cookie: the signed (possibly new) key when a cookie
 * would be set, an empty value when one would be expired, nothing otherwise.
 */
export function sessionHeaderValue(session: Session, signer: CookieSigner): string | undefined {
  if (session.failed && !session.savedThisRequest) return undefined;
  if (shouldSetCookie(session)) return signer.sign(session.sessionKey as string);
  if (shouldClearCookie(session)) return "";
  return undefined;
}

/** A change saved a non-empty session: the browser gets its (possibly new) key. */
export function shouldSetCookie(session: Session): boolean {
  return session.savedThisRequest && session.sessionKey !== undefined;
}

/** The request carried a cookie that now names no live session (emptied, flushed, stale or forged). */
export function shouldClearCookie(session: Session): boolean {
  return session.accessed && session.arrivedWithCookie && session.loaded && session.sessionKey === undefined;
}

/**
 * The Set-Cookie headers the response needs, if any. Nothing changes after a store failure or an interrupted
 * change that saved nothing: the browser keeps what it had.
 */
export function sessionSetCookies(
  session: Session,
  config: CookieConfig,
  signer: CookieSigner,
  secure: boolean,
): string[] {
  if (session.failed && !session.savedThisRequest) return [];
  if (shouldSetCookie(session)) {
    const browserClose = session.getExpireAtBrowserClose();
    return [
      stringifySetCookie(config.name, signer.sign(session.sessionKey as string), {
        ...attributes(config, secure),
        maxAge: browserClose ? undefined : session.getExpiryAge(),
        expires: browserClose ? undefined : session.getExpiryDate(),
      }),
    ];
  }
  if (shouldClearCookie(session)) {
    return [
      stringifySetCookie(config.name, "", { ...attributes(config, secure), maxAge: 0, expires: UNIX_EPOCH }),
    ];
  }
  return [];
}

function attributes(config: CookieConfig, secure: boolean) {
  return {
    domain: config.domain,
    path: config.path,
    httpOnly: config.httpOnly,
    secure,
    sameSite: config.sameSite.toLowerCase() as "lax" | "strict" | "none",
  };
}
