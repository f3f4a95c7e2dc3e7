import { Readable } from "node:stream";
import { type ApolloServer, HeaderMap, type HTTPGraphQLRequest } from "@apollo/server";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { refuseMalformedBatch } from "./batch";
import {
  createContextFactory,
  type RequestContext,
  type SessionHttpOptions,
  writeSessionHeaders,
} from "./context";
import { refuseUnpreflightedGet } from "./csrf";
import { createIdeHandler } from "./ide";

/** What the GraphQL route serves besides Apollo itself. */
export interface GraphQLRouteOptions {
  path: string;
  batching: boolean;
  http: SessionHttpOptions;
}

/**
 * Serves Apollo Server on `path` (GET and POST). This is our own fastify integration rather than
 * @as-integrations/fastify's because the hot path is shorter: the session context is built here (no context
 * factory round trip), the IDE, CSRF and batch checks are plain calls instead of three more async hooks, the
 * session's cookie is written in the same step as Apollo's headers instead of an onSend hook, and the query
 * string is sliced off the URL instead of parsed with `new URL` on every request (profiled under `npm run bench`).
 */
export function registerGraphQLRoute(
  app: FastifyInstance,
  apollo: ApolloServer<RequestContext>,
  options: GraphQLRouteOptions,
): void {
  const serveIde = createIdeHandler(options.path);
  const { http } = options;
  const contextFor = createContextFactory(http);
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

      const context = contextFor(request);
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: toGraphQLRequest(request),
        context: () => Promise.resolve(context),
      });
      for (const [name, value] of response.headers) reply.header(name, value);
      reply.code(response.status ?? 200);
      await writeSessionHeaders(context, request, reply, http);
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
