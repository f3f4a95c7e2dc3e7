import { loadConfig } from "../../src/config";
import { setCookiesOf } from "../helpers/cookies";
import { startTestServer, TEST_SECRET, type TestServer } from "../helpers/server";

const HEADER = "X-Session-Token";
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { id version } }";
const READ = "{ session { id data version } }";
const CYCLE = "mutation { cycleSessionKey { id } }";
const FLUSH = "mutation { flushSession { isEmpty } }";

type Session = { id: string | null; data: Record<string, unknown>; version: number };

/** A non-browser client: it keeps the token from the response header and sends it back, never a cookie. */
class TokenClient {
  constructor(
    private readonly server: TestServer,
    public token = "",
  ) {}

  async request<T>(query: string, variables?: Record<string, unknown>, extra: Record<string, string> = {}) {
    const res = await fetch(this.server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", [HEADER]: this.token, ...extra },
      body: JSON.stringify({ query, variables }),
    });
    const answered = res.headers.get(HEADER);
    if (answered !== null) this.token = answered;
    const body = (await res.json()) as { data?: T; errors?: Array<{ extensions?: { code?: string } }> };
    return { res, answered, data: body.data, errors: body.errors };
  }

  async read(): Promise<Session> {
    return ((await this.request<{ session: Session }>(READ)).data as { session: Session }).session;
  }
}

describe("with SESSION_HEADER set", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer({ env: { SESSION_HEADER: HEADER } });
  });
  afterEach(async () => {
    await server.close();
  });

  test("a first write issues the signed key in the response header, never a cookie", async () => {
    const client = new TokenClient(server);
    const written = await client.request(SET, { key: "cart", value: [1, 2] });
    expect(written.answered).toMatch(/^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
    expect(setCookiesOf(written.res)).toEqual([]);
    expect(written.res.headers.get("vary")).toMatch(/X-Session-Token/);
    await expect(client.read()).resolves.toMatchObject({ data: { cart: [1, 2] }, version: 1 });
  });

  test("a read sends no header back; a second write on the same session keeps the key", async () => {
    const client = new TokenClient(server);
    await client.request(SET, { key: "a", value: 1 });
    const first = client.token;
    const read = await client.request(READ);
    expect(read.answered).toBeNull();
    const again = await client.request(SET, { key: "b", value: 2 });
    expect(again.answered).toBe(first);
  });

  test("cycling the key sends the new one; the old one then names no session", async () => {
    const client = new TokenClient(server);
    await client.request(SET, { key: "user", value: 7 });
    const old = client.token;
    const cycled = await client.request(CYCLE);
    expect(cycled.answered).not.toBe(old);
    await expect(client.read()).resolves.toMatchObject({ data: { user: 7 } });

    const stale = new TokenClient(server, old);
    const answer = await stale.request<{ session: Session }>(READ);
    expect(answer.data?.session).toMatchObject({ data: {}, version: 0 });
    // As an unknown cookie gets expired, an unknown token is answered with an empty header: forget it.
    expect(answer.answered).toBe("");
  });

  test("flushing the session answers an empty header", async () => {
    const client = new TokenClient(server);
    await client.request(SET, { key: "a", value: 1 });
    const flushed = await client.request(FLUSH);
    expect(flushed.answered).toBe("");
    expect(client.token).toBe("");
    await expect(client.read()).resolves.toMatchObject({ data: {}, version: 0 });
  });

  test("a forged token names no session and is answered with an empty header", async () => {
    const client = new TokenClient(server);
    await client.request(SET, { key: "secret", value: "mine" });
    const [key] = client.token.split(".");
    const forger = new TokenClient(server, `${key}.${"A".repeat(43)}`);
    const answer = await forger.request<{ session: Session }>(READ);
    expect(answer.data?.session.data).toEqual({});
    expect(answer.answered).toBe("");
  });

  test("a token expires with the session, by the server's clock", async () => {
    const client = new TokenClient(server);
    await client.request(SET, { key: "a", value: 1 });
    server.clock.advance(1209600 + 1);
    const answer = await client.request<{ session: Session }>(READ);
    expect(answer.data?.session.data).toEqual({});
    expect(answer.answered).toBe("");
  });

  test("the header wins over a cookie, and a repeated header names no session", async () => {
    const browser = server.client();
    await browser.request(SET, { key: "via", value: "cookie" });
    const cookie = browser.jar.header() as string;
    const client = new TokenClient(server);
    await client.request(SET, { key: "via", value: "header" });

    const both = await client.request<{ session: Session }>(READ, undefined, { cookie });
    expect(both.data?.session.data).toEqual({ via: "header" });

    const res = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: [
        ["content-type", "application/json"],
        [HEADER, client.token],
        [HEADER, client.token],
      ],
      body: JSON.stringify({ query: READ }),
    });
    const body = (await res.json()) as { data: { session: Session } };
    // fetch joins repeated fields with ", ", which is no valid token either.
    expect(body.data.session.data).toEqual({});
  });

  test("cookie clients are unaffected: a cookie, no token header, and Vary names both", async () => {
    const browser = server.client();
    const written = await browser.request(SET, { key: "a", value: 1 });
    expect(setCookiesOf(written.res)).toHaveLength(1);
    expect(written.res.headers.get(HEADER)).toBeNull();
    expect(written.res.headers.get("vary")).toMatch(/Cookie, X-Session-Token/);
  });

  test("CORS lets listed origins send the header and read it back", async () => {
    await server.close();
    server = await startTestServer({ env: { SESSION_HEADER: HEADER, CORS_ORIGINS: "http://127.0.0.1:9" } });
    const preflight = await fetch(server.graphqlUrl, {
      method: "OPTIONS",
      headers: {
        origin: "http://127.0.0.1:9",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-session-token",
      },
    });
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("x-session-token");
    const client = new TokenClient(server);
    const written = await client.request(SET, { key: "a", value: 1 }, { origin: "http://127.0.0.1:9" });
    expect(written.res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain(
      "x-session-token",
    );
  });
});

describe("without SESSION_HEADER", () => {
  test("the header is ignored and answers never carry it", async () => {
    const server = await startTestServer();
    try {
      const client = new TokenClient(server);
      const written = await client.request(SET, { key: "a", value: 1 });
      expect(written.answered).toBeNull();
      expect(setCookiesOf(written.res)).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe("SESSION_HEADER in the configuration", () => {
  const configWith = (value: string) => () =>
    loadConfig({ SESSION_SECRET: TEST_SECRET, SESSION_HEADER: value, SESSION_STORE: "memory://" });

  test("takes a header name", () => {
    expect(configWith("X-Session-Token")().sessionHeader).toBe("X-Session-Token");
  });

  test.each([
    ["a name with a space", "X Session", /SESSION_HEADER must be an HTTP header name/],
    ["a name over 64 characters", `X-${"a".repeat(63)}`, /SESSION_HEADER must be an HTTP header name/],
    ["the cookie header", "Cookie", /SESSION_HEADER must not be Cookie/],
    ["Set-Cookie", "set-cookie", /SESSION_HEADER must not be set-cookie/],
    ["Authorization", "Authorization", /SESSION_HEADER must not be Authorization/],
  ])("refuses %s", (_, value, message) => {
    expect(configWith(value)).toThrow(message);
  });
});
