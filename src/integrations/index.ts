import type { HttpExchange } from "../http/exchange";
import { ExpressExchange } from "./express";
import { type FastifyContextArgument, FastifyExchange } from "./fastify";
import {
  type NodeHttpContextArgument,
  NodeHttpExchange,
  type UpgradeContextArgument,
  UpgradeExchange,
} from "./node-http";

/**
 * What `sessions.context()` takes: fastify's `{ request, reply }`, `{ req, res }` from Express 5 or Node, or a
 * WebSocket server's `{ req, connectionParams }` (the upgrade request).
 */
export type ContextArgument = FastifyContextArgument | NodeHttpContextArgument | UpgradeContextArgument;

/** The exchange for whichever framework handed over the request. */
export function exchangeFor(argument: ContextArgument, sessionHeaderField: string | undefined): HttpExchange {
  if ("reply" in argument) return new FastifyExchange(argument.request, argument.reply);
  if ("req" in argument && argument.req !== undefined && argument.res === undefined) {
    return new UpgradeExchange(
      argument.req,
      (argument as UpgradeContextArgument).connectionParams,
      sessionHeaderField,
    );
  }
  if ("req" in argument && argument.req !== undefined && argument.res !== undefined) {
    return ExpressExchange.handles(argument.req)
      ? new ExpressExchange(argument.req, argument.res)
      : new NodeHttpExchange(argument.req, argument.res);
  }
  throw new TypeError(
    "sessions.context() needs { request, reply } from fastify, { req, res } from Express or startStandaloneServer, or { req } from a WebSocket upgrade",
  );
}

export type { FastifyContextArgument, NodeHttpContextArgument, UpgradeContextArgument };
