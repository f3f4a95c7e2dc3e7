import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { ManualClock } from "../helpers/clock";
import { expectNoSetCookie, expectSessionCookie } from "../helpers/cookies";
import { type GraphQLClient, startTestServer, type TestServer } from "../helpers/server";

const READ = "{ session { id data version } }";
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";
/** The latest instant a JavaScript Date can hold. */
const LAST_DATE_MS = 8.64e15;

/** What must never reach a client: stack traces, source paths, driver and runtime error texts. */
const INTERNALS = [
  /stacktrace/i,
  /\bat .+:\d+:\d+/,
  /\/work\/|\/src\/|node_modules/,
  /\.[cm]?[jt]s\b/,
  /sqlite|database|connection|not open/i,
  /\bE[A-Z]{3,}\b|errno/,
  /TypeError|RangeError|ReferenceError/,
  /test-secret/,
];

/** Asserts a response body holds none of the internals. */
function expectNoInternals(body: string): void {
  for (const pattern of INTERNALS) expect(body).not.toMatch(pattern);
}

interface ErrorBody {
  data?: unknown;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** Posts a raw body to /graphql; returns the status and the body, text and parsed. */
async function post(server: TestServer, body: string, cookie?: string) {
  const res = await fetch(server.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
    body,
  });
  const text = await res.text();
  return { res, text, json: JSON.parse(text) as ErrorBody };
}

/** Asserts a GraphQL error body with exactly one error, whose extensions hold the code and nothing else. */
function expectOneError(body: ErrorBody, code: string): string {
  expect(body.errors).toHaveLength(1);
  expect(body.errors?.[0]?.extensions).toEqual({ code });
  return body.errors?.[0]?.message ?? "";
}

/** A visitor whose session holds `{ kept: "yes" }`. */
async function visitorWithSession(server: TestServer): Promise<GraphQLClient> {
  const visitor = server.client();
  expectSessionCookie((await visitor.request(SET, { key: "kept", value: "yes" })).res);
  return visitor;
}

describe("when a request is malformed", () => {
  let server: TestServer;
  let visitor: GraphQLClient;
  let before: unknown;
  beforeEach(async () => {
    server = await startTestServer();
    visitor = await visitorWithSession(server);
    before = (await visitor.request(READ)).data;
  });
  afterEach(async () => {
    // Whatever the request was, the session reads as it did.
    expect((await visitor.request(READ)).data).toEqual(before);
    await server.close();
  });

  test("a GraphQL syntax error is a parse error without internals", async () => {
    const { res, text, json } = await post(
      server,
      JSON.stringify({ query: "{ session { " }),
      visitor.jar.header(),
    );
    expect(res.status).toBe(400);
    expectOneError(json, "GRAPHQL_PARSE_FAILED");
    expectNoInternals(text);
    expectNoSetCookie(res);
  });

  test("an unknown field is a validation error without internals", async () => {
    const { res, text, json } = await post(
      server,
      JSON.stringify({ query: "{ session { secretKey } }" }),
      visitor.jar.header(),
    );
    expect(res.status).toBe(400);
    expectOneError(json, "GRAPHQL_VALIDATION_FAILED");
    expectNoInternals(text);
    expectNoSetCookie(res);
  });

  test("a variable of the wrong type is bad input and changes nothing", async () => {
    const { res, text, json } = await post(
      server,
      JSON.stringify({ query: SET, variables: { key: { not: "a string" }, value: 1 } }),
      visitor.jar.header(),
    );
    expect(res.status).toBe(400);
    expectOneError(json, "BAD_USER_INPUT");
    expectNoInternals(text);
    expectNoSetCookie(res);
  });

  test("a body that is not JSON gets 400 without internals", async () => {
    const { res, text } = await post(server, '{"query": "{ session { version } }"', visitor.jar.header());
    expect(res.status).toBe(400);
    expectNoInternals(text);
    expectNoSetCookie(res);
  });

  test("a batched request is refused and runs none of its operations", async () => {
    const operation = { query: SET, variables: { key: "batched", value: 1 } };
    const { res, text, json } = await post(
      server,
      JSON.stringify([operation, operation]),
      visitor.jar.header(),
    );
    expect(res.status).toBe(400);
    expect(expectOneError(json, "BAD_REQUEST")).toMatch(/batch/i);
    expect(json.data).toBeUndefined();
    expectNoInternals(text);
    expectNoSetCookie(res);
  });
});

describe("when an operation fails unexpectedly", () => {
  let server: TestServer;
  beforeEach(async () => {
    // Past the last date JavaScript can hold, an expiry date is invalid and the DateTimeISO scalar throws.
    server = await startTestServer({ clock: new ManualClock(LAST_DATE_MS - 1000) });
  });
  afterEach(() => server.close());

  test("the error says only Internal server error", async () => {
    const { res, text, json } = await post(server, JSON.stringify({ query: "{ session { expiresAt } }" }));
    expect(res.status).toBe(200);
    expect(expectOneError(json, "INTERNAL_SERVER_ERROR")).toBe("Internal server error");
    expect(text).not.toMatch(/DateTime|invalid/i);
    expectNoInternals(text);
  });
});

describe("when the store answers", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(() => server.close());

  test("/readyz answers 200", async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  test("/healthz answers 200 ok", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("when the store fails", () => {
  let directory: string;
  let store: SessionStore;
  let server: TestServer;
  let visitor: GraphQLClient;
  let cookie: string | undefined;
  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), "sessionql-errors-"));
    const clock = new ManualClock();
    store = createStore(`sqlite://${join(directory, "sessions.sqlite")}`, clock);
    server = await startTestServer({ store, clock });
    visitor = await visitorWithSession(server);
    cookie = visitor.jar.get();
    // A closed database makes every driver call throw, as an unreachable store does.
    await store.close();
  });
  afterEach(async () => {
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  });

  test.each([
    ["reading the session", READ, {}],
    ["setSession", SET, { key: "a", value: 1 }],
    ["popSession", 'mutation { popSession(key: "kept") { found } }', {}],
    ["updateSession", "mutation { updateSession(values: { a: 1 }) { version } }", {}],
    ["clearSession", "mutation { clearSession { version } }", {}],
    ["flushSession", "mutation { flushSession { version } }", {}],
    ["cycleSessionKey", "mutation { cycleSessionKey { version } }", {}],
    ["setSessionExpiry", "mutation { setSessionExpiry(seconds: 60) { version } }", {}],
  ])(
    "%s answers STORE_UNAVAILABLE within 2 s, without driver text or a cookie change",
    async (_, query, variables) => {
      const started = performance.now();
      const { res, text, json } = await post(
        server,
        JSON.stringify({ query, variables }),
        visitor.jar.header(),
      );
      expect(performance.now() - started).toBeLessThan(2000);
      expectOneError(json, "STORE_UNAVAILABLE");
      expect(json.data ?? null).toBeNull();
      expectNoInternals(text);
      expectNoSetCookie(res);
      expect(visitor.jar.get()).toBe(cookie);
    },
  );

  test("a visitor without a session gets STORE_UNAVAILABLE and no cookie when saving", async () => {
    const newcomer = server.client();
    const result = await newcomer.request(SET, { key: "a", value: 1 });
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(["STORE_UNAVAILABLE"]);
    expectNoSetCookie(result.res);
  });

  test("/readyz answers 503 unavailable without internals", async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: "unavailable" });
  });

  test("/healthz still answers 200 ok", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});
