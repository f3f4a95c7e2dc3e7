import { createServer, type Server } from "node:http";
import { createSessions, type Sessions } from "../../src/index";
import type { LiveServer } from "../../src/integrations/websocket";
import {
  errorCodeOf,
  type LiveClient,
  liveClient,
  type SubscriptionEnd,
  subscribe,
  wsUrlOf,
} from "../helpers/live";
import { startTestServer, TEST_SECRET, type TestServer } from "../helpers/server";

// Every operation over the socket is parsed and validated as one over HTTP is: the token limit, the query
// limits, and no introspection where it is off. Without them a socket would be a way around every limit.

const INTROSPECTION = "{ __schema { queryType { name } } }";
const ALIAS_BOMB = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: session { id }`).join(" ")} }`;
const DIRECTIVE_FLOOD = `subscription { sessionChanged { id ${"@include(if: true) ".repeat(11)} } }`;
const TOKEN_FLOOD = `{ session { ${"id ".repeat(1200)} } }`;
const UNKNOWN_FIELD = "subscription { sessionChanged { password } }";

/** The first error's message and code, or the data of the first result. */
async function outcome(client: LiveClient, query: string): Promise<unknown> {
  const sub = subscribe(client, query, (data) => data);
  const end: SubscriptionEnd = await sub.end();
  if (!("error" in end)) return { data: sub.events[0] };
  const [first] = end.error as Array<{ message: string }>;
  return { code: errorCodeOf(end), message: first?.message };
}

describe("operations over the standalone server's WebSocket", () => {
  let production: TestServer;
  let development: TestServer;
  const clients: LiveClient[] = [];
  const connect = (server: TestServer) => {
    const client = liveClient(wsUrlOf(server.graphqlUrl));
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    production = await startTestServer({ env: { NODE_ENV: "production" } });
    development = await startTestServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });
  afterAll(async () => {
    await production?.close();
    await development?.close();
  });

  test("introspection is refused in production, as over HTTP, and answered in development", async () => {
    expect(await outcome(connect(production), INTROSPECTION)).toEqual({
      code: "GRAPHQL_VALIDATION_FAILED",
      message: expect.stringMatching(/introspection/i),
    });
    expect(await outcome(connect(development), INTROSPECTION)).toEqual({
      data: { __schema: { queryType: { name: "Query" } } },
    });
  });

  test.each([
    ["more aliases than GRAPHQL_MAX_ALIASES", ALIAS_BOMB, "GRAPHQL_VALIDATION_FAILED", /GRAPHQL_MAX_ALIASES/],
    [
      "more directives than GRAPHQL_MAX_DIRECTIVES",
      DIRECTIVE_FLOOD,
      "GRAPHQL_VALIDATION_FAILED",
      /GRAPHQL_MAX_DIRECTIVES/,
    ],
    ["more tokens than GRAPHQL_MAX_TOKENS", TOKEN_FLOOD, "GRAPHQL_PARSE_FAILED", /1000 tokens/],
    ["a field the schema does not have", UNKNOWN_FIELD, "GRAPHQL_VALIDATION_FAILED", /password/],
    ["a syntax error", "subscription {", "GRAPHQL_PARSE_FAILED", /Syntax Error/],
  ])("%s is refused with a clear error before anything runs", async (_what, query, code, message) => {
    expect(await outcome(connect(production), query)).toEqual({
      code,
      message: expect.stringMatching(message),
    });
  });

  test("a refusal leaves the connection open for the next operation", async () => {
    const client = connect(production);
    await outcome(client, ALIAS_BOMB);
    expect(await outcome(client, "{ session { id isEmpty } }")).toEqual({
      data: { session: { id: null, isEmpty: true } },
    });
  });
});

describe("sessions.serveSubscriptions: limits an application gets without asking, and its own", () => {
  let sessions: Sessions;
  let http: Server;
  const lives: LiveServer[] = [];
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    sessions = await createSessions({ store: "memory://", secrets: [TEST_SECRET] });
    http = createServer((_request, response) => {
      response.statusCode = 404;
      response.end();
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    await Promise.all(lives.splice(0).map((live) => live.close()));
  });
  afterAll(async () => {
    await new Promise((resolve) => http?.close(resolve));
    await sessions?.close();
  });

  const serve = async (options: Parameters<Sessions["serveSubscriptions"]>[0]) => {
    const live = sessions.serveSubscriptions({ server: http, ...options });
    lives.push(live);
    const client = liveClient(await live.url);
    clients.push(client);
    return client;
  };

  test("by default the standalone server's query and token limits hold, and introspection is refused", async () => {
    const client = await serve({});
    expect(await outcome(client, ALIAS_BOMB)).toMatchObject({ code: "GRAPHQL_VALIDATION_FAILED" });
    expect(await outcome(client, TOKEN_FLOOD)).toMatchObject({ code: "GRAPHQL_PARSE_FAILED" });
    expect(await outcome(client, INTROSPECTION)).toMatchObject({ code: "GRAPHQL_VALIDATION_FAILED" });
  });

  test("introspection: true answers it", async () => {
    const client = await serve({ introspection: true });
    expect(await outcome(client, INTROSPECTION)).toEqual({
      data: { __schema: { queryType: { name: "Query" } } },
    });
  });

  test("validationRules, maxTokens and formatError are the application's to set", async () => {
    const client = await serve({
      validationRules: [],
      maxTokens: 500,
      formatError: (formatted) => ({ ...formatted, message: `app: ${formatted.message}` }),
    });
    expect(await outcome(client, ALIAS_BOMB)).toMatchObject({ data: { a0: { id: null } } });
    const under1000Tokens = `{ session { ${"id ".repeat(600)} } }`;
    expect(await outcome(client, under1000Tokens)).toEqual({
      code: "GRAPHQL_PARSE_FAILED",
      message: expect.stringMatching(/^app: .*500 tokens/),
    });
    expect(await outcome(client, INTROSPECTION)).toEqual({
      code: "GRAPHQL_VALIDATION_FAILED",
      message: expect.stringMatching(/^app: .*introspection/i),
    });
  });
});
