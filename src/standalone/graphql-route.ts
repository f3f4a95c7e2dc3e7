import { Readable } from "node:stream";
import { type ApolloServer, HeaderMap, type HTTPGraphQLRequest } from "@apollo/server";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { refuseMalformedBatch } from "./batch";
import { refuseUnpreflightedGet } from "./csrf";
import { createIdeHandler } from "./ide";

/** What the GraphQL route serves besides Apollo itself. */
export interface GraphQLRouteOptions<Context> {
  path: string;
  batching: boolean;
  /** Each request's context (the session layer's, for the standalone server). */
  context: (request: FastifyRequest, reply: FastifyReply) => Context;
}

/**
 * Serves Apollo Server on `path` (GET and POST), as @as-integrations/fastify does: the context comes from the
 * same `{ request, reply }` and the session layer's plugin writes the cookie on the same reply. It is our own
 * route because the hot path is shorter: the context is built without a promise-returning factory, the IDE, CSRF
 * and batch checks are plain calls instead of three more async hooks, and the query string is sliced off the URL
 * instead of parsed with `new URL` on every request (profiled under `npm run bench`).
 */
export function registerGraphQLRoute<Context extends object>(
  app: FastifyInstance,
  apollo: ApolloServer<Context>,
  options: GraphQLRouteOptions<Context>,
): void {
  const serveIde = createIdeHandler(options.path);
  app.route({
    method: ["GET", "POST"],
    url: options.path,
    async handler(request, reply) {
      if (request.method === "GET") {
        // A browser opening the endpoint gets the IDE; other GETs must have been preflighted.
        await serveIde(request, reply);
        if (!reply.sent) await refuseUnpreflightedGet(request, reply);
      } else if (options.batching) {
        await refuseMalformedBatch(request, reply);
      }
      if (reply.sent) return reply;

      const context = options.context(request, reply);
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: toGraphQLRequest(request),
        context: () => Promise.resolve(context),
      });
      for (const [name, value] of response.headers) reply.header(name, value);
      reply.code(response.status ?? 200);
      if (response.body.kind === "complete") return response.body.string;
      // Incremental delivery (`@defer`) answers stream.
      return reply.send(Readable.from(response.body.asyncIterator));
    },
  });
}

function toGraphQLRequest(request: FastifyRequest): HTTPGraphQLRequest {
  const headers = new HeaderMap();
  for (const name in request.headers) {
    const value = request.headers[name];
    if (value) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const query = request.url.indexOf("?");
  return {
    method: request.method,
    headers,
    search: query < 0 ? "" : request.url.slice(query),
    body: request.body,
  };
}
