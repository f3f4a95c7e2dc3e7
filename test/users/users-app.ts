import { createSessions, type Sessions, type SessionsOptions } from "../../src/index";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import type { ManualClock } from "../helpers/clock";
import { CookieJar } from "../helpers/cookies";
import { serveLoginApp, unclosed } from "../helpers/login-app";
import { GraphQLClient, TEST_SECRET } from "../helpers/server";

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
  const { url, stop } = await serveLoginApp(sessions);
  return {
    url,
    sessions,
    client: (jar = new CookieJar()) => new GraphQLClient(url, jar),
    async stop() {
      await stop();
      await sessions.close();
    },
  };
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
