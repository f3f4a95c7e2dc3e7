import type { CookieConfig } from "../config";
import type { LiveSessions } from "../session/live-sessions";
import type { SessionService } from "../session/service";
import type { Session } from "../session/session";
import {
  type CookieSigner,
  readSessionCookie,
  readSessionHeader,
  sessionHeaderValue,
  sessionSetCookies,
} from "./cookie";
import type { CreationLimit } from "./creation-limit";
import type { HttpExchange } from "./exchange";

/** What every request of one `createSessions()` shares: the service and the rules for cookies and headers. */
export interface SessionLayer {
  readonly sessions: SessionService;
  readonly signer: CookieSigner;
  readonly cookie: CookieConfig;
  /** The header transport's header as configured (the response writes this spelling); off when undefined. */
  readonly sessionHeader: string | undefined;
  /** The same name in lower case, as request headers are keyed. */
  readonly sessionHeaderField: string | undefined;
  /** Admits new sessions per client address; undefined when off. */
  readonly creationLimit: CreationLimit | undefined;
  /** Keys only the application's own code may see or change; undefined when every key is public. */
  readonly privateKeyPrefix: string | undefined;
  /** Follows sessions for the `sessionChanged` subscription. */
  readonly live: LiveSessions;
}

/** Told when a step after the operation failed without failing the response. */
export type WarningLog = (error: unknown, message: string) => void;

/**
 * The session of one HTTP request: read from the cookie (or the session header) when the request arrives, and
 * written back on the framework's response once the last operation of the request has ended.
 */
export class RequestSession {
  /** The caller's session; the store is read only when an operation first needs it. */
  readonly session: Session;
  /** How this request carried its session, and so how the answer carries it back. */
  readonly transport: "cookie" | "header";
  /** Operations of this request still running: a batch runs several on one session, and answers once. */
  private operationsRunning = 0;

  constructor(
    readonly layer: SessionLayer,
    private readonly exchange: HttpExchange,
    shown?: { session: Session; transport: "cookie" | "header" },
  ) {
    if (shown !== undefined) {
      this.session = shown.session;
      this.transport = shown.transport;
      return;
    }
    const headers = exchange.requestHeaders;
    const field = layer.sessionHeaderField;
    // Sending the header at all, even empty, picks the header transport; then the cookie is not consulted.
    this.transport = field !== undefined && field in headers ? "header" : "cookie";
    const incoming =
      this.transport === "header"
        ? readSessionHeader(headers[field as string], layer.signer)
        : readSessionCookie(headers.cookie as string | undefined, layer.cookie.name, layer.signer);
    const { creationLimit } = layer;
    this.session = layer.sessions.open(
      incoming.sessionKey,
      incoming.present,
      creationLimit && (() => creationLimit(exchange.clientAddress())),
    );
  }

  /** The same request showing another state of its session: a live session's next event. */
  showing(session: Session): RequestSession {
    return new RequestSession(this.layer, this.exchange, { session, transport: this.transport });
  }

  /** The session's public id, or null while nothing is stored. */
  publicId(): string | null {
    return this.layer.sessions.publicId(this.session);
  }

  /** The request's User-Agent header, if it sent one. */
  userAgent(): string | undefined {
    const value = this.exchange.requestHeaders["user-agent"];
    return Array.isArray(value) ? value[0] : value;
  }

  /** Notes that one more operation of this request runs on the session. */
  operationStarted(): void {
    this.operationsRunning++;
  }

  /**
   * Notes that an operation ended; after the last one, re-saves the session when every request must and writes
   * the cookie (or header) on the framework's response. `apolloHeaders` are the headers Apollo is about to copy
   * onto that response, which replace any of the same name already there.
   */
  async operationEnded(apolloHeaders: Map<string, string>, warn: WarningLog): Promise<void> {
    // Apollo calls every plugin's willSendResponse in one loop; waiting a tick lets the application's plugins
    // listed after sessionql's put their Set-Cookie in the map first, so it is moved too.
    await Promise.resolve();
    keepApplicationCookie(apolloHeaders, this.exchange);
    if (--this.operationsRunning > 0) return;
    const { session, layer, exchange } = this;
    if (!session.accessed) return;
    try {
      await layer.sessions.finish(session);
    } catch (error) {
      // The operation itself succeeded; a failed expiry refresh only means the cookie is not renewed.
      warn(error, "could not refresh the session expiry");
    }
    if (this.transport === "header") {
      const token = sessionHeaderValue(session, layer.signer);
      if (token !== undefined) exchange.setHeader(layer.sessionHeader as string, token);
      varyOn(apolloHeaders, exchange, [layer.sessionHeader as string]);
      return;
    }
    const secure = layer.cookie.secure || exchange.isHttps();
    const cookies = sessionSetCookies(session, layer.cookie, layer.signer, secure);
    if (cookies.length > 0) exchange.appendSetCookies(cookies);
    varyOn(
      apolloHeaders,
      exchange,
      layer.sessionHeader === undefined ? ["Cookie"] : ["Cookie", layer.sessionHeader],
    );
  }
}

/**
 * Apollo's header map holds one value per name, and the integrations copy it onto the response with a call that
 * replaces what is there (apollo-server issue 7372). A Set-Cookie an application put in the map is moved onto the
 * response instead, beside the session's and any its framework code set.
 */
function keepApplicationCookie(apolloHeaders: Map<string, string>, exchange: HttpExchange): void {
  const cookie = apolloHeaders.get("set-cookie");
  if (cookie === undefined) return;
  apolloHeaders.delete("set-cookie");
  exchange.appendSetCookies([cookie]);
}

/**
 * The answer depends on the session, so no shared cache may serve it to another visitor. The merged field list
 * goes into Apollo's map, whose `vary` replaces the response's on the way out, so it keeps the fields a
 * middleware (CORS, compression) already put on the response and those Apollo itself added.
 */
function varyOn(apolloHeaders: Map<string, string>, exchange: HttpExchange, fields: readonly string[]): void {
  const merged: string[] = [];
  const seen = new Set<string>();
  const add = (field: string) => {
    const name = field.trim();
    if (name !== "" && !seen.has(name.toLowerCase())) {
      seen.add(name.toLowerCase());
      merged.push(name);
    }
  };
  for (const text of [exchange.getHeader("vary"), apolloHeaders.get("vary")]) {
    if (text !== undefined) for (const field of text.split(",")) add(field);
  }
  for (const field of fields) add(field);
  apolloHeaders.set("vary", merged.join(", "));
}
