import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from "fastify";
import type { CookieConfig } from "../config";
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

/** What every resolver gets: the caller's session (loaded on first use) and the service that changes it. */
export interface RequestContext {
  session: Session;
  sessions: SessionService;
  /** How this request carried its session, and so how the answer carries it back. */
  transport: "cookie" | "header";
  /** The request's logger: its lines carry the request id. */
  log: FastifyBaseLogger;
}

/** What the context factory and the response step need. */
export interface SessionHttpOptions {
  sessions: SessionService;
  signer: CookieSigner;
  cookie: CookieConfig;
  /** The header transport's header name, when SESSION_HEADER turns it on. */
  sessionHeader: string | undefined;
  /** Admits new sessions per client address (`request.ip`, which honours TRUST_PROXY); none when off. */
  creationLimit: CreationLimit | undefined;
  trustProxy: boolean;
}

/** Builds each request's context: verifies the cookie, but reads nothing from the store until asked. */
export function createContextFactory(
  options: SessionHttpOptions,
): (request: FastifyRequest) => RequestContext {
  // Node gives header names in lower case.
  const header = options.sessionHeader?.toLowerCase();
  const { creationLimit } = options;
  return (request) => {
    // Sending the header at all, even empty, picks the header transport; then the cookie is not consulted.
    const transport = header !== undefined && header in request.headers ? "header" : "cookie";
    const incoming =
      transport === "header"
        ? readSessionHeader(request.headers[header as string], options.signer)
        : readSessionCookie(request.headers.cookie, options.cookie.name, options.signer);
    return {
      session: options.sessions.open(
        incoming.sessionKey,
        incoming.present,
        creationLimit && (() => creationLimit(request.ip)),
      ),
      sessions: options.sessions,
      transport,
      log: request.log,
    };
  };
}

/**
 * Runs once the operation is done, before the response leaves: re-saves the session when every request
 * must, then writes the cookie on the fastify reply. Apollo's header map would join several Set-Cookie values
 * with commas into one header that browsers cannot parse, so cookies never go through it.
 */
export async function writeSessionHeaders(
  context: RequestContext,
  request: FastifyRequest,
  reply: FastifyReply,
  options: SessionHttpOptions,
): Promise<void> {
  const { session } = context;
  if (!session.accessed) return;
  try {
    await options.sessions.finish(session);
  } catch (error) {
    // The operation itself succeeded; a failed expiry refresh only means the cookie is not renewed.
    request.log.warn({ err: error }, "could not refresh the session expiry");
  }
  if (context.transport === "header") {
    const token = sessionHeaderValue(session, options.signer);
    if (token !== undefined) reply.header(options.sessionHeader as string, token);
    addVary(reply, options.sessionHeader as string);
    return;
  }
  const secure = options.cookie.secure || (options.trustProxy && request.protocol === "https");
  for (const setCookie of sessionSetCookies(session, options.cookie, options.signer, secure)) {
    reply.header("set-cookie", setCookie);
  }
  addVary(reply, "Cookie");
  if (options.sessionHeader !== undefined) addVary(reply, options.sessionHeader);
}

/** The answer depends on the session, so no shared cache may serve it to another visitor. */
function addVary(reply: FastifyReply, field: string): void {
  const vary = reply.getHeader("vary");
  if (vary === undefined) reply.header("vary", field);
  else if (
    !String(vary)
      .toLowerCase()
      .split(/\s*,\s*/)
      .includes(field.toLowerCase())
  ) {
    reply.header("vary", `${vary}, ${field}`);
  }
}
