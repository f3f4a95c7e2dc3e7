import { ManualClock } from "../helpers/clock";
import {
  expectCookieCleared,
  expectNoSetCookie,
  expectSessionCookie,
  setCookiesOf,
} from "../helpers/cookies";
import { type GraphQLClient, startTestServer, type TestServer } from "../helpers/server";

const AGE = 1209600;
const EXPIRY = "data version isEmpty expiresAt expiryAge expireAtBrowserClose";
const READ = `{ session { ${EXPIRY} } }`;
const SET = `mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { ${EXPIRY} } }`;
const SET_EXPIRY = `mutation($seconds: Int) { setSessionExpiry(seconds: $seconds) { ${EXPIRY} } }`;

interface ExpiryView {
  data: Record<string, unknown>;
  version: number;
  isEmpty: boolean;
  expiresAt: string | null;
  expiryAge: number;
  expireAtBrowserClose: boolean;
}

const running: TestServer[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

/** A server whose time moves only when the test advances it. */
async function start(env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer({ env, clock: new ManualClock() });
  running.push(server);
  return server;
}

async function read(visitor: GraphQLClient) {
  const result = await visitor.request<{ session: ExpiryView }>(READ);
  return { ...result, session: result.data?.session as ExpiryView };
}

async function setExpiry(visitor: GraphQLClient, seconds: number | null) {
  const result = await visitor.request<{ setSessionExpiry: ExpiryView }>(SET_EXPIRY, { seconds });
  return { ...result, session: result.data?.setSessionExpiry as ExpiryView };
}

describe("setSessionExpiry with a number of seconds", () => {
  test("the cookie lives that long and the session says so", async () => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    const { res, session } = await setExpiry(visitor, 60);
    const cookie = expectSessionCookie(res);
    expect(cookie.maxAge).toBe(60);
    expect(Math.abs((cookie.expires as Date).getTime() - (server.clock.now() + 60_000))).toBeLessThan(1000);
    expect(session).toMatchObject({ expiryAge: 60, expireAtBrowserClose: false });
    expect(new Date(session.expiresAt as string).getTime()).toBe(server.clock.now() + 60_000);
  });

  test("the session is still there just before the seconds have passed", async () => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    await setExpiry(visitor, 60);
    server.clock.advance(59);
    expect((await read(visitor)).session).toMatchObject({ data: { a: 1 }, expiryAge: 1 });
  });

  test("once the seconds have passed the session reads as empty and the cookie is expired", async () => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    await setExpiry(visitor, 60);
    server.clock.advance(61);
    const { res, session } = await read(visitor);
    expect(session).toMatchObject({ data: {}, version: 0, isEmpty: true });
    expectCookieCleared(res);
  });

  test("negative seconds are refused and the session is unchanged", async () => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    await setExpiry(visitor, 60);
    const before = await read(visitor);
    const { res, errors } = await visitor.request(SET_EXPIRY, { seconds: -1 });
    expect(errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expectNoSetCookie(res);
    expect((await read(visitor)).session).toEqual(before.session);
  });
});

describe("setSessionExpiry(0)", () => {
  test("makes a browser-close session: a cookie without Max-Age or Expires", async () => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    const { res, session } = await setExpiry(visitor, 0);
    const cookie = expectSessionCookie(res);
    expect(cookie.maxAge).toBeUndefined();
    expect(cookie.expires).toBeUndefined();
    expect(setCookiesOf(res)[0]).not.toMatch(/max-age|expires/i);
    expect(session).toMatchObject({ expireAtBrowserClose: true, expiresAt: null, expiryAge: AGE });
    expect((await read(visitor)).session).toMatchObject({ expireAtBrowserClose: true, expiresAt: null });
  });

  test("the server still forgets a browser-close session after the cookie age", async () => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    await setExpiry(visitor, 0);
    server.clock.advance(AGE + 1);
    expect((await read(visitor)).session).toMatchObject({ data: {}, version: 0 });
  });
});

describe("setSessionExpiry(null)", () => {
  test.each([60, 0])("after %i seconds, returns to the default policy", async (seconds) => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    await setExpiry(visitor, seconds);
    const { res, session } = await setExpiry(visitor, null);
    expect(expectSessionCookie(res).maxAge).toBe(AGE);
    expect(session).toMatchObject({ expiryAge: AGE, expireAtBrowserClose: false, data: { a: 1 } });
    expect(new Date(session.expiresAt as string).getTime()).toBe(server.clock.now() + AGE * 1000);
  });
});

describe("a session with no data but a custom expiry", () => {
  test("is stored with a cookie and stays empty", async () => {
    const server = await start();
    const visitor = server.client();
    const { res, session } = await setExpiry(visitor, 60);
    expect(expectSessionCookie(res).maxAge).toBe(60);
    expect(session).toMatchObject({ isEmpty: true, data: {}, version: 1, expiryAge: 60 });
    expect((await read(visitor)).session).toMatchObject({ isEmpty: true, version: 1, expiryAge: 60 });
  });
});

describe("with SESSION_EXPIRE_AT_BROWSER_CLOSE=true", () => {
  test("sessions get browser-close cookies by default", async () => {
    const server = await start({ SESSION_EXPIRE_AT_BROWSER_CLOSE: "true" });
    const { res, data } = await server
      .client()
      .request<{ setSession: ExpiryView }>(SET, { key: "a", value: 1 });
    const cookie = expectSessionCookie(res);
    expect(cookie.maxAge).toBeUndefined();
    expect(cookie.expires).toBeUndefined();
    expect(data?.setSession).toMatchObject({ expireAtBrowserClose: true, expiresAt: null, expiryAge: AGE });
  });

  test("a number of seconds still gives a lasting cookie", async () => {
    const server = await start({ SESSION_EXPIRE_AT_BROWSER_CLOSE: "true" });
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    const { res, session } = await setExpiry(visitor, 60);
    expect(expectSessionCookie(res).maxAge).toBe(60);
    expect(session.expireAtBrowserClose).toBe(false);
  });
});

describe("expiry counts from the last save", () => {
  test("with the default age, the session is gone once the age has passed", async () => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    server.clock.advance(AGE + 1);
    const { res, session } = await read(visitor);
    expect(session).toMatchObject({ data: {}, version: 0 });
    expectCookieCleared(res);
  });

  test("reads do not extend it", async () => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    server.clock.advance(AGE - 100);
    const early = await read(visitor);
    expect(early.session).toMatchObject({ data: { a: 1 }, expiryAge: 100 });
    expectNoSetCookie(early.res);
    server.clock.advance(101);
    expect((await read(visitor)).session).toMatchObject({ data: {}, version: 0 });
  });

  test("a save extends it by the full age", async () => {
    const server = await start();
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    server.clock.advance(AGE - 100);
    const { res } = await visitor.request(SET, { key: "b", value: 2 });
    expect(expectSessionCookie(res).maxAge).toBe(AGE);
    server.clock.advance(101);
    expect((await read(visitor)).session).toMatchObject({ data: { a: 1, b: 2 }, expiryAge: AGE - 101 });
  });

  test("expiresAt stays put while expiryAge counts down", async () => {
    const server = await start();
    const visitor = server.client();
    const { data } = await visitor.request<{ setSession: ExpiryView }>(SET, { key: "a", value: 1 });
    server.clock.advance(100);
    const { session } = await read(visitor);
    expect(session.expiresAt).toBe(data?.setSession.expiresAt);
    expect(session.expiryAge).toBe(AGE - 100);
  });
});

describe("with SESSION_SAVE_EVERY_REQUEST=true", () => {
  const env = { SESSION_SAVE_EVERY_REQUEST: "true" };

  test("a read re-saves the session with a full-age cookie and the same version", async () => {
    const server = await start(env);
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    server.clock.advance(AGE - 100);
    const { res, session } = await read(visitor);
    expect(session).toMatchObject({ data: { a: 1 }, version: 1 });
    expect(expectSessionCookie(res).maxAge).toBe(AGE);
    server.clock.advance(200);
    expect((await read(visitor)).session).toMatchObject({ data: { a: 1 }, version: 1 });
  });

  test("a pop of an absent key re-saves without changing the version", async () => {
    const server = await start(env);
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    server.clock.advance(AGE - 100);
    const { res } = await visitor.request('mutation { popSession(key: "absent") { found } }');
    expect(expectSessionCookie(res).maxAge).toBe(AGE);
    server.clock.advance(200);
    expect((await read(visitor)).session).toMatchObject({ data: { a: 1 }, version: 1 });
  });

  test("a custom expiry is what each request restarts", async () => {
    const server = await start(env);
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    await setExpiry(visitor, 60);
    server.clock.advance(50);
    expect(expectSessionCookie((await read(visitor)).res).maxAge).toBe(60);
    server.clock.advance(50);
    expect((await read(visitor)).session).toMatchObject({ data: { a: 1 }, version: 2 });
  });

  test("a new visitor's read still sets no cookie", async () => {
    const server = await start(env);
    expectNoSetCookie((await read(server.client())).res);
  });

  test("an operation that does not touch the session re-saves nothing", async () => {
    const server = await start(env);
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    expectNoSetCookie((await visitor.request("{ __typename }")).res);
  });
});
