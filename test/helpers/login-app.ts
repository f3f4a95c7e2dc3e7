import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import type { SessionContext, Sessions } from "../../src/index";
import type { SessionStore } from "../../src/session/store";

/**
 * An application with a login of its own: `login(userId)` calls `context.session.login`, `changePassword` ends
 * every other session of the caller's user with `sessions.revokeUserSessions(userId, { except: current })`, and
 * sessionql's own operations (`mySessions`, `revokeSession`, `revokeOtherSessions`) come with `sessions.typeDefs`.
 */
const typeDefs = /* GraphQL */ `
  type Query { me: String }
  type Mutation {
    login(userId: String!, userAgent: String): String
    logout: Boolean
    changePassword: Int
    note(text: String!): Boolean
  }
`;

const resolvers = (sessions: () => Sessions) => ({
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
    changePassword: async (_: unknown, __: unknown, { session }: SessionContext) => {
      const userId = await session.userId();
      if (userId === null) return 0;
      const current = await session.id();
      return sessions().revokeUserSessions(userId, { except: current ?? [] });
    },
    note: async (_: unknown, { text }: { text: string }, { session }: SessionContext) => {
      await session.set("note", text);
      return true;
    },
  },
});

/** A running login application: its URL, and a way to stop it (the session layer stays open). */
export interface LoginApp {
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves the application over `sessions` (an instance of the caller's, which also closes it) on a free loopback
 * port, with sessionql's own operations from `sessions.typeDefs` beside its own.
 */
export async function serveLoginApp(sessions: Sessions): Promise<LoginApp> {
  const apollo = new ApolloServer<SessionContext>({
    typeDefs: [typeDefs, sessions.typeDefs],
    resolvers: [resolvers(() => sessions), sessions.resolvers],
    plugins: [sessions.plugin],
  });
  const { url } = await startStandaloneServer(apollo, {
    listen: { port: 0, host: "127.0.0.1" },
    context: async ({ req, res }) => sessions.context({ req, res }),
  });
  return { url, stop: () => apollo.stop() };
}

/** `store`, whose `close` does nothing: for one of several users of a store that another closes. */
export function unclosed(store: SessionStore): SessionStore {
  return new Proxy(store, {
    get: (target, property, receiver) =>
      property === "close" ? async () => {} : Reflect.get(target, property, receiver),
  });
}
