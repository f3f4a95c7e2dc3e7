/**
 * The application a model run logs its visitors in through. The standalone server serves `mySessions`,
 * `revokeSession` and `revokeOtherSessions` but no login: logging in is an application's own resolver calling
 * `context.session.login`. So beside the server runs an Apollo Server of an application's own, as
 * test/users/users-app.ts builds one, over the server's own session layer (its store, secrets, cookie settings
 * and clock): one instance, reached on two ports, whose cookies a visitor's jar shares as a browser would.
 */
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import type { SessionContext, Sessions } from "../../src/index";

const typeDefs = /* GraphQL */ `
  type Query { me: String }
  type Mutation {
    login(userId: String!, userAgent: String): String
    logout: Boolean
  }
`;

const resolvers = {
  Query: { me: (_: unknown, __: unknown, { session }: SessionContext) => session.userId() },
  Mutation: {
    login: async (
      _: unknown,
      { userId, userAgent }: { userId: string; userAgent?: string | null },
      { session }: SessionContext,
    ) => {
      await session.login(userId, userAgent === null || userAgent === undefined ? {} : { userAgent });
      return session.id();
    },
    logout: async (_: unknown, __: unknown, { session }: SessionContext) => {
      await session.logout();
      return true;
    },
  },
};

/** A running application: the URL of its GraphQL endpoint, and a way to stop it (the session layer stays open). */
export interface ModelApp {
  graphqlUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts the application on a free loopback port over `sessions`, with `login(userId, userAgent)` → the session's
 * new id, `logout` and `me`, merged with sessionql's own operations from `sessions.typeDefs`.
 */
export async function startModelApp(sessions: Sessions): Promise<ModelApp> {
  const apollo = new ApolloServer<SessionContext>({
    typeDefs: [typeDefs, sessions.typeDefs],
    resolvers: [resolvers, sessions.resolvers],
    plugins: [sessions.plugin],
  });
  const { url } = await startStandaloneServer(apollo, {
    listen: { port: 0, host: "127.0.0.1" },
    context: async ({ req, res }) => sessions.context({ req, res }),
  });
  // Under the server's GraphQL path, so that a cookie with SESSION_COOKIE_PATH=/graphql would reach it too.
  return { graphqlUrl: new URL("graphql/app", url).href, stop: () => apollo.stop() };
}
