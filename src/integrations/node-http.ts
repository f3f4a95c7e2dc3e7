import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { type HttpExchange, headerText, type RequestHeaders } from "../http/exchange";

/** What `startStandaloneServer` (and `expressMiddleware`) give a context function. */
export interface NodeHttpContextArgument {
  req: IncomingMessage;
  res: ServerResponse;
}

/**
 * A plain Node request and response, as `startStandaloneServer` serves them. Node's `setHeader` replaces a
 * header, so Set-Cookie values are read back and written as one array with ours added. There is no proxy
 * setting here: the address and protocol are the socket's own.
 */
export class NodeHttpExchange implements HttpExchange {
  constructor(
    protected readonly req: IncomingMessage,
    protected readonly res: ServerResponse,
  ) {}

  get requestHeaders(): RequestHeaders {
    return this.req.headers;
  }

  clientAddress(): string {
    return this.req.socket.remoteAddress ?? "";
  }

  isHttps(): boolean {
    return (this.req.socket as TLSSocket).encrypted === true;
  }

  appendSetCookies(values: readonly string[]): void {
    const present = this.res.getHeader("set-cookie");
    const kept = present === undefined ? [] : Array.isArray(present) ? present : [String(present)];
    this.res.setHeader("set-cookie", [...kept, ...values]);
  }

  setHeader(name: string, value: string): void {
    this.res.setHeader(name, value);
  }

  getHeader(name: string): string | undefined {
    return headerText(this.res.getHeader(name));
  }
}

/** What a WebSocket server's context function takes: the upgrade request, and the client's connection params. */
export interface UpgradeContextArgument {
  req: IncomingMessage;
  res?: undefined;
  /** graphql-ws's `connectionParams`: with the header transport, the session token under the header's name. */
  connectionParams?: Readonly<Record<string, unknown>>;
}

/**
 * A WebSocket upgrade: the session is read from its cookie (or, with the header transport, from the connection
 * params, since a browser cannot put headers on a WebSocket), and nothing is written back: an upgrade has no
 * response to carry a cookie, so a change that needs a new cookie (a new session, a cycled key) reaches the
 * browser only over HTTP.
 */
export class UpgradeExchange implements HttpExchange {
  readonly requestHeaders: RequestHeaders;

  constructor(
    private readonly req: IncomingMessage,
    connectionParams: Readonly<Record<string, unknown>> | undefined,
    sessionHeaderField: string | undefined,
  ) {
    const token =
      sessionHeaderField === undefined ? undefined : paramNamed(connectionParams, sessionHeaderField);
    this.requestHeaders =
      token === undefined ? req.headers : { ...req.headers, [sessionHeaderField as string]: token };
  }

  clientAddress(): string {
    return this.req.socket.remoteAddress ?? "";
  }

  isHttps(): boolean {
    return (this.req.socket as TLSSocket).encrypted === true;
  }

  appendSetCookies(): void {}

  setHeader(): void {}

  getHeader(): string | undefined {
    return undefined;
  }
}

/** A connection param by a header's name, matched as header names are (in any case); only a string counts. */
function paramNamed(
  params: Readonly<Record<string, unknown>> | undefined,
  field: string,
): string | undefined {
  if (params === undefined || params === null || typeof params !== "object") return undefined;
  for (const [name, value] of Object.entries(params)) {
    if (name.toLowerCase() === field && typeof value === "string") return value;
  }
  return undefined;
}
