import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { createSessions, type SessionContext, type Sessions, type SessionsOptions } from "../../src/index";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import type { ManualClock } from "../helpers/clock";
import { CookieJar } from "../helpers/cookies";
import { GraphQLClient, TEST_SECRET } from "../helpers/server";

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

/** One instance of the application: its URL, its sessions, and a way to stop it. */
export interface UsersApp {
  url: string;
  sessions: Sessions;
  /** A visitor with its own cookie jar, or sharing `jar` (one browser whose requests reach several instances). */
  client(jar?: CookieJar): GraphQLClient;
  stop(): Promise<void>;
}

/** Starts an instance on a free loopback port over `store` (a URL, or a store object shared with other instances). */
export async function startUsersApp(
  store: string | SessionStore,
  options: Partial<SessionsOptions> & { clock?: ManualClock } = {},
): Promise<UsersApp> {
  // A shared store object is closed by whoever made it, not by each instance.
  const opened = typeof store === "string" ? createStore(store, options.clock) : unclosed(store);
  const sessions = await createSessions({
    secrets: [TEST_SECRET],
    sweepIntervalSeconds: 0,
    ...options,
    store: opened,
  });
  const apollo = new ApolloServer<SessionContext>({
    typeDefs: [typeDefs, sessions.typeDefs],
    resolvers: [resolvers(() => sessions), sessions.resolvers],
    plugins: [sessions.plugin],
  });
  const { url } = await startStandaloneServer(apollo, {
    listen: { port: 0, host: "127.0.0.1" },
    context: async ({ req, res }) => sessions.context({ req, res }),
  });
  return {
    url,
    sessions,
    client: (jar = new CookieJar()) => new GraphQLClient(url, jar),
    async stop() {
      await apollo.stop();
      await sessions.close();
    },
  };
}

function unclosed(store: SessionStore): SessionStore {
  return new Proxy(store, {
    get: (target, property, receiver) =>
      property === "close" ? async () => {} : Reflect.get(target, property, receiver),
  });
}

/** The GraphQL of the tests. */
export const LOGIN = "mutation($u: String!, $a: String) { login(userId: $u, userAgent: $a) }";
export const MY_SESSIONS = "{ mySessions { id current createdAt lastSeenAt expiresAt userAgent } }";
export const REVOKE = "mutation($id: ID!) { revokeSession(id: $id) }";
export const REVOKE_OTHERS = "mutation { revokeOtherSessions }";
export const SESSION = "{ session { id data keys version } }";

/** One listed session, as `mySessions` answers. */
export interface ListedSession {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string | null;
  userAgent: string | null;
}

/** Logs `client` in as `userId` and returns the session's new public id. */
export async function logIn(client: GraphQLClient, userId: string, userAgent?: string): Promise<string> {
  const { data, errors } = await client.request<{ login: string }>(LOGIN, { u: userId, a: userAgent });
  if (errors !== undefined || data?.login === undefined)
    throw new Error(`login failed: ${JSON.stringify(errors)}`);
  return data.login;
}

/** What `mySessions` answers for `client`. */
export async function listed(client: GraphQLClient): Promise<ListedSession[]> {
  const { data, errors } = await client.request<{ mySessions: ListedSession[] }>(MY_SESSIONS);
  if (errors !== undefined) throw new Error(`mySessions failed: ${JSON.stringify(errors)}`);
  return data?.mySessions ?? [];
}

/** The session's public id as `client` sees it now (null: no session). */
export async function sessionId(client: GraphQLClient): Promise<string | null> {
  const { data } = await client.request<{ session: { id: string | null } }>(SESSION);
  return data?.session.id ?? null;
}
