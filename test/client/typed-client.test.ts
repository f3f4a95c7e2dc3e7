import { join, relative } from "node:path";
import { build } from "esbuild";
import {
  createSessionClient,
  type SessionClient,
  SessionClientError,
  type SessionClientOptions,
  type SessionSnapshot,
} from "../../src/client/index";
import { startTestServer, type TestServer } from "../helpers/server";

const ROOT = join(__dirname, "..", "..");
const DEFAULT_AGE_SECONDS = 1209600;
const TOKEN_HEADER = "X-Session-Token";

/** One request as it went out, and the Set-Cookie headers of its answer. */
interface Exchange {
  headers: Headers;
  credentials: unknown;
  setCookies: string[];
}

/** A fetch that sends through the real one and remembers each exchange. */
function recordingFetch(): { fetch: typeof fetch; sent: Exchange[] } {
  const sent: Exchange[] = [];
  return {
    sent,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      const setCookies = response.headers.getSetCookie();
      sent.push({ headers: new Headers(init?.headers), credentials: init?.credentials, setCookies });
      return response;
    },
  };
}

describe("outside a browser, where the client keeps the session cookie itself", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  const newClient = (options: Partial<SessionClientOptions> = {}): SessionClient =>
    createSessionClient({ url: server.graphqlUrl, ...options });

  test("a value that is set is read back and reported present", async () => {
    const client = newClient();
    expect(client.token).toBeUndefined();

    const snapshot: SessionSnapshot = await client.set("cart", { items: [1, 2] });
    expect(snapshot).toMatchObject({ data: { cart: { items: [1, 2] } }, keys: ["cart"], version: 1 });
    expect(snapshot.id).toEqual(expect.any(String));
    expect(client.token).toEqual(expect.any(String));

    expect(await client.get("cart")).toEqual({ items: [1, 2] });
    expect(await client.has("cart")).toBe(true);
    expect(await client.has("coupon")).toBe(false);
    expect((await client.session()).data).toEqual({ cart: { items: [1, 2] } });
  });

  test("get answers with the type asked for, and with the default when the key is absent", async () => {
    const client = newClient();
    await client.set("n", 7);
    const n: number | undefined = await client.get<number>("n");
    expect(n).toBe(7);
    const theme: string | undefined = await client.get("theme", "light");
    expect(theme).toBe("light");
    expect(await client.get("theme")).toBeUndefined();
  });

  test("a stored falsy value reads as itself, not as the default", async () => {
    const client = newClient();
    await client.update({ zero: 0, no: false, empty: "" });
    expect(await client.get("zero", 5)).toBe(0);
    expect(await client.get("no", true)).toBe(false);
    expect(await client.get("empty", "default")).toBe("");
  });

  test("another client, without the cookie, sees an empty session", async () => {
    await newClient().set("user", "ada");
    const stranger = newClient();
    expect(await stranger.session()).toEqual({
      id: null,
      data: {},
      keys: [],
      isEmpty: true,
      expiresAt: expect.any(String),
      expiryAge: DEFAULT_AGE_SECONDS,
      expireAtBrowserClose: false,
      version: 0,
    });
    expect(await stranger.get("user")).toBeUndefined();
  });

  test("pop answers a present value once, then the default", async () => {
    const client = newClient();
    await client.update({ lang: "fr", theme: "dark" });

    const popped = await client.pop<string>("lang");
    const value: string | undefined = popped.value;
    expect(value).toBe("fr");
    expect(popped.found).toBe(true);
    expect(popped.session.data).toEqual({ theme: "dark" });

    expect(await client.pop("lang", "en")).toMatchObject({ found: false, value: "en" });
    expect(await client.pop("lang")).toMatchObject({ found: false, value: undefined });
    expect(await client.get("lang")).toBeUndefined();
  });

  test("update sets several values in one change", async () => {
    const client = newClient();
    await client.set("cart", []);
    const snapshot = await client.update({ theme: "dark", lang: "fr" });
    expect(snapshot.data).toEqual({ cart: [], theme: "dark", lang: "fr" });
    expect(snapshot.version).toBe(2);
  });

  test("setExpiry changes the expiry age, and null restores the default", async () => {
    const client = newClient();
    await client.set("user", "ada");

    const timed = await client.setExpiry(60);
    expect(timed).toMatchObject({ expiryAge: 60, expireAtBrowserClose: false });
    expect(Date.parse(timed.expiresAt as string)).toBe(server.clock.now() + 60_000);
    expect(await client.setExpiry(0)).toMatchObject({ expireAtBrowserClose: true, expiresAt: null });
    expect(await client.setExpiry(null)).toMatchObject({
      expiryAge: DEFAULT_AGE_SECONDS,
      expireAtBrowserClose: false,
      data: { user: "ada" },
    });
  });

  test("cycleKey keeps the data under a new id and cookie, and the old cookie reads nothing", async () => {
    const client = newClient();
    const before = await client.set("user", "ada");
    const oldToken = client.token;

    const cycled = await client.cycleKey();
    expect(cycled.data).toEqual({ user: "ada" });
    expect(cycled.id).toEqual(expect.any(String));
    expect(cycled.id).not.toBe(before.id);
    expect(client.token).toEqual(expect.any(String));
    expect(client.token).not.toBe(oldToken);
    expect(await client.get("user")).toBe("ada");

    const holderOfOldCookie = newClient({ token: oldToken as string });
    expect(await holderOfOldCookie.session()).toMatchObject({ id: null, isEmpty: true });
  });

  test("a client started with a kept token carries on the same session", async () => {
    const first = newClient();
    await first.set("user", "ada");
    const resumed = newClient({ token: first.token as string });
    expect(await resumed.get("user")).toBe("ada");
  });

  test("flush ends the session and forgets the cookie", async () => {
    const client = newClient();
    await client.set("user", "ada");
    const oldToken = client.token as string;

    expect(await client.flush()).toMatchObject({ data: {}, keys: [], isEmpty: true });
    expect(client.token).toBeUndefined();
    expect(await client.session()).toMatchObject({ id: null, data: {}, version: 0 });
    expect((await newClient({ token: oldToken }).session()).data).toEqual({});
  });

  test("clear empties the session and forgets the cookie", async () => {
    const client = newClient();
    await client.update({ user: "ada", theme: "dark" });
    expect(await client.clear()).toMatchObject({ data: {}, keys: [], isEmpty: true });
    expect(client.token).toBeUndefined();
  });

  test("a rejected key throws BAD_USER_INPUT and leaves the session as it was", async () => {
    const client = newClient();
    const before = await client.set("user", "ada");
    const token = client.token;

    const error = await client.set("k".repeat(257), 1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionClientError);
    expect(error).toMatchObject({ name: "SessionClientError", code: "BAD_USER_INPUT", status: 200 });
    expect((error as SessionClientError).message).toMatch(/key/);

    expect(client.token).toBe(token);
    expect(await client.session()).toEqual(before);
  });

  test("cookies from the headers option travel alongside the session cookie", async () => {
    const recorder = recordingFetch();
    const client = newClient({ fetch: recorder.fetch, headers: { cookie: "theme=dark" } });
    await client.set("user", "ada");
    await client.session();
    expect(recorder.sent[1]?.headers.get("cookie")).toBe(`theme=dark; sessionid=${client.token}`);
    expect(recorder.sent[1]?.headers.get("content-type")).toBe("application/json");
  });

  test("a custom cookie name is the one kept and sent", async () => {
    const named = await startTestServer({ env: { SESSION_COOKIE_NAME: "visit" } });
    try {
      const recorder = recordingFetch();
      const client = createSessionClient({
        url: named.graphqlUrl,
        cookieName: "visit",
        fetch: recorder.fetch,
      });
      await client.set("user", "ada");
      expect(client.token).toEqual(expect.any(String));
      expect(await client.get("user")).toBe("ada");
      expect(recorder.sent[1]?.headers.get("cookie")).toBe(`visit=${client.token}`);
    } finally {
      await named.close();
    }
  });

  test("an answer that is not GraphQL throws with its HTTP status", async () => {
    const client = createSessionClient({ url: `${server.url}/nowhere` });
    const error = await client.session().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionClientError);
    expect(error).toMatchObject({ status: 404, code: undefined });
  });
});

// No real server sets a cookie with Expires alone or answers with HTML, so these answers are written by hand.
describe("when answers come from elsewhere", () => {
  const EMPTY_SESSION = {
    session: {
      id: null,
      data: {},
      keys: [],
      isEmpty: true,
      expiresAt: null,
      expiryAge: 0,
      expireAtBrowserClose: true,
      version: 0,
    },
  };

  /** A client whose every answer is the next of `setCookies`, with an empty session as its data. */
  function clientAnswering(setCookies: string[][]): {
    client: SessionClient;
    cookiesSent: Array<string | null>;
  } {
    const cookiesSent: Array<string | null> = [];
    const client = createSessionClient({
      url: "http://127.0.0.1:9/graphql",
      fetch: async (_input, init) => {
        cookiesSent.push(new Headers(init?.headers).get("cookie"));
        const headers = (setCookies.shift() ?? []).map((value): [string, string] => ["set-cookie", value]);
        return Response.json({ data: EMPTY_SESSION }, { headers });
      },
    });
    return { client, cookiesSent };
  }

  test("an Expires in the past forgets the cookie, one in the future keeps it", async () => {
    const { client, cookiesSent } = clientAnswering([
      ["sessionid=abc; Path=/; Expires=Fri, 01 Jan 2100 00:00:00 GMT"],
      ["sessionid=abc; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"],
    ]);
    await client.session();
    expect(client.token).toBe("abc");
    await client.session();
    expect(client.token).toBeUndefined();
    await client.session();
    expect(cookiesSent).toEqual([null, "sessionid=abc", null]);
  });

  test("Max-Age wins over Expires, and an empty value is never kept", async () => {
    const { client } = clientAnswering([
      ["sessionid=abc; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT"],
      ["sessionid=def; Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT"],
      ["sessionid=ghi"],
      ["sessionid=; Path=/"],
    ]);
    await client.session();
    expect(client.token).toBe("abc");
    await client.session();
    expect(client.token).toBeUndefined();
    await client.session();
    expect(client.token).toBe("ghi");
    await client.session();
    expect(client.token).toBeUndefined();
  });

  test("other cookies are ignored, and an answer without Set-Cookie keeps the cookie", async () => {
    const { client } = clientAnswering([["sessionid=abc", "theme=dark; Max-Age=0"], [], ["theme=light"]]);
    await client.session();
    await client.session();
    await client.session();
    expect(client.token).toBe("abc");
  });

  test("a cookie value is sent back encoded the way it came", async () => {
    const { client, cookiesSent } = clientAnswering([["sessionid=a%20b; Max-Age=60"]]);
    await client.session();
    expect(client.token).toBe("a b");
    await client.session();
    expect(cookiesSent[1]).toBe("sessionid=a%20b");
  });

  test("an answer that is not JSON throws a SessionClientError with the status", async () => {
    const client = createSessionClient({
      url: "http://127.0.0.1:9/graphql",
      fetch: async () => new Response("<html>Bad gateway</html>", { status: 502 }),
    });
    const error = await client.session().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionClientError);
    expect(error).toMatchObject({ status: 502, code: undefined });
    expect((error as SessionClientError).message).toMatch(/HTTP 502 without valid JSON/);
  });
});

describe("in a browser, which keeps the cookie itself", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    Object.defineProperty(globalThis, "document", { value: {}, configurable: true });
  });
  afterAll(async () => {
    Reflect.deleteProperty(globalThis, "document");
    await server.close();
  });

  test("the client neither reads Set-Cookie nor sends a Cookie header, and passes credentials on", async () => {
    const recorder = recordingFetch();
    const client = createSessionClient({
      url: server.graphqlUrl,
      fetch: recorder.fetch,
      credentials: "include",
    });
    await client.set("user", "ada");
    expect(client.token).toBeUndefined();
    // Node's fetch keeps no cookies, so without the browser the value is gone: the client kept nothing.
    expect(await client.get("user")).toBeUndefined();
    expect(recorder.sent.map(({ headers }) => headers.get("cookie"))).toEqual([null, null]);
    expect(recorder.sent.map(({ credentials }) => credentials)).toEqual(["include", "include"]);
  });
});

describe("over the header transport", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SESSION_HEADER: TOKEN_HEADER } });
  });
  afterAll(() => server.close());

  const newClient = (options: Partial<SessionClientOptions> = {}): SessionClient =>
    createSessionClient({ url: server.graphqlUrl, transport: { header: TOKEN_HEADER }, ...options });

  test("a value set is read back through the token, and a client given the token resumes the session", async () => {
    const recorder = recordingFetch();
    const client = newClient({ fetch: recorder.fetch });
    await client.set("user", "ada");
    expect(client.token).toEqual(expect.any(String));
    expect(await client.get("user")).toBe("ada");
    // The first request, with no token yet, sends the header empty to ask for the header transport.
    expect(recorder.sent.map(({ headers }) => headers.get(TOKEN_HEADER))).toEqual(["", client.token]);
    expect(
      recorder.sent.flatMap(({ headers, setCookies }) => [headers.get("cookie"), ...setCookies]),
    ).toEqual([null, null]);

    expect(await newClient({ token: client.token as string }).get("user")).toBe("ada");
    expect(await newClient().get("user")).toBeUndefined();
  });

  test("cycleKey replaces the token, and the old one reads nothing", async () => {
    const client = newClient();
    await client.set("user", "ada");
    const oldToken = client.token as string;
    await client.cycleKey();
    expect(client.token).toEqual(expect.any(String));
    expect(client.token).not.toBe(oldToken);
    expect(await client.get("user")).toBe("ada");
    expect((await newClient({ token: oldToken }).session()).isEmpty).toBe(true);
  });

  test("flush ends the session and forgets the token", async () => {
    const client = newClient();
    await client.set("user", "ada");
    const oldToken = client.token as string;
    await client.flush();
    expect(client.token).toBeUndefined();
    expect((await client.session()).data).toEqual({});
    expect((await newClient({ token: oldToken }).session()).data).toEqual({});
  });

  test("a rejected key throws BAD_USER_INPUT and keeps the token", async () => {
    const client = newClient();
    await client.set("user", "ada");
    const token = client.token;
    await expect(client.set("k".repeat(257), 1)).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
    expect(client.token).toBe(token);
    expect(await client.get("user")).toBe("ada");
  });
});

describe("the client module", () => {
  test("bundles for the browser from graphql, cookie, graphql-ws and its own files alone", async () => {
    const result = await build({
      entryPoints: [join(ROOT, "src", "client", "index.ts")],
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const packagesAndFolders = Object.keys(result.metafile.inputs).map((input) => {
      const path = relative(ROOT, join(process.cwd(), input)).split("\\").join("/");
      return path.startsWith("node_modules/")
        ? path.split("/").slice(0, 2).join("/")
        : path.replace(/[^/]+$/, "");
    });
    expect([...new Set(packagesAndFolders)].sort()).toEqual([
      "node_modules/cookie",
      "node_modules/graphql",
      "node_modules/graphql-ws",
      "src/client/",
    ]);
  });
});

describe("the features beyond Django through the typed client", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test("ifVersion: a stale write throws VERSION_CONFLICT with the current version, and nothing changes", async () => {
    const tab = createSessionClient({ url: server.graphqlUrl });
    const first = await tab.set("note", "draft", { ifVersion: 0 });
    expect(first.version).toBe(1);
    await tab.set("note", "final", { ifVersion: 1 });
    const refused = await tab.set("note", "stale", { ifVersion: 1 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SessionClientError);
    expect(refused).toMatchObject({ code: "VERSION_CONFLICT", version: 2 });
    expect(await tab.get("note")).toBe("final");
  });

  test("setDefault, expiresIn and a fixed expiry Date", async () => {
    const client = createSessionClient({ url: server.graphqlUrl });
    expect(await client.setDefault("theme", "dark")).toMatchObject({ found: false, value: "dark" });
    expect(await client.setDefault("theme", "light")).toMatchObject({ found: true, value: "dark" });
    await client.set("flash", "Saved", { expiresIn: 30 });
    const at = new Date(server.clock.now() + 3_600_000);
    const session = await client.setExpiry(at);
    expect(session).toMatchObject({
      expiresAt: at.toISOString(),
      expiryAge: 3600,
      expireAtBrowserClose: false,
    });
    server.clock.advance(31);
    expect(await client.has("flash")).toBe(false);
  });
});
