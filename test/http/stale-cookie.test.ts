import { CookieSigner } from "../../src/http/cookie";
import { newSessionKey } from "../../src/session/keys";
import { createStore } from "../../src/stores/index";
import { ManualClock } from "../helpers/clock";
import { CookieJar, expectCookieCleared, expectNoSetCookie, expectSessionCookie } from "../helpers/cookies";
import { startTestServer, TEST_SECRET, type TestServer } from "../helpers/server";

const READ = "{ session { id data version } }";
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { id version } }";
const RETIRED_SECRET = "retired-secret-0123456789abcdef";
const ATTACKER_SECRET = "attacker-secret-0123456789abcdef";

const signer = new CookieSigner([TEST_SECRET]);

/** The session key a response's cookie carries. */
function sessionKeyOf(res: Response): string {
  return signer.unsign(expectSessionCookie(res).value as string) as string;
}

/** A visitor who stored some data: the signed cookie and the key under it. */
async function liveSession(server: TestServer): Promise<{ cookie: string; sessionKey: string }> {
  const visitor = server.client();
  const { res } = await visitor.request(SET, { key: "owner", value: "victim" });
  return { cookie: visitor.jar.get() as string, sessionKey: sessionKeyOf(res) };
}

/** A cookie that names no live session. */
interface StaleCookie {
  cookie: string;
  /** The real cookie of a live session whose key the stale cookie borrows; that session must stay untouched. */
  victim?: string;
}

const staleCookies: Array<[string, (server: TestServer) => Promise<StaleCookie>]> = [
  [
    "is forged",
    async (server) => {
      const { sessionKey, cookie } = await liveSession(server);
      const forged = new CookieSigner([ATTACKER_SECRET]).sign(sessionKey);
      expect(forged).not.toBe(cookie);
      return { cookie: forged, victim: cookie };
    },
  ],
  ["is malformed", async () => ({ cookie: "not.a-session%20cookie" })],
  [
    "is signed with a retired secret",
    async (server) => {
      const { sessionKey, cookie } = await liveSession(server);
      return { cookie: new CookieSigner([RETIRED_SECRET]).sign(sessionKey), victim: cookie };
    },
  ],
  ["names an unknown session", async () => ({ cookie: signer.sign(newSessionKey()) })],
  [
    "names an expired session",
    async (server) => {
      const { cookie } = await liveSession(server);
      server.clock.advance(1209600 + 1);
      return { cookie };
    },
  ],
];

describe.each(staleCookies)("when the cookie %s", (_name, present) => {
  let server: TestServer;
  let stale: StaleCookie;
  beforeEach(async () => {
    server = await startTestServer({ clock: new ManualClock() });
    stale = await present(server);
  });
  afterEach(() => server.close());

  const visitorWithStaleCookie = () => {
    const jar = new CookieJar();
    jar.set("sessionid", stale.cookie);
    return server.client(jar);
  };

  test("it reads as no session", async () => {
    const { data } = await visitorWithStaleCookie().request(READ);
    expect(data).toEqual({ session: { id: null, data: {}, version: 0 } });
  });

  test("a request that touched the session expires the stale cookie", async () => {
    expectCookieCleared((await visitorWithStaleCookie().request(READ)).res);
  });

  test("a request that did not touch the session leaves the cookie alone", async () => {
    expectNoSetCookie((await visitorWithStaleCookie().request("{ __typename }")).res);
  });

  test("a save issues a fresh session key", async () => {
    const visitor = visitorWithStaleCookie();
    const { res, data } = await visitor.request(SET, { key: "mine", value: 1 });
    expect(data).toEqual({ setSession: { id: expect.any(String), version: 1 } });
    const cookie = expectSessionCookie(res);
    expect(cookie.value).not.toBe(stale.cookie);
    const presentedKey = stale.cookie.slice(0, stale.cookie.lastIndexOf("."));
    expect(sessionKeyOf(res)).not.toBe(presentedKey);
    expect(await visitor.data()).toEqual({ mine: 1 });
  });

  test("after a save, the presented cookie still names nothing", async () => {
    await visitorWithStaleCookie().request(SET, { key: "mine", value: 1 });
    const { res, data } = await visitorWithStaleCookie().request(READ);
    expect(data).toEqual({ session: { id: null, data: {}, version: 0 } });
    expectCookieCleared(res);
  });

  test("changes made through it never reach a live session", async () => {
    await visitorWithStaleCookie().request(SET, { key: "mine", value: 1 });
    await visitorWithStaleCookie().request("mutation { clearSession { version } }");
    await visitorWithStaleCookie().request("mutation { cycleSessionKey { version } }");
    await visitorWithStaleCookie().request("mutation { flushSession { version } }");
    // Only the forged and retired cookies borrow the key of a live session; the others have none to spoil.
    const victim = stale.victim ?? (await liveSession(server)).cookie;
    const jar = new CookieJar();
    jar.set("sessionid", victim);
    const { data } = await server.client(jar).request(READ);
    expect(data?.session).toMatchObject({ data: { owner: "victim" }, version: 1 });
  });
});

describe("when the secrets are rotated", () => {
  const clock = new ManualClock();
  const rotatedEnv = { SESSION_SECRET: `${TEST_SECRET},${RETIRED_SECRET}` };
  const running: TestServer[] = [];
  afterEach(async () => {
    for (const server of running.splice(0)) await server.close();
  });

  /** A session saved under the old secret, then the server restarted with a new first secret on the same store. */
  async function restartWithNewSecret() {
    const store = createStore("memory://", clock);
    const before = await startTestServer({ env: { SESSION_SECRET: RETIRED_SECRET }, store, clock });
    const visitor = before.client();
    await visitor.request(SET, { key: "a", value: 1 });
    const oldCookie = visitor.jar.get() as string;
    // A memory store outlives close(), which is what lets one store object serve the restarted server.
    await before.close();
    const after = await startTestServer({ env: rotatedEnv, store, clock });
    running.push(after);
    return { after, jar: visitor.jar, oldCookie };
  }

  test("a cookie signed with the old secret still reads its session", async () => {
    const { after, jar } = await restartWithNewSecret();
    const { res, data } = await after.client(jar).request(READ);
    expect(data?.session).toMatchObject({ data: { a: 1 }, version: 1 });
    expectNoSetCookie(res);
  });

  test("the next save signs the same key with the new secret", async () => {
    const { after, jar, oldCookie } = await restartWithNewSecret();
    const { res } = await after.client(jar).request(SET, { key: "b", value: 2 });
    const { value } = expectSessionCookie(res);
    expect(value).not.toBe(oldCookie);
    const oldKey = new CookieSigner([RETIRED_SECRET]).unsign(oldCookie);
    expect(new CookieSigner([TEST_SECRET]).unsign(value as string)).toBe(oldKey);
    expect(new CookieSigner([RETIRED_SECRET]).unsign(value as string)).toBeUndefined();
    expect(await after.client(jar).data()).toEqual({ a: 1, b: 2 });
  });
});
