import type { HttpExchange } from "../http/exchange";
import { ExpressExchange } from "./express";
import { type FastifyContextArgument, FastifyExchange } from "./fastify";
import { type NodeHttpContextArgument, NodeHttpExchange } from "./node-http";

/** What `sessions.context()` takes: fastify's `{ request, reply }`, or `{ req, res }` from Express 5 or Node. */
export type ContextArgument = FastifyContextArgument | NodeHttpContextArgument;

/** The exchange for whichever framework handed over the request. */
export function exchangeFor(argument: ContextArgument): HttpExchange {
  if ("reply" in argument) return new FastifyExchange(argument.request, argument.reply);
  if ("req" in argument && argument.req !== undefined && argument.res !== undefined) {
    return ExpressExchange.handles(argument.req)
      ? new ExpressExchange(argument.req, argument.res)
      : new NodeHttpExchange(argument.req, argument.res);
  }
  throw new TypeError(
    "sessions.context() needs { request, reply } from fastify, or { req, res } from Express or startStandaloneServer",
  );
}

export type { FastifyContextArgument, NodeHttpContextArgument };
