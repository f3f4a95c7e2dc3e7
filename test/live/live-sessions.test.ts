import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "pg";
import type { Sessions } from "../../src/index";
import type { LiveServer } from "../../src/integrations/websocket";
import { topicOf } from "../../src/session/change-feed";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { changeChannel } from "../../src/stores/redis-feed";
import { CookieJar } from "../helpers/cookies";
import {
  EMPTY_SESSION,
  errorCodeOf,
  type FollowTracker,
  type LiveClient,
  liveClient,
  type RawSocket,
  RealClock,
  rawSocket,
  type ShownSession,
  type SocketOptions,
  type Subscription,
  subscribe,
  trackFollows,
  within,
  wsUrlOf,
} from "../helpers/live";
import { createThrowawayDatabase, type PostgresDatabase, startPostgresServer } from "../helpers/postgres";
import {
  type RedisCluster,
  type RedisServer,
  redisCommand,
  startRedisCluster,
  startRedisServer,
} from "../helpers/redis";
import { type GraphQLClient, startTestServer, type TestServer } from "../helpers/server";
import { describeWithService } from "../helpers/services";
import { REVOKE, REVOKE_OTHERS, startUsersApp, type UsersApp } from "../users/users-app";

/*
 * The contract's "Live sessions" rules over real WebSockets (graphql-ws with the `ws` package): on the memory
 * store with one instance, and on Redis, a Redis Cluster and PostgreSQL with two instances sharing the store,
 * the subscriber on instance B and every change made on instance A (or on a login application over the same
 * store, for what needs a logged-in user).
 */

const SET =
  "mutation($k: String!, $v: JSON!, $e: Int) { setSession(key: $k, value: $v, expiresIn: $e) { id version data } }";
const FLUSH = "mutation { flushSession { version } }";
const CLEAR = "mutation { clearSession { version } }";
const POP = "mutation($k: String!) { popSession(key: $k) { found session { version } } }";
const CYCLE = "mutation { cycleSessionKey { id version } }";
const EXPIRY = "mutation($s: Int!) { setSessionExpiry(seconds: $s) { id version data } }";
const LOGIN = "mutation($u: String!) { login(userId: $u) }";
const PAGE_ORIGIN = "http://app.example";
const EVIL_ORIGIN = "http://evil.example";
const HEADER = "X-Session-Token";

type Saved = { id: string; version: number; data: Record<string, unknown> };

/** Sends one operation and fails the test on any GraphQL error. */
async function must<T>(
  client: GraphQLClient,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const { data, errors } = await client.request<T>(query, variables);
  if (errors !== undefined || data === null || data === undefined) {
    throw new Error(`${query} failed: ${JSON.stringify(errors)}`);
  }
  return data;
}

async function set(client: GraphQLClient, key: string, value: unknown, expiresIn?: number): Promise<Saved> {
  return (await must<{ setSession: Saved }>(client, SET, { k: key, v: value, e: expiresIn })).setSession;
}

async function logIn(client: GraphQLClient, userId: string): Promise<string> {
  return (await must<{ login: string }>(client, LOGIN, { u: userId })).login;
}

/** A user id of its own for each test, since the store outlives the tests of one configuration. */
const someUser = () => `user-${randomBytes(4).toString("hex")}`;

/** Waits until an event of `version` has arrived, and resolves with every event so far. */
async function untilVersion(sub: Subscription<ShownSession>, version: number, timeoutMs = 3000) {
  for (let count = 1; ; count++) {
    const event = await sub.nth(count, timeoutMs);
    if (event.version >= version) return sub.events;
  }
}

/** Retries `attempt` every 100 ms until it resolves, for at most `timeoutMs`. */
async function eventually<T>(what: string, attempt: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what} did not succeed within ${timeoutMs} ms: ${error}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The subscriber's instance B, the writer's instance A (the same one on the memory store) and a login app. */
interface Instances {
  a: TestServer;
  b: TestServer;
  /** An application over the same store whose `login` mutation calls `context.session.login`. */
  login?: UsersApp;
  /** Tracks the followers set up on B. */
  follows: FollowTracker;
  close(): Promise<void>;
}

/**
 * Starts the instances over the store `url` names. One instance for the memory store (its feed is in the
 * process); for any other, B (the subscriber's) and A (the writer's), each with a store of its own over the URL.
 */
async function startInstances(
  url: string,
  clock: RealClock,
  options: { env?: Record<string, string>; login?: boolean } = {},
): Promise<Instances> {
  const env = { SESSION_STORE: url, CORS_ORIGINS: PAGE_ORIGIN, ...options.env };
  const single = url.startsWith("memory:");
  const storeB: SessionStore = createStore(url, clock);
  const follows = trackFollows(storeB);
  const b = await startTestServer({ env, store: storeB, clock });
  const a = single ? b : await startTestServer({ env, clock });
  // On the memory store the login app shares B's store object (startUsersApp never closes one it is given).
  const login = options.login ? await startUsersApp(single ? storeB : url, { clock }) : undefined;
  return {
    a,
    b,
    login,
    follows,
    async close() {
      await login?.stop();
      if (a !== b) await a.close();
      await b.close();
    },
  };
}

/**
 * Every rule of "Live sessions" that depends on the store, on instances over the store `url()` names (the
 * subscriber on B, every change on A).
 */
function describeLiveSessions(
  url: () => string,
  /** How many connections of the store's engine listen on a session's channel, where it can be asked. */
  channelListeners?: (sessionKey: string) => Promise<number>,
): void {
  const clock = new RealClock();
  let instances: Instances;
  const clients: LiveClient[] = [];
  const extra: Instances[] = [];

  beforeAll(async () => {
    instances = await startInstances(url(), clock, { login: true });
  }, 30_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    for (const started of extra.splice(0)) await started.close();
  });
  afterAll(async () => {
    await instances?.close();
  }, 30_000);

  /** A visitor: its cookie jar, and a client of instance A with it. */
  const visitor = (jar = new CookieJar()) => ({ jar, a: instances.a.client(jar) });

  /** Opens a connection to B with `options` and subscribes to sessionChanged on it. */
  const open = (options: SocketOptions, on: Instances = instances) => {
    const client = liveClient(wsUrlOf(on.b.graphqlUrl), options);
    clients.push(client);
    return client;
  };

  /** Subscribes with the jar's cookie on B and resolves once the follower is set up, so no change can be missed. */
  const follow = async (jar: CookieJar): Promise<Subscription<ShownSession>> => {
    const before = instances.follows.count;
    const sub = subscribe(open({ cookie: jar.header() ?? "" }));
    await instances.follows.reach(before + 1);
    return sub;
  };

  test("after a change saved on the other instance, the subscriber receives the session as it now is", async () => {
    const v = visitor();
    await set(v.a, "cart", ["tea"]);
    const sub = await follow(v.jar);
    const saved = await set(v.a, "cart", ["tea", "mug"]);
    expect(await sub.nth(1)).toEqual({
      id: saved.id,
      version: saved.version,
      data: { cart: ["tea", "mug"] },
      isEmpty: false,
    });
    expect(await sub.during(150)).toEqual([]);
    expect(sub.ended).toBeUndefined();
  });

  test("several saves arrive with their versions in order, and the last one always arrives", async () => {
    const v = visitor();
    const first = await set(v.a, "n", 0);
    const sub = await follow(v.jar);
    let last = first;
    for (let n = 1; n <= 8; n++) last = await set(v.a, "n", n);
    const events = await untilVersion(sub, last.version);
    const versions = events.map((event) => event.version);
    expect(versions).toEqual([...new Set(versions)].sort((x, y) => x - y));
    expect(versions[0]).toBeGreaterThan(first.version);
    // Each event is the session as stored at that version, never a mix.
    for (const event of events) expect(event.data).toEqual({ n: event.version - first.version });
    expect(events.at(-1)).toEqual({ id: last.id, version: last.version, data: { n: 8 }, isEmpty: false });
    expect(await sub.during(150)).toEqual([]);
  });

  test("an event reaches the subscriber on the other instance within 100 ms (p99) of the save", async () => {
    const v = visitor();
    await set(v.a, "n", 0);
    const sub = await follow(v.jar);
    const took: number[] = [];
    for (let n = 1; n <= 30; n++) {
      // From before the request is sent: an upper bound of the time from the save to the event.
      const started = performance.now();
      await set(v.a, "n", n);
      await sub.nth(n);
      took.push(performance.now() - started);
    }
    took.sort((x, y) => x - y);
    expect(took[Math.ceil(took.length * 0.99) - 1]).toBeLessThan(100);
  });

  test("a change saved while the subscription is being set up (between its watch and its first read) arrives", async () => {
    const v = visitor();
    await set(v.a, "n", 0);
    const before = instances.follows.count;
    const { held, release } = instances.follows.holdNextFirstRead();
    const sub = subscribe(open({ cookie: v.jar.header() ?? "" }));
    await within(held, 3000, "the follower's first read");
    const saved = await set(v.a, "n", 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await instances.follows.reach(before + 1);
    expect(await sub.nth(1)).toMatchObject({ version: saved.version, data: { n: 1 } });
  });

  test("sinceVersion: a session already past the version the client read is sent at once; one at it is not", async () => {
    const v = visitor();
    const read = await set(v.a, "n", 0);
    // Saved after the client's read and before its subscription.
    const saved = await set(v.a, "n", 1);
    const since = (version: number) =>
      `subscription { sessionChanged(sinceVersion: ${version}) { id version data isEmpty } }`;
    const before = instances.follows.count;
    const behind = subscribe(open({ cookie: v.jar.header() ?? "" }), since(read.version));
    expect(await behind.nth(1)).toMatchObject({ version: saved.version, data: { n: 1 } });
    const upToDate = subscribe(open({ cookie: v.jar.header() ?? "" }), since(saved.version));
    await instances.follows.reach(before + 2);
    expect(await upToDate.during(150)).toEqual([]);
    const next = await set(v.a, "n", 2);
    expect(await upToDate.nth(1)).toMatchObject({ version: next.version });
  });

  test("flushSession sends the empty session, then completes", async () => {
    const v = visitor();
    await set(v.a, "user", 7);
    const sub = await follow(v.jar);
    await must(v.a, FLUSH);
    expect(await sub.nth(1)).toEqual(EMPTY_SESSION);
    expect(await sub.end()).toEqual({ complete: true });
    expect(sub.events).toHaveLength(1);
  });

  test("emptying the session (clearSession, or popping its last key) sends the empty session, then completes", async () => {
    const cleared = visitor();
    await set(cleared.a, "a", 1);
    await set(cleared.a, "b", 2);
    const clearedSub = await follow(cleared.jar);
    await must(cleared.a, CLEAR);
    expect(await clearedSub.nth(1)).toEqual(EMPTY_SESSION);
    expect(await clearedSub.end()).toEqual({ complete: true });

    const popped = visitor();
    await set(popped.a, "only", 1);
    const poppedSub = await follow(popped.jar);
    expect(await must(popped.a, POP, { k: "only" })).toMatchObject({ popSession: { found: true } });
    expect(await poppedSub.nth(1)).toEqual(EMPTY_SESSION);
    expect(await poppedSub.end()).toEqual({ complete: true });
    expect(poppedSub.events).toHaveLength(1);
  });

  test("revokeSession from another device of the same user sends the empty session, then completes", async () => {
    const login = instances.login as UsersApp;
    const user = someUser();
    const [laptop, phone] = [new CookieJar(), new CookieJar()];
    const laptopId = await logIn(login.client(laptop), user);
    await logIn(login.client(phone), user);
    const laptopSub = await follow(laptop);
    const phoneSub = await follow(phone);
    expect(await must(instances.a.client(phone), REVOKE, { id: laptopId })).toEqual({ revokeSession: true });
    expect(await laptopSub.nth(1)).toEqual(EMPTY_SESSION);
    expect(await laptopSub.end()).toEqual({ complete: true });
    // The revoking device's own subscription goes on, and hears nothing of the other session.
    expect(await phoneSub.during(150)).toEqual([]);
    expect(phoneSub.ended).toBeUndefined();
  });

  test("revokeOtherSessions and sessions.revokeUserSessions end the subscriptions of the sessions they end", async () => {
    const login = instances.login as UsersApp;
    const user = someUser();
    const [mine, other, third] = [new CookieJar(), new CookieJar(), new CookieJar()];
    for (const jar of [mine, other, third]) await logIn(login.client(jar), user);
    const [mineSub, otherSub, thirdSub] = [await follow(mine), await follow(other), await follow(third)];
    expect(await must(instances.a.client(mine), REVOKE_OTHERS)).toEqual({ revokeOtherSessions: 2 });
    for (const sub of [otherSub, thirdSub]) {
      expect(await sub.nth(1)).toEqual(EMPTY_SESSION);
      expect(await sub.end()).toEqual({ complete: true });
    }
    expect(mineSub.ended).toBeUndefined();
    expect(mineSub.events).toEqual([]);

    // Server side, on instance A: every session of the user, this one included.
    expect(await instances.a.server.sessions.revokeUserSessions(user)).toBe(1);
    expect(await mineSub.nth(1)).toEqual(EMPTY_SESSION);
    expect(await mineSub.end()).toEqual({ complete: true });
  });

  test("a login as another user flushes the session: the empty session, then completion", async () => {
    const login = instances.login as UsersApp;
    const jar = new CookieJar();
    await logIn(login.client(jar), someUser());
    const sub = await follow(jar);
    await logIn(login.client(jar), someUser());
    expect(await sub.nth(1)).toEqual(EMPTY_SESSION);
    expect(await sub.end()).toEqual({ complete: true });
  });

  test("expiry: a session set to expire in 1 s sends the empty session once it has, then completes", async () => {
    const v = visitor();
    await set(v.a, "short", true);
    const sub = await follow(v.jar);
    const since = Date.now();
    const expiring = (await must<{ setSessionExpiry: Saved }>(v.a, EXPIRY, { s: 1 })).setSessionExpiry;
    expect(await sub.nth(1)).toMatchObject({ version: expiring.version, data: { short: true } });
    expect(await sub.nth(2, 3000)).toEqual(EMPTY_SESSION);
    expect(Date.now() - since).toBeGreaterThanOrEqual(900);
    expect(await sub.end()).toEqual({ complete: true });
    // The session is gone for every instance too.
    expect(await v.a.data()).toEqual({});
  });

  test("expiry: an entry set with expiresIn: 1 brings a push without it once it has gone", async () => {
    const v = visitor();
    await set(v.a, "keep", 1);
    const sub = await follow(v.jar);
    const since = Date.now();
    const withFlash = await set(v.a, "flash", "saved!", 1);
    expect(await sub.nth(1)).toMatchObject({
      version: withFlash.version,
      data: { keep: 1, flash: "saved!" },
    });
    const after = await sub.nth(2, 3000);
    expect(Date.now() - since).toBeGreaterThanOrEqual(900);
    expect(after).toEqual({
      id: withFlash.id,
      version: withFlash.version,
      data: { keep: 1 },
      isEmpty: false,
    });
    expect(sub.ended).toBeUndefined();
  });

  test("cycleSessionKey completes the old subscription without an empty session; a new one with the new cookie hears the changes", async () => {
    const v = visitor();
    await set(v.a, "user", 7);
    const oldCookie = v.jar.header() as string;
    const oldSub = await follow(v.jar);
    await must(v.a, CYCLE);
    expect(v.jar.header()).not.toBe(oldCookie);
    expect(await oldSub.end()).toEqual({ complete: true });
    expect(oldSub.events).toEqual([]);

    const newSub = await follow(v.jar);
    const saved = await set(v.a, "cart", ["tea"]);
    expect(await newSub.nth(1)).toEqual({
      id: saved.id,
      version: saved.version,
      data: { user: 7, cart: ["tea"] },
      isEmpty: false,
    });
    expect(oldSub.events).toEqual([]);

    // The old cookie now names no session: a subscription with it gets the empty session and completes.
    const stale = subscribe(open({ cookie: oldCookie }));
    expect(await stale.nth(1)).toEqual(EMPTY_SESSION);
    expect(await stale.end()).toEqual({ complete: true });
  });

  test("a login (which cycles the key) completes the old subscription without an empty session", async () => {
    const login = instances.login as UsersApp;
    const v = visitor();
    await set(v.a, "cart", ["tea"]);
    const sub = await follow(v.jar);
    await logIn(login.client(v.jar), someUser());
    expect(await sub.end()).toEqual({ complete: true });
    expect(sub.events).toEqual([]);
    const again = await follow(v.jar);
    const saved = await set(v.a, "cart", ["tea", "pot"]);
    expect(await again.nth(1)).toMatchObject({ version: saved.version, data: { cart: ["tea", "pot"] } });
  });

  test("nobody receives events of a session whose key they did not present", async () => {
    const [one, two] = [visitor(), visitor()];
    await set(one.a, "who", "one");
    await set(two.a, "who", "two");
    const oneSub = await follow(one.jar);
    const twoSub = await follow(two.jar);
    for (let n = 1; n <= 3; n++) await set(two.a, "n", n);
    await must(two.a, CYCLE);
    const mine = await set(one.a, "n", 1);
    expect(await oneSub.nth(1)).toEqual({
      id: mine.id,
      version: mine.version,
      data: mine.data,
      isEmpty: false,
    });
    expect(await oneSub.during(200)).toEqual([]);
    expect(oneSub.events).toHaveLength(1);
    expect(oneSub.ended).toBeUndefined();
    expect(twoSub.events.every((event) => event.data.who === "two")).toBe(true);
    expect(twoSub.events.length).toBeGreaterThan(0);
  });

  test("no cookie, a forged cookie or the cookie of a session that is gone: the empty session, then completion", async () => {
    const gone = visitor();
    await set(gone.a, "x", 1);
    const goneCookie = gone.jar.header() as string;
    await must(gone.a, FLUSH);
    const forgedKey = randomBytes(24).toString("base64url");
    const forged = `sessionid=${forgedKey}.${randomBytes(32).toString("base64url")}`;
    for (const options of [{}, { cookie: forged }, { cookie: "sessionid=garbage" }, { cookie: goneCookie }]) {
      const sub = subscribe(open(options));
      expect(await sub.nth(1)).toEqual(EMPTY_SESSION);
      expect(await sub.end()).toEqual({ complete: true });
      expect(sub.events).toHaveLength(1);
    }
  });

  test("with SESSION_HEADER, the token in connectionParams under the header's name follows the session", async () => {
    const started = await startInstances(url(), clock, { env: { SESSION_HEADER: HEADER } });
    extra.push(started);
    const request = async (token: string, query: string, variables?: Record<string, unknown>) => {
      const res = await fetch(started.a.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", [HEADER]: token },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: { setSession?: Saved }; errors?: unknown };
      if (body.errors !== undefined) throw new Error(JSON.stringify(body.errors));
      return { token: res.headers.get(HEADER) ?? token, data: body.data };
    };
    const { token } = await request("", SET, { k: "device", v: "kiosk" });
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);

    const before = started.follows.count;
    // The header's name in any case, as HTTP header names are.
    const sub = subscribe(open({ connectionParams: { "x-session-token": token } }, started));
    await started.follows.reach(before + 1);
    const { data } = await request(token, SET, { k: "step", v: 2 });
    expect(await sub.nth(1)).toEqual({
      id: data?.setSession?.id,
      version: data?.setSession?.version,
      data: { device: "kiosk", step: 2 },
      isEmpty: false,
    });
    await request(token, FLUSH);
    expect(await sub.nth(2)).toEqual(EMPTY_SESSION);
    expect(await sub.end()).toEqual({ complete: true });

    // Without the token, or with it only as a cookie (the header transport reads no cookie): no session.
    for (const options of [{}, { connectionParams: { other: token } }, { cookie: `sessionid=${token}` }]) {
      const none = subscribe(open(options, started));
      expect(await none.nth(1)).toEqual(EMPTY_SESSION);
      expect(await none.end()).toEqual({ complete: true });
    }
  });

  if (channelListeners !== undefined) {
    test("the engine's channel of a session is given up once its last subscriber unsubscribes or goes away", async () => {
      const v = visitor();
      await set(v.a, "n", 0);
      const sessionKey = (v.jar.get() as string).split(".")[0] as string;
      const first = await follow(v.jar);
      await follow(v.jar);
      expect(await channelListeners(sessionKey)).toBe(1);
      first.unsubscribe();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await channelListeners(sessionKey)).toBe(1);
      // The second subscriber's client goes away without a word (its socket is cut, no `complete` is sent).
      (clients.at(-1) as LiveClient).client.terminate();
      await eventually(
        "the channel's unsubscription",
        async () => {
          expect(await channelListeners(sessionKey)).toBe(0);
        },
        2000,
      );
    });
  }
}

describe("live sessions on the memory store (one instance)", () => {
  describeLiveSessions(() => "memory://");
});

describeWithService("redis", "live sessions on Redis (two instances)", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  describeLiveSessions(
    () => server.url,
    async (sessionKey) => {
      const reply = await redisCommand(server.port, `PUBSUB NUMSUB ${changeChannel(topicOf(sessionKey))}`);
      return Number(reply.trim().split("\r\n").at(-1)?.replace(/^:/, ""));
    },
  );
});

describeWithService("redis-cluster", "live sessions on a Redis Cluster (two instances)", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  describeLiveSessions(() => cluster.url);
});

describeWithService("postgres", "live sessions on PostgreSQL (two instances)", () => {
  let database: PostgresDatabase;
  beforeAll(async () => {
    database = await createThrowawayDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  describeLiveSessions(() => database.url);
});

describe("the standalone server's WebSocket", () => {
  const clock = new RealClock();
  let server: TestServer;
  let follows: FollowTracker;
  const clients: LiveClient[] = [];
  const raws: RawSocket[] = [];

  beforeAll(async () => {
    const store = createStore("memory://", clock);
    follows = trackFollows(store);
    server = await startTestServer({ env: { CORS_ORIGINS: PAGE_ORIGIN }, store, clock });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    for (const raw of raws.splice(0)) raw.close();
  });
  afterAll(async () => {
    await server?.close();
  });

  const ws = () => wsUrlOf(server.graphqlUrl);
  const raw = (headers: Record<string, string> = {}, autoPong = true, url = ws()) => {
    const socket = rawSocket(url, headers, autoPong);
    raws.push(socket);
    return socket;
  };

  test("an upgrade from a foreign Origin is refused with 403; its own origin, a CORS_ORIGINS one and none are accepted", async () => {
    const port = new URL(server.url).port;
    expect(await raw({ origin: EVIL_ORIGIN }).opened).toBe(403);
    // Another port of the same host is another origin.
    expect(await raw({ origin: `http://127.0.0.1:${Number(port) + 1}` }).opened).toBe(403);
    expect(await raw({ origin: "null" }).opened).toBe(403);
    for (const origin of [`http://127.0.0.1:${port}`, PAGE_ORIGIN]) {
      const accepted = raw({ origin });
      expect(await accepted.opened).toBe(101);
      await accepted.init();
    }
    const noOrigin = raw();
    expect(await noOrigin.opened).toBe(101);
    await noOrigin.init();
    // And the graphql-ws client from a foreign page gets no session events at all: it never connects.
    const visitor = server.client();
    await set(visitor, "secret", 1);
    const hijacked = liveClient(ws(), { cookie: visitor.jar.header() ?? "", origin: EVIL_ORIGIN });
    clients.push(hijacked);
    const sub = subscribe(hijacked);
    const end = await sub.end();
    expect("error" in end).toBe(true);
    expect(sub.events).toEqual([]);
  });

  test("an upgrade to another path is refused with 404", async () => {
    expect(await raw({}, true, ws().replace(/\/graphql$/, "/other")).opened).toBe(404);
  });

  test("a 17th subscription on one connection is refused with BAD_USER_INPUT; the 16 go on", async () => {
    const visitor = server.client();
    await set(visitor, "n", 0);
    const client = liveClient(ws(), { cookie: visitor.jar.header() ?? "" });
    clients.push(client);
    const before = follows.count;
    const subs = Array.from({ length: 16 }, () => subscribe(client));
    await follows.reach(before + 16);
    const refused = subscribe(client);
    const end = await refused.end();
    expect(errorCodeOf(end)).toBe("BAD_USER_INPUT");
    expect(JSON.stringify(end)).toMatch(/at most 16 subscriptions per connection/);
    await set(visitor, "n", 1);
    for (const sub of subs) expect(await sub.nth(1)).toMatchObject({ data: { n: 1 } });
    // Once one ends, another may take its place.
    subs[0]?.unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const replacement = subscribe(client);
    await follows.reach(before + 17);
    await set(visitor, "n", 2);
    expect(await replacement.nth(1)).toMatchObject({ data: { n: 2 } });
  });

  test("a 33rd connection of one session is closed with 4429; another session's is not", async () => {
    const visitor = server.client();
    await set(visitor, "n", 0);
    const headers = { cookie: visitor.jar.header() ?? "" };
    const open = Array.from({ length: 32 }, () => raw(headers));
    await Promise.all(open.map((socket) => socket.init()));
    const extra = raw(headers);
    await expect(extra.init()).rejects.toThrow(/4429/);
    expect(await extra.closed).toBe(4429);
    const other = server.client();
    await set(other, "n", 0);
    await raw({ cookie: other.jar.header() ?? "" }).init();
    // Closing one makes room for one more.
    open[0]?.close();
    await open[0]?.closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await raw(headers).init();
  });

  // An upgrade has no response to carry a new cookie, so a cycleSessionKey sent over the socket would move the
  // session to a key that nobody ever receives: mutations are refused there.
  test("cycleSessionKey over the socket is refused, and the session keeps its key", async () => {
    const visitor = server.client();
    await set(visitor, "cart", ["tea"]);
    const client = liveClient(ws(), { cookie: visitor.jar.header() ?? "" });
    clients.push(client);
    const cycled = subscribe(client, CYCLE, (data) => data);
    const end = await cycled.end();
    expect({
      refused: "error" in end,
      answered: cycled.events,
      sessionOverHttp: await visitor.data(),
    }).toEqual({
      refused: true,
      answered: [],
      sessionOverHttp: { cart: ["tea"] },
    });
  });

  // A first write over the socket, without a cookie, would store a new session whose key no cookie ever carries.
  test("a write over the socket without a session is refused instead of storing a session nobody can name", async () => {
    const client = liveClient(ws());
    clients.push(client);
    const written = subscribe(client, 'mutation { setSession(key: "x", value: 1) { id } }', (data) => data);
    const end = await written.end();
    expect({ refused: "error" in end, answered: written.events }).toEqual({ refused: true, answered: [] });
  });
});

describe("server.stop() with subscriptions open", () => {
  test("closes every socket with 1001 (going away) at once, and resolves within a few seconds", async () => {
    const clock = new RealClock();
    const store = createStore("memory://", clock);
    const follows = trackFollows(store);
    const server = await startTestServer({ store, clock });
    const clients: LiveClient[] = [];
    try {
      const visitor = server.client();
      await set(visitor, "n", 0);
      const subs: Subscription<ShownSession>[] = [];
      for (let i = 0; i < 3; i++) {
        const client = liveClient(wsUrlOf(server.graphqlUrl), { cookie: visitor.jar.header() ?? "" });
        clients.push(client);
        subs.push(subscribe(client));
      }
      await follows.reach(3);
      const idle = rawSocket(wsUrlOf(server.graphqlUrl));
      await idle.init();
      const started = Date.now();
      await within(server.close(), 3000, "server.stop()");
      const stopMs = Date.now() - started;
      for (const sub of subs) await sub.end(1000);
      expect(clients.map((client) => client.closes)).toEqual([[1001], [1001], [1001]]);
      expect(await within(idle.closed, 1000, "the idle socket's close")).toBe(1001);
      expect(stopMs).toBeLessThan(3000);
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});

describe("sessions.serveSubscriptions in an application (library)", () => {
  let sessions: Sessions;
  let app: UsersApp;
  let http: Server;
  let live: LiveServer;
  let url: string;
  let follows: FollowTracker;
  let store: SessionStore | undefined;
  const clients: LiveClient[] = [];
  const raws: RawSocket[] = [];

  beforeAll(async () => {
    const clock = new RealClock();
    store = createStore("memory://", clock);
    follows = trackFollows(store);
    // The application's own GraphQL server (the login app) and, beside it, an HTTP server for the sockets.
    app = await startUsersApp(store, { clock });
    sessions = app.sessions;
    http = createServer((_request, response) => {
      response.statusCode = 404;
      response.end();
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    live = sessions.serveSubscriptions({
      server: http,
      path: "/graphql",
      allowedOrigins: [PAGE_ORIGIN],
      pingIntervalMs: 200,
      maxSubscriptionsPerConnection: 2,
      maxConnectionsPerSession: 2,
    });
    url = await live.url;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    for (const socket of raws.splice(0)) socket.close();
  });
  afterAll(async () => {
    await live?.close();
    await new Promise((resolve) => http?.close(resolve));
    await app?.stop();
    await store?.close();
  });

  const connect = (options: SocketOptions) => {
    const client = liveClient(url, options);
    clients.push(client);
    return client;
  };
  const rawTo = (headers: Record<string, string> = {}, autoPong = true) => {
    const socket = rawSocket(url, headers, autoPong);
    raws.push(socket);
    return socket;
  };
  const newVisitor = async () => {
    const jar = new CookieJar();
    await must(app.client(jar), 'mutation { note(text: "hello") }');
    return jar;
  };

  test("serves the URL of the HTTP server it was given", () => {
    const { port } = http.address() as AddressInfo;
    expect(url).toBe(`ws://127.0.0.1:${port}/graphql`);
  });

  test("sessionChanged follows the application's own changes; an operation over the socket reads context.session", async () => {
    const jar = await newVisitor();
    const client = connect({ cookie: jar.header() ?? "", origin: PAGE_ORIGIN });
    const read = subscribe(client, "{ session { data } }", (data) => data.session as { data: unknown });
    expect(await read.nth(1)).toEqual({ data: { note: "hello" } });
    expect(await read.end()).toEqual({ complete: true });
    const before = follows.count;
    const sub = subscribe(client);
    await follows.reach(before + 1);
    await must(app.client(jar), 'mutation { note(text: "again") }');
    expect(await sub.nth(1)).toMatchObject({ data: { note: "again" }, isEmpty: false });
    await must(app.client(jar), "mutation { logout }");
    expect(await sub.nth(2)).toEqual(EMPTY_SESSION);
    expect(await sub.end()).toEqual({ complete: true });
  });

  test("allowedOrigins: a listed origin and the server's own are accepted, a foreign one gets 403", async () => {
    const { port } = http.address() as AddressInfo;
    expect(await rawTo({ origin: EVIL_ORIGIN }).opened).toBe(403);
    await rawTo({ origin: PAGE_ORIGIN }).init();
    await rawTo({ origin: `http://127.0.0.1:${port}` }).init();
  });

  test("maxSubscriptionsPerConnection: 2 refuses the third with BAD_USER_INPUT", async () => {
    const jar = await newVisitor();
    const client = connect({ cookie: jar.header() ?? "" });
    const before = follows.count;
    const subs = [subscribe(client), subscribe(client)];
    await follows.reach(before + 2);
    const end = await subscribe(client).end();
    expect(errorCodeOf(end)).toBe("BAD_USER_INPUT");
    for (const sub of subs) expect(sub.ended).toBeUndefined();
  });

  test("maxConnectionsPerSession: 2 closes the third connection of a session with 4429", async () => {
    const jar = await newVisitor();
    const headers = { cookie: jar.header() ?? "" };
    await rawTo(headers).init();
    await rawTo(headers).init();
    const third = rawTo(headers);
    await expect(third.init()).rejects.toThrow(/4429/);
    expect(await third.closed).toBe(4429);
    // Connections without a session are not counted against anyone.
    await Promise.all([rawTo().init(), rawTo().init(), rawTo().init()]);
  });

  test("a client that does not answer pings is cut within about 1 s; one that answers stays", async () => {
    const silent = rawTo({}, false);
    const answering = rawTo({}, true);
    await Promise.all([silent.init(), answering.init()]);
    const started = Date.now();
    const code = await within(silent.closed, 1500, "the cut of the silent client");
    expect(Date.now() - started).toBeLessThan(1000);
    expect(code).toBe(1006);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answering.socket.readyState).toBe(answering.socket.OPEN);
  });
});

/** A store server a test can kill and restart. */
interface KillableStore {
  url: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Makes what the store holds survive a SIGKILL. The test PostgreSQL runs with synchronous_commit=off, so a commit
 * of the last 200 ms (the table's creation, the first session) may still be in its WAL buffers when it is killed.
 */
async function checkpoint(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("CHECKPOINT");
  } finally {
    await client.end();
  }
}

function describeStoreOutage(start: () => Promise<KillableStore>, durable: boolean): void {
  const clock = new RealClock();
  let store: KillableStore;
  let instances: Instances;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    store = await start();
    instances = await startInstances(store.url, clock);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await instances?.close();
    await store?.stop();
  }, 30_000);

  const sub = (jar: CookieJar) => {
    const client = liveClient(wsUrlOf(instances.b.graphqlUrl), { cookie: jar.header() ?? "" });
    clients.push(client);
    return subscribe(client);
  };

  test("the subscription ends with STORE_UNAVAILABLE when the store goes down, and works again once it is back", async () => {
    const jar = new CookieJar();
    const a = instances.a.client(jar);
    await set(a, "n", 0);
    const before = instances.follows.count;
    const open = sub(jar);
    await instances.follows.reach(before + 1);

    if (durable) await checkpoint(store.url);
    await store.kill();
    const end = await open.end(5000);
    expect(errorCodeOf(end)).toBe("STORE_UNAVAILABLE");
    // While it is down, a new subscription is refused the same way.
    expect(errorCodeOf(await sub(jar).end(5000))).toBe("STORE_UNAVAILABLE");

    await store.restart();
    // A durable store kept the session; Redis without persistence lost it, and the write starts a new one.
    const first = await eventually("a write after the restart", () => set(a, "n", 1));
    if (durable) expect(first.data).toEqual({ n: 1 });
    const again = await eventually("a subscription after the restart", async () => {
      const count = instances.follows.count;
      const attempt = sub(jar);
      await Promise.race([
        instances.follows.reach(count + 1, 2000),
        attempt.end(2000).then((ended) => {
          throw new Error(`ended: ${JSON.stringify(ended)}`);
        }),
      ]);
      return attempt;
    });
    const saved = await set(a, "n", 2);
    expect(await again.nth(1)).toMatchObject({ version: saved.version, data: { n: 2 } });
  });
}

describeWithService("redis", "live sessions while Redis goes down and comes back", () => {
  describeStoreOutage(startRedisServer, false);
});

describeWithService("postgres-server", "live sessions while PostgreSQL goes down and comes back", () => {
  describeStoreOutage(startPostgresServer, true);
});
