/**
 * The bench's `express-session` server: what applications pick today, Apollo Server 5 on Express 5 through
 * @as-integrations/express5 with express-session (MemoryStore for memory://, connect-redis for redis://…),
 * answering the bench's operations with the same result shapes as sessionql. Configured like sessionql: PORT,
 * HOST, SESSION_STORE, SESSION_SECRET; GET /healthz answers 200 and SIGTERM closes Apollo and the store, then
 * exits 0.
 */
import { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import { createClient } from "@redis/client";
import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";
import { APOLLO_SETTINGS, requiredEnv, runServer, stopOnSignals } from "./express-process";
import { COOKIE_NAME, SESSION_AGE_MS } from "./workloads";

/** What the bench keeps in each express-session session. */
declare module "express-session" {
  interface SessionData {
    data: Record<string, unknown>;
    /** Counts the writes, standing in for sessionql's record version. */
    version: number;
  }
}

const typeDefs = `#graphql
  scalar JSON
  scalar JSONObject
  type Session { data: JSON, version: Int! }
  type Query { session: Session! }
  type Mutation {
    setSession(key: String!, value: JSON): Session!
    updateSession(values: JSONObject!): Session!
  }
`;

interface Context {
  session: session.Session & Partial<session.SessionData>;
}

const view = (s: Context["session"]) => ({ data: s.data ?? {}, version: s.version ?? 0 });

/**
 * The session operations over `req.session`. A read leaves the session unmodified, so express-session (with
 * `resave: false`) only touches it in the store (Redis: one EXPIRE) and sets no cookie.
 */
const resolvers = {
  JSON: GraphQLJSON,
  JSONObject: GraphQLJSONObject,
  Query: { session: (_root: unknown, _args: unknown, { session: s }: Context) => view(s) },
  Mutation: {
    setSession: (_root: unknown, args: { key: string; value: unknown }, { session: s }: Context) => {
      s.data = { ...s.data, [args.key]: args.value };
      s.version = (s.version ?? 0) + 1;
      return view(s);
    },
    updateSession: (_root: unknown, args: { values: Record<string, unknown> }, { session: s }: Context) => {
      s.data = { ...s.data, ...args.values };
      s.version = (s.version ?? 0) + 1;
      return view(s);
    },
  },
};

/** express-session's store for the URL, and how to close what it holds open. */
async function openStore(url: string): Promise<{ store: session.Store; close(): Promise<void> }> {
  if (url === "memory://") return { store: new session.MemoryStore(), close: async () => {} };
  if (!url.startsWith("redis://"))
    throw new Error(`SESSION_STORE must be memory:// or redis://…, got ${url}`);
  const client = createClient({ url });
  // Without a listener, node-redis's error event would end the process instead of failing the request.
  client.on("error", (error: unknown) => console.error(`redis: ${(error as Error).message}`));
  await client.connect();
  return { store: new RedisStore({ client }), close: () => client.close() };
}

async function main(): Promise<void> {
  const { store, close } = await openStore(requiredEnv("SESSION_STORE"));
  const apollo = new ApolloServer<Context>({
    typeDefs,
    resolvers,
    ...APOLLO_SETTINGS,
  });
  await apollo.start();

  const app = express();
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.use(
    session({
      name: COOKIE_NAME,
      secret: requiredEnv("SESSION_SECRET"),
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: SESSION_AGE_MS },
      store,
    }),
  );
  app.use(
    "/graphql",
    express.json(),
    expressMiddleware(apollo, { context: async ({ req }) => ({ session: req.session }) }),
  );
  const server = app.listen(Number(requiredEnv("PORT")), process.env.HOST ?? "127.0.0.1");

  stopOnSignals(server, apollo, close);
}

runServer(main);
