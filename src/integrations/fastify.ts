import type { FastifyReply, FastifyRequest } from "fastify";
import { type HttpExchange, headerText, type RequestHeaders } from "../http/exchange";

/** What a fastify context function is given (`@as-integrations/fastify` passes them as two arguments). */
export interface FastifyContextArgument {
  request: FastifyRequest;
  reply: FastifyReply;
}

/**
 * A fastify request and reply. `reply.header("set-cookie", v)` appends rather than replaces, and the client
 * address and protocol follow fastify's own `trustProxy` option.
 */
export class FastifyExchange implements HttpExchange {
  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
  ) {}

  get requestHeaders(): RequestHeaders {
    return this.request.headers;
  }

  clientAddress(): string {
    return this.request.ip;
  }

  isHttps(): boolean {
    return this.request.protocol === "https";
  }

  appendSetCookies(values: readonly string[]): void {
    for (const value of values) this.reply.header("set-cookie", value);
  }

  setHeader(name: string, value: string): void {
    this.reply.header(name, value);
  }

  getHeader(name: string): string | undefined {
    return headerText(this.reply.getHeader(name));
  }
}
