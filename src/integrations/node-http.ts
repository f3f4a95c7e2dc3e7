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
