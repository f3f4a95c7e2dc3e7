import "reflect-metadata";
import { ApolloServer, HeaderMap } from "@apollo/server";
import Fastify from "fastify";
import { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { loadConfig } from "../src/config";
import { apolloRequestSettings, withoutDefaultPlugins } from "../src/graphql/apollo-settings";
import { JSONScalar } from "../src/graphql/scalars";
import { COOKIE_NAME, SESSION_DATA } from "./workloads";

/**
 * The bench's Apollo floor: Apollo Server on fastify, configured by sessionql's own apolloRequestSettings and
 * withoutDefaultPlugins (CSRF prevention, the query-limit validation rules, the token limit, the error formatter,
 * no landing page, no cache-control plugin), answering the bench's operations from constants: no cookie check, no session layer, no store. What
 * it serves is the most any session server built on Apollo Server and fastify could serve on this machine, so
 * sessionql's distance to it is what the session layer costs, and its distance to the bare baseline is what
 * Apollo Server and fastify cost. Configured like sessionql: PORT, HOST.
 */
const config = loadConfig({ ...process.env, SESSION_SECRET: "apollo-floor-has-no-secret" });

interface FloorContext {
  hasCookie: boolean;
}

const SessionType = new GraphQLObjectType<{ data: unknown; version: number }>({
  name: "Session",
  fields: {
    data: { type: JSONScalar },
    version: { type: new GraphQLNonNull(GraphQLInt) },
  },
});

const schema = new GraphQLSchema({
  query: new GraphQLObjectType<unknown, FloorContext>({
    name: "Query",
    fields: {
      session: {
        type: new GraphQLNonNull(SessionType),
        resolve: (_root, _args, { hasCookie }) => ({ data: hasCookie ? SESSION_DATA : {}, version: 1 }),
      },
    },
  }),
  mutation: new GraphQLObjectType<unknown, FloorContext>({
    name: "Mutation",
    fields: {
      setSession: {
        type: new GraphQLNonNull(SessionType),
        args: { key: { type: new GraphQLNonNull(GraphQLString) }, value: { type: JSONScalar } },
        resolve: (_root, args: { value: unknown }) => ({ data: SESSION_DATA, version: Number(args.value) }),
      },
    },
  }),
});

async function main(): Promise<void> {
  const apollo = new ApolloServer<FloorContext>({
    schema,
    ...apolloRequestSettings(config.graphql),
    plugins: withoutDefaultPlugins(),
  });
  await apollo.start();
  const app = Fastify({ logger: false });
  app.get("/healthz", async () => ({ status: "ok" }));
  // The bench prepares sessions on every server it compares; the floor has none, so any cookie will do.
  app.post("/seed", async (_request, reply) =>
    reply
      .header("set-cookie", `${COOKIE_NAME}=floor; Path=/; HttpOnly`)
      .send({ data: { seed: { version: 1 } } }),
  );
  app.post("/graphql", async (request, reply) => {
    const headers = new HeaderMap();
    for (const name in request.headers) {
      const value = request.headers[name];
      if (typeof value === "string") headers.set(name, value);
    }
    const context: FloorContext = { hasCookie: request.headers.cookie !== undefined };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method, headers, search: "", body: request.body },
      context: () => Promise.resolve(context),
    });
    for (const [name, value] of response.headers) reply.header(name, value);
    reply.code(response.status ?? 200);
    if (response.body.kind !== "complete") throw new Error("the bench sends no incremental operations");
    return response.body.string;
  });
  const stop = () => {
    app.close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
