import { parseSetCookie } from "cookie";
import { createStore } from "../../src/stores/index";
import { ManualClock } from "../helpers/clock";
import { expectNoSetCookie, expectSessionCookie, setCookiesOf } from "../helpers/cookies";
import { startRedisServer } from "../helpers/redis";
import { type GraphQLClient, startTestServer, type TestServer } from "../helpers/server";
import { describeWithService } from "../helpers/services";

// "Precise rules of the session features beyond Django", one describe per rule, through real HTTP, on the memory
// store and on Redis (a store instances share). Time is the servers' injected clock.

const SESSION = "{ session { version data keys isEmpty expiresAt expiryAge createdAt } }";
const SET =
  "mutation($key: String!, $value: JSON!, $expiresIn: Int, $ifVersion: Int) { setSession(key: $key, value: $value, expiresIn: $expiresIn, ifVersion: $ifVersion) { version } }";

interface SessionView {
  version: number;
  data: Record<string, unknown>;
  keys: string[];
  isEmpty: boolean;
  expiresAt: string | null;
  expiryAge: number;
  createdAt: string | null;
}

async function sessionOf(client: GraphQLClient): Promise<SessionView> {
  const { data, errors } = await client.request<{ session: SessionView }>(SESSION);
  expect(errors).toBeUndefined();
  return data?.session as SessionView;
}

async function set(client: GraphQLClient, key: string, value: unknown, extra: Record<string, number> = {}) {
  return client.request<{ setSession: { version: number } }>(SET, { key, value, ...extra });
}

/** A store backend the rules run on: its URL, and how to remove it afterwards. */
interface Backend {
  url: string;
  stop(): Promise<void>;
}

describe("on the memory store", () => {
  describeRules(async () => ({ url: "memory://", stop: async () => {} }));
});

describeWithService("redis", "on the Redis store", () => {
  describeRules(async () => {
    const redis = await startRedisServer();
    return { url: redis.url, stop: () => redis.stop() };
  });
});

/** Every rule, through servers on the backend `open` makes. */
function describeRules(open: () => Promise<Backend>): void {
  let backend: Backend;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    backend = await open();
  });
  // The servers first: their store clients close while the backend still answers.
  afterAll(async () => {
    for (const server of servers.splice(0)) await server.close();
    await backend?.stop();
  });

  /** A server on this store with `env`, on a clock of its own. */
  async function serve(env: Record<string, string> = {}): Promise<TestServer> {
    const clock = new ManualClock();
    const server = await startTestServer({ env, clock, store: createStore(backend.url, clock) });
    servers.push(server);
    return server;
  }

  describe("ifVersion", () => {
    test("a change given the stored version applies; a stale one is VERSION_CONFLICT with the current version, changes nothing and sets no cookie", async () => {
      const server = await serve();
      const tab = server.client();
      expect((await set(tab, "cart", [1], { ifVersion: 0 })).data?.setSession.version).toBe(1);
      expect((await set(tab, "cart", [1, 2], { ifVersion: 1 })).data?.setSession.version).toBe(2);
      const stale = await set(tab, "cart", ["lost"], { ifVersion: 1 });
      expect(stale.errors?.[0]?.extensions).toEqual({ code: "VERSION_CONFLICT", version: 2 });
      expectNoSetCookie(stale.res);
      expect(await sessionOf(tab)).toMatchObject({ version: 2, data: { cart: [1, 2] } });
    });

    test("two tabs that read the same version: the second's stale write is refused instead of lost", async () => {
      const server = await serve();
      const first = server.client();
      await set(first, "note", "draft");
      const second = server.client(first.jar);
      const seen = (await sessionOf(first)).version;
      expect((await set(first, "note", "first tab", { ifVersion: seen })).errors).toBeUndefined();
      const refused = await set(second, "note", "second tab", { ifVersion: seen });
      expect(refused.errors?.[0]?.extensions).toEqual({ code: "VERSION_CONFLICT", version: seen + 1 });
      expect((await sessionOf(second)).data).toEqual({ note: "first tab" });
    });

    test("ifVersion 0 applies only while no session is stored", async () => {
      const server = await serve();
      const visitor = server.client();
      await set(visitor, "a", 1);
      const refused = await set(visitor, "b", 2, { ifVersion: 0 });
      expect(refused.errors?.[0]?.extensions).toEqual({ code: "VERSION_CONFLICT", version: 1 });
    });

    test.each([
      ["setSessionDefault", 'mutation { setSessionDefault(key: "x", value: 1, ifVersion: 7) { found } }'],
      ["popSession", 'mutation { popSession(key: "k", ifVersion: 7) { found } }'],
      ["clearSession", "mutation { clearSession(ifVersion: 7) { version } }"],
      ["updateSession", "mutation { updateSession(values: { x: 1 }, ifVersion: 7) { version } }"],
      ["flushSession", "mutation { flushSession(ifVersion: 7) { version } }"],
      ["cycleSessionKey", "mutation { cycleSessionKey(ifVersion: 7) { version } }"],
      ["setSessionExpiry", "mutation { setSessionExpiry(seconds: 60, ifVersion: 7) { version } }"],
    ])("%s takes it too", async (_mutation, query) => {
      const server = await serve();
      const visitor = server.client();
      await set(visitor, "k", "kept");
      const cookie = visitor.jar.get();
      const refused = await visitor.request(query);
      expect(refused.errors?.[0]?.extensions).toEqual({ code: "VERSION_CONFLICT", version: 1 });
      expectNoSetCookie(refused.res);
      expect(visitor.jar.get()).toBe(cookie);
      expect(await sessionOf(visitor)).toMatchObject({ version: 1, data: { k: "kept" } });
    });
  });

  describe("setSessionDefault", () => {
    const DEFAULT =
      'mutation($value: JSON!) { setSessionDefault(key: "theme", value: $value) { found value session { version } } }';

    test("an absent key is stored (a saving change) and found is false; a present key is left alone", async () => {
      const server = await serve();
      const visitor = server.client();
      const first = await visitor.request(DEFAULT, { value: "dark" });
      expect(first.data).toEqual({
        setSessionDefault: { found: false, value: "dark", session: { version: 1 } },
      });
      expectSessionCookie(first.res);
      const second = await visitor.request(DEFAULT, { value: "light" });
      expect(second.data).toEqual({
        setSessionDefault: { found: true, value: "dark", session: { version: 1 } },
      });
      expectNoSetCookie(second.res);
    });
  });

  describe("Entry expiry (expiresIn)", () => {
    test("the entry is gone for every reader once its time passes, and the next save drops it", async () => {
      const server = await serve();
      const visitor = server.client();
      await set(visitor, "flash", "Saved!", { expiresIn: 10 });
      await set(visitor, "cart", [1]);
      const { data } = await visitor.request<{ session: { keyExpiresAt: string; other: null } }>(
        '{ session { keyExpiresAt(key: "flash") other: keyExpiresAt(key: "cart") } }',
      );
      expect(new Date(data?.session.keyExpiresAt as string).getTime()).toBe(server.clock.now() + 10_000);
      expect(data?.session.other).toBeNull();
      server.clock.advance(11);
      const after = await visitor.request<{ session: Record<string, unknown> }>(
        '{ session { data keys get(key: "flash") has(key: "flash") keyExpiresAt(key: "flash") } }',
      );
      expect(after.data?.session).toEqual({
        data: { cart: [1] },
        keys: ["cart"],
        get: null,
        has: false,
        keyExpiresAt: null,
      });
    });

    test("setting the key again without expiresIn removes its expiry; updateSession entries have none", async () => {
      const server = await serve();
      const visitor = server.client();
      await set(visitor, "a", 1, { expiresIn: 5 });
      await set(visitor, "a", 2);
      await set(visitor, "b", 1, { expiresIn: 5 });
      await visitor.request("mutation { updateSession(values: { b: 2 }) { version } }");
      server.clock.advance(6);
      expect((await sessionOf(visitor)).data).toEqual({ a: 2, b: 2 });
    });

    test("cycleSessionKey keeps them; a session whose entries have all expired reads as empty", async () => {
      const server = await serve();
      const visitor = server.client();
      await set(visitor, "code", "123456", { expiresIn: 30 });
      await visitor.request("mutation { cycleSessionKey { version } }");
      const kept = await visitor.request<{ session: { keyExpiresAt: string | null } }>(
        '{ session { keyExpiresAt(key: "code") } }',
      );
      expect(kept.data?.session.keyExpiresAt).not.toBeNull();
      server.clock.advance(31);
      const view = await sessionOf(visitor);
      expect(view).toMatchObject({ isEmpty: true, data: {}, keys: [] });
      // The session's own expiry is unaffected: it is still there, at the version the cycle left.
      expect(view.version).toBe(2);
    });

    test("a flash message: set with expiresIn, read once with popSession", async () => {
      const server = await serve();
      const visitor = server.client();
      await set(visitor, "flash", "Welcome back", { expiresIn: 60 });
      const popped = await visitor.request('mutation { popSession(key: "flash") { found value } }');
      expect(popped.data).toEqual({ popSession: { found: true, value: "Welcome back" } });
      const again = await visitor.request('mutation { popSession(key: "flash") { found } }');
      expect(again.data).toEqual({ popSession: { found: false } });
    });

    test.each([0, -5])("expiresIn %i is BAD_USER_INPUT", async (expiresIn) => {
      const server = await serve();
      const { errors } = await set(server.client(), "k", 1, { expiresIn });
      expect(errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect(errors?.[0]?.message).toMatch(/expiresIn/);
    });
  });

  describe("Fixed expiry (at)", () => {
    const AT =
      "mutation($at: DateTimeISO, $seconds: Int) { setSessionExpiry(at: $at, seconds: $seconds) { expiresAt expiryAge expireAtBrowserClose } }";

    test("the session ends at that moment: expiresAt, expiryAge and the cookie say so, and later saves do not move it", async () => {
      const server = await serve({ SESSION_SAVE_EVERY_REQUEST: "true" });
      const visitor = server.client();
      await set(visitor, "k", 1);
      const at = new Date(server.clock.now() + 3_600_000);
      const fixed = await visitor.request(AT, { at: at.toISOString() });
      expect(fixed.data).toEqual({
        setSessionExpiry: { expiresAt: at.toISOString(), expiryAge: 3600, expireAtBrowserClose: false },
      });
      const cookie = expectSessionCookie(fixed.res);
      expect(cookie.maxAge).toBe(3600);
      expect(cookie.expires?.toUTCString()).toBe(at.toUTCString());

      server.clock.advance(600);
      const saved = await set(visitor, "k", 2);
      expect(parseSetCookie(setCookiesOf(saved.res)[0] as string).maxAge).toBe(3000);
      await sessionOf(visitor); // SESSION_SAVE_EVERY_REQUEST re-saves on reads too
      expect(await sessionOf(visitor)).toMatchObject({ expiresAt: at.toISOString(), expiryAge: 3000 });
      server.clock.advance(3001);
      expect(await sessionOf(visitor)).toMatchObject({ version: 0, isEmpty: true });
    });

    test("at not in the future, or given together with seconds, is BAD_USER_INPUT; neither is the default policy", async () => {
      const server = await serve();
      const visitor = server.client();
      await set(visitor, "k", 1);
      const past = await visitor.request(AT, { at: new Date(server.clock.now() - 1000).toISOString() });
      expect(past.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      const both = await visitor.request(AT, {
        at: new Date(server.clock.now() + 60_000).toISOString(),
        seconds: 60,
      });
      expect(both.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      await visitor.request(AT, { at: new Date(server.clock.now() + 60_000).toISOString() });
      const back = await visitor.request<{ setSessionExpiry: { expiryAge: number } }>(AT, {});
      expect(back.data?.setSessionExpiry.expiryAge).toBe(1209600);
    });
  });

  describe("Absolute age (SESSION_ABSOLUTE_AGE)", () => {
    test("a session is over SESSION_ABSOLUTE_AGE seconds after its createdAt, however active; no cookie outlives it", async () => {
      const server = await serve({ SESSION_ABSOLUTE_AGE: "3600" });
      const visitor = server.client();
      const created = new Date(server.clock.now()).toISOString();
      await set(visitor, "k", 0);
      expect(await sessionOf(visitor)).toMatchObject({ createdAt: created, expiryAge: 3600 });
      for (let step = 1; step <= 3; step++) {
        server.clock.advance(1000);
        const saved = await set(visitor, "k", step);
        expect(parseSetCookie(setCookiesOf(saved.res)[0] as string).maxAge).toBe(3600 - step * 1000);
      }
      const view = await sessionOf(visitor);
      expect(view).toMatchObject({ createdAt: created, expiryAge: 600 });
      expect(new Date(view.expiresAt as string).getTime()).toBe(new Date(created).getTime() + 3_600_000);
      server.clock.advance(601);
      expect(await sessionOf(visitor)).toMatchObject({ version: 0, isEmpty: true, createdAt: null });
    });

    test("createdAt is kept by cycleSessionKey; a session stored again after a flush is a new one", async () => {
      const server = await serve({ SESSION_ABSOLUTE_AGE: "3600" });
      const visitor = server.client();
      await set(visitor, "k", 1);
      const created = (await sessionOf(visitor)).createdAt;
      server.clock.advance(100);
      await visitor.request("mutation { cycleSessionKey { version } }");
      expect((await sessionOf(visitor)).createdAt).toBe(created);
      await visitor.request("mutation { flushSession { version } }");
      expect((await sessionOf(visitor)).createdAt).toBeNull();
      await set(visitor, "k", 2);
      expect((await sessionOf(visitor)).createdAt).toBe(new Date(server.clock.now()).toISOString());
    });
  });
}
