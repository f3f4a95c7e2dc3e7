import { loadConfig } from "../../src/config";
import { createServer, type SessionServer } from "../../src/server";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { ManualClock } from "./clock";
import { CookieJar } from "./cookies";

/** The secret test servers sign with unless a test sets its own. */
export const TEST_SECRET = "test-secret-0123456789abcdef";

/** A sessionql server listening on a free loopback port. */
export interface TestServer {
  url: string;
  graphqlUrl: string;
  server: SessionServer;
  store: SessionStore;
  clock: ManualClock;
  /** A client with its own cookie jar: one visitor. */
  client(jar?: CookieJar): GraphQLClient;
  close(): Promise<void>;
}

/** Starts a real server (memory store unless `env` says otherwise) on 127.0.0.1 and port 0. */
export async function startTestServer(
  options: { env?: Record<string, string>; store?: SessionStore; clock?: ManualClock } = {},
): Promise<TestServer> {
  const clock = options.clock ?? new ManualClock();
  const config = loadConfig({
    SESSION_STORE: "memory://",
    SESSION_SECRET: TEST_SECRET,
    PORT: "0",
    HOST: "127.0.0.1",
    // Every test visitor comes from 127.0.0.1; the creation limit has tests of its own.
    SESSION_CREATE_RATE: "0",
    ...options.env,
  });
  const store = options.store ?? createStore(config.storeUrl, clock);
  const server = await createServer(config, { store, secrets: config.secrets, clock, logger: false });
  const url = await server.start();
  const graphqlUrl = `${url}/graphql`;
  return {
    url,
    graphqlUrl,
    server,
    store,
    clock,
    client: (jar) => new GraphQLClient(graphqlUrl, jar),
    close: () => server.stop(),
  };
}

/** SESSION_COOKIE_AGE's default: how long a session lives unless a test configures otherwise. */
const DEFAULT_COOKIE_AGE_SECONDS = 1209600;

/**
 * How many records the server's store holds, for a server on the default SESSION_COOKIE_AGE. It moves the clock
 * past every expiry and counts what clearExpired removes, so call it last.
 */
export async function recordCount(server: TestServer): Promise<number> {
  server.clock.advance(DEFAULT_COOKIE_AGE_SECONDS + 1);
  return server.store.clearExpired();
}

/** The parsed answer of one GraphQL request. */
export interface GraphQLResult<T = Record<string, unknown>> {
  res: Response;
  status: number;
  data: T | null | undefined;
  errors: Array<{ message: string; extensions?: { code?: string } }> | undefined;
}

/** Sends GraphQL over real HTTP with a cookie jar, the way a browser with Apollo Client does. */
export class GraphQLClient {
  constructor(
    readonly url: string,
    readonly jar = new CookieJar(),
  ) {}

  async request<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<GraphQLResult<T>> {
    const cookie = this.jar.header();
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}), ...headers },
      body: JSON.stringify({ query, variables }),
    });
    this.jar.update(res);
    const body = (await res.json()) as { data?: T | null; errors?: GraphQLResult["errors"] };
    return { res, status: res.status, data: body.data, errors: body.errors };
  }

  /** The session's data, read back through the `session` query. */
  async data(): Promise<Record<string, unknown>> {
    const result = await this.request<{ session: { data: Record<string, unknown> } }>("{ session { data } }");
    return result.data?.session.data ?? {};
  }
}
