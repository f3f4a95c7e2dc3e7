/**
 * The bench's `apollo-users` server: Apollo Server as its users get it. Apollo Server 5 on fastify through
 * @as-integrations/fastify, set up as that package's README shows (fastifyApolloDrainPlugin, the fastifyApollo
 * plugin), every Apollo setting and default plugin left as it comes (landing page, cache control, CSRF
 * prevention; no usage reporting without APOLLO_KEY), sessions in a plain Map under an unsigned httpOnly
 * `sessionid=<random id>` cookie read by @fastify/cookie. It answers the bench's operations with the same result
 * shapes as sessionql, so sessionql ÷ apollo-users is what sessionql costs, or saves, against what an application
 * writes by hand. It keeps no per-session lock (none is needed: a Map is read and written in one synchronous
 * step), no expiry, no signature and no store, so it is no session layer to compare with on W5 or off memory.
 * Configured like sessionql: PORT, HOST; GET /healthz answers 200, and SIGTERM goes to Apollo's own handler,
 * which stops Apollo (the drain plugin closes fastify) and then ends the process with the signal.
 */
import { randomBytes } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import fastifyApollo, {
  type ApolloFastifyContextFunction,
  fastifyApolloDrainPlugin,
} from "@as-integrations/fastify";
import fastifyCookie from "@fastify/cookie";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";
import { COOKIE_NAME, SESSION_AGE_MS } from "./workloads";

interface StoredSession {
  data: Record<string, unknown>;
  /** Counts the writes, standing in for sessionql's record version. */
  version: number;
}

const typeDefs = `#graphql
  scalar JSON
  scalar JSONObject
  type Session { data: JSONObject!, version: Int! }
  type Query { session: Session! }
  type Mutation {
    setSession(key: String!, value: JSON!): Session!
    updateSession(values: JSONObject!): Session!
  }
`;

const sessions = new Map<string, StoredSession>();

interface Context {
  request: FastifyRequest;
  reply: FastifyReply;
}

const view = (session: StoredSession | undefined) => session ?? { data: {}, version: 0 };

/** The caller's session, or undefined when the cookie is missing or names none. */
function found({ request }: Context): StoredSession | undefined {
  const id = request.cookies[COOKIE_NAME];
  return id === undefined ? undefined : sessions.get(id);
}

/** The caller's session, made (and its cookie set) when there is none, as a write needs one. */
function foundOrMade(context: Context): StoredSession {
  const existing = found(context);
  if (existing !== undefined) return existing;
  const id = randomBytes(18).toString("base64url");
  const session: StoredSession = { data: {}, version: 0 };
  sessions.set(id, session);
  context.reply.setCookie(COOKIE_NAME, id, { path: "/", httpOnly: true, maxAge: SESSION_AGE_MS / 1000 });
  return session;
}

const resolvers = {
  JSON: GraphQLJSON,
  JSONObject: GraphQLJSONObject,
  Query: { session: (_root: unknown, _args: unknown, context: Context) => view(found(context)) },
  Mutation: {
    setSession: (_root: unknown, args: { key: string; value: unknown }, context: Context) => {
      const session = foundOrMade(context);
      session.data = { ...session.data, [args.key]: args.value };
      session.version++;
      return session;
    },
    updateSession: (_root: unknown, args: { values: Record<string, unknown> }, context: Context) => {
      const session = foundOrMade(context);
      session.data = { ...session.data, ...args.values };
      session.version++;
      return session;
    },
  },
};

const context: ApolloFastifyContextFunction<Context> = async (request, reply) => ({ request, reply });

async function main(): Promise<void> {
  const fastify = Fastify();
  await fastify.register(fastifyCookie);
  fastify.get("/healthz", async () => ({ status: "ok" }));

  const apollo = new ApolloServer<Context>({
    typeDefs,
    resolvers,
    plugins: [fastifyApolloDrainPlugin(fastify)],
  });
  await apollo.start();
  await fastify.register(fastifyApollo(apollo), { context });
  await fastify.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? "127.0.0.1" });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
