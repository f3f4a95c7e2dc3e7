import { ConfigError, loadConfig } from "../../src/config";
import { CookieJar, expectNoSetCookie, expectSessionCookie } from "../helpers/cookies";
import { expectNothingInternal } from "../helpers/internals";
import {
  type GraphQLClient,
  type GraphQLResult,
  recordCount,
  startTestServer,
  type TestServer,
} from "../helpers/server";

// SESSION_CREATE_RATE=<count>/<seconds>: how many new sessions one client address may create per window. The
// limiter counts in real time (rate-limiter-flexible in memory), so only one short test waits for a window.

const READ = "{ session { id data version } }";
const CREATE = 'mutation { setSession(key: "visitor", value: "new") { version } }';
const ANSWER_MS = 1000;

/** Sends one operation, checking the answer came quickly, below 500 and with nothing internal in it. */
async function send(
  client: GraphQLClient,
  query: string,
  headers: Record<string, string> = {},
): Promise<GraphQLResult> {
  const started = performance.now();
  const result = await client.request(query, undefined, headers);
  expect(performance.now() - started).toBeLessThan(ANSWER_MS);
  expect(result.status).toBeLessThan(500);
  const text = JSON.stringify({ data: result.data, errors: result.errors });
  expectNothingInternal(text);
  return result;
}

/** A new visitor (no cookie) creates a session: answered version 1 with a session cookie. */
async function expectCreated(
  server: TestServer,
  headers: Record<string, string> = {},
): Promise<GraphQLClient> {
  const visitor = server.client();
  const result = await send(visitor, CREATE, headers);
  expect(result.errors).toBeUndefined();
  expect(result.data).toEqual({ setSession: { version: 1 } });
  expectSessionCookie(result.res);
  return visitor;
}

/** A visitor's creation is refused: RATE_LIMITED only, no data, no Set-Cookie of any kind. */
async function expectRateLimited(
  server: TestServer,
  headers: Record<string, string> = {},
  jar = new CookieJar(),
  query = CREATE,
): Promise<void> {
  const result = await send(server.client(jar), query, headers);
  expect(result.status).toBe(200);
  expect(result.errors?.length).toBeGreaterThan(0);
  expect(new Set(result.errors?.map((error) => error.extensions?.code))).toEqual(new Set(["RATE_LIMITED"]));
  expect(result.data).toBeNull();
  expectNoSetCookie(result.res);
}

/** What a visitor's session reads as now (id, data, version), checking the read set no cookie. */
async function readBack(visitor: GraphQLClient): Promise<unknown> {
  const result = await send(visitor, READ);
  expectNoSetCookie(result.res);
  return result.data;
}

const running: TestServer[] = [];
async function serverWith(env: Record<string, string>): Promise<TestServer> {
  const server = await startTestServer({ env });
  running.push(server);
  return server;
}
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

describe("with SESSION_CREATE_RATE=3/60", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await serverWith({ SESSION_CREATE_RATE: "3/60" });
  });

  test("three new visitors create sessions and the fourth is refused with RATE_LIMITED and no cookie", async () => {
    const visitors = [await expectCreated(server), await expectCreated(server), await expectCreated(server)];
    const before = await Promise.all(visitors.map(readBack));
    await expectRateLimited(server);
    await expectRateLimited(server);
    expect(await Promise.all(visitors.map(readBack))).toEqual(before);
    expect(await recordCount(server)).toBe(3);
  });

  test("writes to existing sessions are not creations and keep working once the budget is spent", async () => {
    const [first, second] = [
      await expectCreated(server),
      await expectCreated(server),
      await expectCreated(server),
    ];
    await expectRateLimited(server);
    const writes = [
      'mutation { setSession(key: "more", value: 1) { version } }',
      "mutation { updateSession(values: { a: 1, b: 2 }) { version } }",
      'mutation { popSession(key: "a") { found } }',
      "mutation { setSessionExpiry(seconds: 600) { version } }",
      "mutation { cycleSessionKey { version } }",
    ];
    for (const write of writes) {
      const result = await send(first as GraphQLClient, write);
      expect(result.errors).toBeUndefined();
    }
    expect(await readBack(first as GraphQLClient)).toEqual({
      session: { id: expect.any(String), data: { visitor: "new", more: 1, b: 2 }, version: 6 },
    });
    // Emptying and flushing are not creations either.
    expect(
      (await send(second as GraphQLClient, "mutation { flushSession { version } }")).errors,
    ).toBeUndefined();
    await expectRateLimited(server);
    expect(await recordCount(server)).toBe(2);
  });

  test("reads never count, whether the visitor has no cookie or a stale one", async () => {
    for (let i = 0; i < 10; i++) {
      const stale = new CookieJar();
      stale.set("sessionid", "not.a-session");
      expect((await send(server.client(), READ)).errors).toBeUndefined();
      expect((await send(server.client(stale), READ)).errors).toBeUndefined();
    }
    await expectCreated(server);
    await expectCreated(server);
    await expectCreated(server);
    await expectRateLimited(server);
  });

  test("refused input and changes that store nothing do not count", async () => {
    const visitor = server.client();
    const bad = await send(
      visitor,
      `mutation { setSession(key: "${"k".repeat(300)}", value: 1) { version } }`,
    );
    expect(bad.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    for (const nothing of [
      "mutation { clearSession { version } }",
      "mutation { flushSession { version } }",
      'mutation { popSession(key: "absent") { found } }',
    ]) {
      expect((await send(visitor, nothing)).errors).toBeUndefined();
    }
    expectNoSetCookie((await send(visitor, READ)).res);
    await expectCreated(server);
    await expectCreated(server);
    await expectCreated(server);
    await expectRateLimited(server);
  });

  test("a request that saves twice counts once", async () => {
    const visitor = server.client();
    const twice =
      'mutation { a: setSession(key: "a", value: 1) { version } b: setSession(key: "b", value: 2) { version } }';
    expect((await send(visitor, twice)).data).toEqual({ a: { version: 1 }, b: { version: 2 } });
    await expectCreated(server);
    await expectCreated(server);
    await expectRateLimited(server);
    expect(await visitor.data()).toEqual({ a: 1, b: 2 });
  });

  test("a visitor with a stale cookie is refused like a new one, and the stale cookie is left alone", async () => {
    await expectCreated(server);
    await expectCreated(server);
    await expectCreated(server);
    const stale = new CookieJar();
    stale.set("sessionid", "not.a-session");
    await expectRateLimited(server, {}, stale);
    expect(stale.get()).toBe("not.a-session");
  });

  test("a session with only an expiry policy is a creation too", async () => {
    await expectCreated(server);
    await expectCreated(server);
    await expectCreated(server);
    await expectRateLimited(
      server,
      {},
      new CookieJar(),
      "mutation { setSessionExpiry(seconds: 0) { version } }",
    );
    expect(await recordCount(server)).toBe(3);
  });

  test("X-Forwarded-For is ignored without TRUST_PROXY: every address shares the socket's budget", async () => {
    await expectCreated(server, { "x-forwarded-for": "203.0.113.1" });
    await expectCreated(server, { "x-forwarded-for": "203.0.113.2" });
    await expectCreated(server);
    await expectRateLimited(server, { "x-forwarded-for": "203.0.113.3" });
    await expectRateLimited(server, { "x-forwarded-for": "198.51.100.7, 203.0.113.4" });
    expect(await recordCount(server)).toBe(3);
  });
});

describe("with SESSION_CREATE_RATE=3/60 and TRUST_PROXY=true", () => {
  test("each forwarded address gets its own budget", async () => {
    const server = await serverWith({ SESSION_CREATE_RATE: "3/60", TRUST_PROXY: "true" });
    const first = { "x-forwarded-for": "203.0.113.1" };
    const second = { "x-forwarded-for": "203.0.113.2" };
    const owners = [];
    for (let i = 0; i < 3; i++) {
      owners.push(await expectCreated(server, first));
      owners.push(await expectCreated(server, second));
    }
    const before = await Promise.all(owners.map(readBack));
    await expectRateLimited(server, first);
    await expectRateLimited(server, second);
    // The leftmost address is the client's; a proxy chain behind it does not give it a new budget.
    await expectRateLimited(server, { "x-forwarded-for": "203.0.113.1, 10.0.0.1" });
    // Without the header, the socket's own address has an untouched budget.
    await expectCreated(server);
    expect(await Promise.all(owners.map(readBack))).toEqual(before);
    expect(await recordCount(server)).toBe(7);
  });
});

describe("with a one-second window (SESSION_CREATE_RATE=1/1)", () => {
  test("the budget comes back once the window has passed", async () => {
    const server = await serverWith({ SESSION_CREATE_RATE: "1/1" });
    await expectCreated(server);
    await expectRateLimited(server);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await expectCreated(server);
    expect(await recordCount(server)).toBe(2);
  });
});

describe("SESSION_CREATE_RATE in the configuration", () => {
  test.each([
    ["100/60", { limit: 100, windowSeconds: 60 }],
    ["1/1", { limit: 1, windowSeconds: 1 }],
    ["0", { limit: 0, windowSeconds: 1 }],
  ])("%s is read", (value, rate) => {
    expect(loadConfig({ SESSION_CREATE_RATE: value }).sessionCreateRate).toEqual(rate);
  });

  test("the default is off (0), so a site behind one proxy without TRUST_PROXY admits every new visitor", () => {
    expect(loadConfig({}).sessionCreateRate).toEqual({ limit: 0, windowSeconds: 1 });
  });

  test.each(["abc", "5/0", "0/60", "-1/60", "5/", "/60", "1.5/60", "5/60/2", "5 per 60"])(
    "%s is refused with a message naming SESSION_CREATE_RATE",
    (value) => {
      const load = () => loadConfig({ SESSION_CREATE_RATE: value });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/SESSION_CREATE_RATE must be <count>\/<seconds>/);
      expect(load).toThrow(value);
    },
  );
});
