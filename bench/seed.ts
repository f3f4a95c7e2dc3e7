import type { RunningServer, ServerKind } from "./servers";
import { COOKIE_NAME, type Fixtures, SESSION_DATA } from "./workloads";

const SEED_QUERY = "mutation Seed($values: JSONObject!) { updateSession(values: $values) { version } }";
const PARALLEL = 16;

/** The servers that serve `updateSession`; the others have a /seed route. */
const SEEDED_THROUGH_GRAPHQL: ReadonlySet<ServerKind> = new Set<ServerKind>([
  "sessionql",
  "sessionql-defaults",
  "apollo-users",
  "express-library",
  "express-session",
]);

/**
 * Prepares the sessions of a run through the server's own HTTP interface, so the memory store (which lives in
 * the server process) gets them too: sessionql, apollo-users and both Express servers through GraphQL
 * (`updateSession` without a cookie creates a session and sets its cookie), the baseline through its /seed
 * route (one `store.save`, then the signed cookie).
 */
export async function seedSessions(server: RunningServer, poolSize: number): Promise<Fixtures> {
  const cookies: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < poolSize + 1) {
      next++;
      cookies.push(await seedOne(server));
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const [readerCookie, ...poolCookies] = cookies;
  return { readerCookie: readerCookie as string, poolCookies };
}

async function seedOne(server: RunningServer): Promise<string> {
  const [path, body] = SEEDED_THROUGH_GRAPHQL.has(server.kind)
    ? ["/graphql", { query: SEED_QUERY, variables: { values: SESSION_DATA } }]
    : ["/seed", { data: SESSION_DATA }];
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const cookie = sessionCookieOf(response);
  if (response.status !== 200 || text.includes('"errors"') || cookie === undefined) {
    throw new Error(`could not prepare a session on ${server.kind}: HTTP ${response.status} ${text}`);
  }
  return cookie;
}

/** The `name=value` of the session cookie a response sets, as a request's Cookie header carries it. */
export function sessionCookieOf(response: Response): string | undefined {
  return response.headers
    .getSetCookie()
    .map((header) => header.split(";")[0] as string)
    .find((pair) => pair.startsWith(`${COOKIE_NAME}=`));
}
