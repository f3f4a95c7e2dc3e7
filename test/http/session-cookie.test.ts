import { CookieSigner } from "../../src/http/cookie";
import { publicId } from "../../src/session/keys";
import {
  expectCookieCleared,
  expectNoSetCookie,
  expectSessionCookie,
  setCookiesOf,
} from "../helpers/cookies";
import { startTestServer, TEST_SECRET, type TestServer } from "../helpers/server";

const READ = "{ session { id data version } }";
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { id version } }";
const POP = "mutation($key: String!) { popSession(key: $key) { found session { id version } } }";
const CLEAR = "mutation { clearSession { id version isEmpty } }";

type Attribute = (header: string) => boolean;
const has =
  (attribute: string): Attribute =>
  (header) =>
    header.split(/;\s*/).some((part) => part.toLowerCase().startsWith(attribute.toLowerCase()));

/** The one raw Set-Cookie header of a response. */
function rawSetCookie(res: Response): string {
  const headers = setCookiesOf(res);
  expect(headers).toHaveLength(1);
  return headers[0] as string;
}

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

describe("the session cookie by default", () => {
  test("a save sets HttpOnly, SameSite=Lax and Path=/ without Secure or Domain", async () => {
    const { res } = await server.client().request(SET, { key: "a", value: 1 });
    const cookie = expectSessionCookie(res);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/" });
    expect(cookie.secure).toBeFalsy();
    expect(cookie.domain).toBeUndefined();
    const raw = rawSetCookie(res);
    expect(has("Secure")(raw)).toBe(false);
    expect(has("Domain")(raw)).toBe(false);
  });

  test("Max-Age is the cookie age and Expires is now plus that age", async () => {
    const { res } = await server.client().request(SET, { key: "a", value: 1 });
    const cookie = expectSessionCookie(res);
    expect(cookie.maxAge).toBe(1209600);
    const expected = server.clock.now() + 1209600 * 1000;
    // Expires has whole seconds only.
    expect(Math.abs((cookie.expires as Date).getTime() - expected)).toBeLessThan(1000);
  });

  test("the value is the session key signed with the first secret, never the public id", async () => {
    const { res, data } = await server.client().request<{ setSession: { id: string } }>(SET, {
      key: "a",
      value: 1,
    });
    const { value } = expectSessionCookie(res);
    const sessionKey = new CookieSigner([TEST_SECRET]).unsign(value as string);
    expect(sessionKey).toBeDefined();
    expect(value).toBe(new CookieSigner([TEST_SECRET]).sign(sessionKey as string));
    const id = data?.setSession.id as string;
    expect(id).toBe(publicId(sessionKey as string, TEST_SECRET));
    expect(value).not.toContain(id);
    expect(id).not.toContain(sessionKey as string);
  });
});

describe("when the cookie is configured", () => {
  const env = {
    SESSION_COOKIE_NAME: "app_session",
    SESSION_COOKIE_DOMAIN: "example.test",
    SESSION_COOKIE_PATH: "/app",
    SESSION_COOKIE_SECURE: "true",
    SESSION_COOKIE_HTTPONLY: "false",
    SESSION_COOKIE_SAMESITE: "Strict",
    SESSION_COOKIE_AGE: "3600",
  };
  let configured: TestServer;
  beforeEach(async () => {
    configured = await startTestServer({ env });
  });
  afterEach(() => configured.close());

  test("a save sets the cookie with every configured attribute", async () => {
    const { res } = await configured.client().request(SET, { key: "a", value: 1 });
    const cookie = expectSessionCookie(res, "app_session");
    expect(cookie).toMatchObject({ domain: "example.test", path: "/app", secure: true, sameSite: "strict" });
    expect(cookie.httpOnly).toBeFalsy();
    expect(cookie.maxAge).toBe(3600);
    expect(Math.abs((cookie.expires as Date).getTime() - (configured.clock.now() + 3600_000))).toBeLessThan(
      1000,
    );
    expect(has("HttpOnly")(rawSetCookie(res))).toBe(false);
  });

  test("the configured name is the cookie that is read back", async () => {
    const visitor = configured.client();
    await visitor.request(SET, { key: "a", value: 1 });
    expect(visitor.jar.get("sessionid")).toBeUndefined();
    expect(await visitor.data()).toEqual({ a: 1 });
  });

  test("the deleting cookie keeps the configured Path, Domain, SameSite and Secure", async () => {
    const visitor = configured.client();
    await visitor.request(SET, { key: "a", value: 1 });
    const { res } = await visitor.request(CLEAR);
    const cookie = expectCookieCleared(res, "app_session");
    expect(cookie).toMatchObject({ domain: "example.test", path: "/app", secure: true, sameSite: "strict" });
  });
});

describe("behind a TLS-terminating proxy", () => {
  const https = { "x-forwarded-proto": "https" };

  test("with TRUST_PROXY, a request forwarded over HTTPS gets a Secure cookie", async () => {
    const proxied = await startTestServer({ env: { TRUST_PROXY: "true" } });
    try {
      const { res } = await proxied.client().request(SET, { key: "a", value: 1 }, https);
      expect(expectSessionCookie(res).secure).toBe(true);
    } finally {
      await proxied.close();
    }
  });

  test("with TRUST_PROXY, a request forwarded over plain HTTP gets no Secure", async () => {
    const proxied = await startTestServer({ env: { TRUST_PROXY: "true" } });
    try {
      const { res } = await proxied
        .client()
        .request(SET, { key: "a", value: 1 }, { "x-forwarded-proto": "http" });
      expect(expectSessionCookie(res).secure).toBeFalsy();
    } finally {
      await proxied.close();
    }
  });

  test("without TRUST_PROXY, X-Forwarded-Proto is ignored", async () => {
    const { res } = await server.client().request(SET, { key: "a", value: 1 }, https);
    expect(expectSessionCookie(res).secure).toBeFalsy();
  });
});

describe("Vary: Cookie", () => {
  const varies = (res: Response) => /\bcookie\b/i.test(res.headers.get("vary") ?? "");

  test("a new visitor's read varies on Cookie", async () => {
    expect(varies((await server.client().request(READ)).res)).toBe(true);
  });

  test("a read and a change of a stored session vary on Cookie", async () => {
    const visitor = server.client();
    expect(varies((await visitor.request(SET, { key: "a", value: 1 })).res)).toBe(true);
    expect(varies((await visitor.request(READ)).res)).toBe(true);
    expect(varies((await visitor.request(POP, { key: "a" })).res)).toBe(true);
  });

  test("a rejected change still varies on Cookie", async () => {
    const result = await server.client().request(SET, { key: "", value: 1 });
    expect(result.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(varies(result.res)).toBe(true);
  });

  test("an operation that does not touch the session does not vary on Cookie", async () => {
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    const { res, data } = await visitor.request("{ __typename }");
    expect(data).toEqual({ __typename: "Query" });
    expect(varies(res)).toBe(false);
    expectNoSetCookie(res);
  });
});

describe("when a new visitor only reads", () => {
  test("no cookie is set and no record is created", async () => {
    const save = jest.spyOn(server.store, "save");
    try {
      const { res, data } = await server.client().request(READ);
      expect(data).toEqual({ session: { id: null, data: {}, version: 0 } });
      expectNoSetCookie(res);
      expect(save).not.toHaveBeenCalled();
    } finally {
      save.mockRestore();
    }
  });
});

describe("when the session becomes empty", () => {
  const sessionKeyOf = (res: Response) =>
    new CookieSigner([TEST_SECRET]).unsign(expectSessionCookie(res).value as string) as string;

  test("popping the last key deletes the record and expires the cookie", async () => {
    const visitor = server.client();
    const sessionKey = sessionKeyOf((await visitor.request(SET, { key: "only", value: 1 })).res);
    const { res, data } = await visitor.request(POP, { key: "only" });
    expect(data).toEqual({ popSession: { found: true, session: { id: null, version: 0 } } });
    const cookie = expectCookieCleared(res);
    expect(cookie).toMatchObject({ path: "/", sameSite: "lax", httpOnly: true });
    expect(cookie.secure).toBeFalsy();
    expect(cookie.domain).toBeUndefined();
    expect(await server.store.load(sessionKey)).toBeUndefined();
  });

  test("clearing deletes the record and expires the cookie", async () => {
    const visitor = server.client();
    const sessionKey = sessionKeyOf((await visitor.request(SET, { key: "a", value: 1 })).res);
    await visitor.request(SET, { key: "b", value: 2 });
    const { res, data } = await visitor.request(CLEAR);
    expect(data).toEqual({ clearSession: { id: null, version: 0, isEmpty: true } });
    expectCookieCleared(res);
    expect(await server.store.load(sessionKey)).toBeUndefined();
  });

  test("the deleting cookie is written in full: Max-Age=0 and an Expires in 1970", async () => {
    const visitor = server.client();
    await visitor.request(SET, { key: "a", value: 1 });
    const raw = rawSetCookie((await visitor.request(CLEAR)).res);
    expect(raw).toMatch(/^sessionid=;/);
    expect(raw).toMatch(/Max-Age=0/);
    expect(raw).toMatch(/Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
  });

  test("an empty session without a cookie sets no cookie", async () => {
    const visitor = server.client();
    expectNoSetCookie((await visitor.request(CLEAR)).res);
    expectNoSetCookie((await visitor.request(POP, { key: "absent" })).res);
    expectNoSetCookie((await visitor.request("mutation { flushSession { version } }")).res);
  });
});
