import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import Database from "better-sqlite3";
import Keyv from "keyv";
import { Client } from "pg";
import { createSessionClient } from "../../src/client/index";
import { createSessions } from "../../src/index";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { ManualClock } from "../helpers/clock";
import { CookieJar } from "../helpers/cookies";
import { createThrowawayDatabase } from "../helpers/postgres";
import { startRedisCluster, startRedisServer } from "../helpers/redis";
import { TEST_SECRET } from "../helpers/server";
import { describeWithService, startBeforeAll } from "../helpers/services";
import {
  LOGIN,
  listed,
  logIn,
  REVOKE,
  REVOKE_OTHERS,
  SESSION,
  sessionId,
  startUsersApp,
  type UsersApp,
} from "./users-app";

const DAY_S = 24 * 3600;
const ENCRYPTION_KEY = Buffer.alloc(32, 7).toString("base64");

/** Where a suite's sessions live: a URL every instance opens, or one store object the instances share. */
interface Backing {
  store(clock: ManualClock): string | SessionStore;
  /** Every byte the store holds, as text (keys, values, index entries), to look for what must not be there. */
  dump?(): Promise<string>;
  /** Empties a store that outlives a test (a server's), so each test starts with no sessions. */
  reset?(): Promise<void>;
}

/**
 * The contract's "Users and devices" rules, through real HTTP, with two instances of an application over one
 * store: a visitor's requests reach either instance, as behind a load balancer.
 */
function describeUsersAndDevices(backing: () => Backing): void {
  let clock: ManualClock;
  let apps: UsersApp[] = [];
  let shared: SessionStore | undefined;

  async function instances(options: Parameters<typeof startUsersApp>[1] = {}): Promise<[UsersApp, UsersApp]> {
    const store = backing().store(clock);
    if (typeof store !== "string") shared = store;
    const started = [
      await startUsersApp(store, { clock, ...options }),
      await startUsersApp(store, { clock, ...options }),
    ] as [UsersApp, UsersApp];
    apps.push(...started);
    return started;
  }

  beforeEach(async () => {
    clock = new ManualClock();
    await backing().reset?.();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.stop();
    await shared?.close();
    shared = undefined;
    apps = [];
  });

  test("a login cycles the key, keeps an anonymous visitor's data and records the user outside it", async () => {
    const [a, b] = await instances();
    const jar = new CookieJar();
    await a.client(jar).request('mutation { note(text: "hello") }');
    const before = jar.get() as string;
    const anonymousId = await sessionId(a.client(jar));
    const id = await logIn(b.client(jar), "ada");
    expect(id).not.toBe(anonymousId);
    expect(jar.get()).not.toBe(before);
    const { data } = await a.client(jar).request<{ session: { data: object; keys: string[] } }>(SESSION);
    expect(data?.session.data).toEqual({ note: "hello" });
    expect(data?.session.keys).toEqual(["note"]);
    expect((await a.client(jar).request<{ me: string }>("{ me }")).data?.me).toBe("ada");
    // The key the visitor had before logging in names no session any more (session fixation).
    const stale = new CookieJar();
    stale.set("sessionid", before);
    expect(await sessionId(b.client(stale))).toBeNull();
  });

  test("a login as another user flushes the session first; as the same user it keeps the data", async () => {
    const [a, b] = await instances();
    const jar = new CookieJar();
    await logIn(a.client(jar), "ada");
    await b.client(jar).request('mutation { note(text: "ada\'s") }');
    await logIn(a.client(jar), "ada");
    expect(await b.client(jar).data()).toEqual({ note: "ada's" });
    await logIn(b.client(jar), "grace");
    expect(await a.client(jar).data()).toEqual({});
    expect((await a.client(jar).request<{ me: string }>("{ me }")).data?.me).toBe("grace");
    expect(await listed(a.client(jar))).toHaveLength(1);
    expect(await a.sessions.userSessions("ada")).toEqual([]);
  });

  test("mySessions lists every live session of the caller's user, newest first, and marks the caller's own", async () => {
    const [a, b] = await instances();
    const devices = [new CookieJar(), new CookieJar(), new CookieJar()];
    const ids: string[] = [];
    for (const [i, jar] of devices.entries()) {
      ids.push(await logIn((i % 2 === 0 ? a : b).client(jar), "ada", `device ${i} ${"x".repeat(300)}`));
      clock.advance(1);
    }
    await logIn(a.client(), "grace");
    const seen = await listed(b.client(devices[1]));
    expect(seen.map((session) => session.id)).toEqual([...ids].reverse());
    expect(seen.map((session) => session.current)).toEqual([false, true, false]);
    for (const session of seen) {
      expect(session.userAgent).toHaveLength(256);
      expect(session.userAgent).toMatch(/^device \d x+$/);
      expect(Date.parse(session.expiresAt as string)).toBeGreaterThan(Date.parse(session.lastSeenAt));
    }
    expect(seen[2]?.userAgent?.startsWith("device 0")).toBe(true);
    // The server side lists the same sessions.
    expect((await a.sessions.userSessions("ada")).map((session) => session.id)).toEqual([...ids].reverse());
    // Not logged in: nothing, however many sessions others have.
    expect(await listed(a.client())).toEqual([]);
  });

  test("revokeSession ends one session of the caller's user on every instance; another user's or an unknown id ends nothing", async () => {
    const [a, b] = await instances();
    const [laptop, phone, other] = [new CookieJar(), new CookieJar(), new CookieJar()];
    await logIn(a.client(laptop), "ada");
    const phoneId = await logIn(b.client(phone), "ada");
    const otherId = await logIn(a.client(other), "grace");
    expect(
      (await a.client(laptop).request<{ revokeSession: boolean }>(REVOKE, { id: otherId })).data,
    ).toEqual({
      revokeSession: false,
    });
    expect(await sessionId(b.client(other))).toBe(otherId);
    expect((await a.client(laptop).request(REVOKE, { id: "no-such-session-id-abc" })).data).toEqual({
      revokeSession: false,
    });
    expect((await a.client(laptop).request(REVOKE, { id: phoneId })).data).toEqual({ revokeSession: true });
    // From the moment the call answered, the phone has no session on either instance.
    expect(await sessionId(a.client(phone))).toBeNull();
    expect(await sessionId(b.client(phone))).toBeNull();
    expect((await listed(b.client(laptop))).map((session) => session.id)).not.toContain(phoneId);
    // A second revoke of the same id finds nothing.
    expect((await b.client(laptop).request(REVOKE, { id: phoneId })).data).toEqual({ revokeSession: false });
  });

  test("revokeSession of an id over 64 characters is refused as bad input; not logged in it answers false", async () => {
    const [a] = await instances();
    const jar = new CookieJar();
    const tooLong = await a.client(jar).request(REVOKE, { id: "x".repeat(65) });
    expect(tooLong.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(tooLong.errors?.[0]?.message).toMatch(/64/);
    const victim = await logIn(a.client(), "ada");
    expect((await a.client().request(REVOKE, { id: victim })).data).toEqual({ revokeSession: false });
    expect((await a.client().request(REVOKE_OTHERS)).data).toEqual({ revokeOtherSessions: 0 });
  });

  test("revoking one's own session logs out: the cookie is expired", async () => {
    const [a, b] = await instances();
    const jar = new CookieJar();
    const id = await logIn(a.client(jar), "ada");
    const { data, res } = await b.client(jar).request(REVOKE, { id });
    expect(data).toEqual({ revokeSession: true });
    expect(res.headers.getSetCookie().some((cookie) => /^sessionid=;.*Max-Age=0/i.test(cookie))).toBe(true);
    expect(await a.sessions.userSessions("ada")).toEqual([]);
  });

  test("revokeOtherSessions ends every session of the caller's user but its own, and says how many", async () => {
    const [a, b] = await instances();
    const mine = new CookieJar();
    const others = [new CookieJar(), new CookieJar(), new CookieJar()];
    const myId = await logIn(a.client(mine), "ada");
    for (const jar of others) await logIn(b.client(jar), "ada");
    const stranger = new CookieJar();
    await logIn(a.client(stranger), "grace");
    expect((await b.client(mine).request(REVOKE_OTHERS)).data).toEqual({ revokeOtherSessions: 3 });
    for (const jar of others) expect(await sessionId(a.client(jar))).toBeNull();
    expect((await listed(a.client(mine))).map((session) => session.id)).toEqual([myId]);
    expect(await listed(b.client(stranger))).toHaveLength(1);
  });

  test("a password change ends the user's other sessions through sessions.revokeUserSessions(userId, { except })", async () => {
    const [a, b] = await instances();
    const [here, there] = [new CookieJar(), new CookieJar()];
    const hereId = await logIn(a.client(here), "ada");
    await logIn(a.client(there), "ada");
    expect((await b.client(here).request("mutation { changePassword }")).data).toEqual({ changePassword: 1 });
    expect(await sessionId(b.client(there))).toBeNull();
    expect(await sessionId(a.client(here))).toBe(hereId);
    // Server side, with no exception: all of them.
    expect(await a.sessions.revokeUserSessions("ada")).toBe(1);
    expect(await sessionId(b.client(here))).toBeNull();
    expect(await a.sessions.revokeUserSessions("nobody")).toBe(0);
  });

  test("an expired session is never listed, and logout takes a session off the list", async () => {
    const [a, b] = await instances();
    const [old, recent, leaving] = [new CookieJar(), new CookieJar(), new CookieJar()];
    await logIn(a.client(old), "ada");
    clock.advance(DAY_S);
    const recentId = await logIn(b.client(recent), "ada");
    await logIn(a.client(leaving), "ada");
    await b.client(leaving).request("mutation { logout }");
    expect(await sessionId(a.client(leaving))).toBeNull();
    // Two weeks after the first login, the first session's default age has run out; the second's has not.
    clock.advance(13 * DAY_S + 60);
    expect((await listed(a.client(recent))).map((session) => session.id)).toEqual([recentId]);
    expect((await b.sessions.userSessions("ada")).map((session) => session.id)).toEqual([recentId]);
  });

  test("with maxSessionsPerUser, a login past it ends the user's least recently used sessions", async () => {
    const [a, b] = await instances({ maxSessionsPerUser: 2 });
    const [first, second, third] = [new CookieJar(), new CookieJar(), new CookieJar()];
    await logIn(a.client(first), "ada");
    clock.advance(10);
    await logIn(b.client(second), "ada");
    clock.advance(10);
    // The first device was used after the second logged in, so the second is now the least recently used.
    await a.client(first).request('mutation { note(text: "still here") }');
    clock.advance(10);
    await logIn(b.client(third), "ada");
    expect(await sessionId(a.client(second))).toBeNull();
    expect(await sessionId(a.client(first))).not.toBeNull();
    expect(await sessionId(a.client(third))).not.toBeNull();
    expect(await b.sessions.userSessions("ada")).toHaveLength(2);
  });

  test("a write to a revoked session does not bring it back", async () => {
    const [a, b] = await instances();
    const jar = new CookieJar();
    const id = await logIn(a.client(jar), "ada");
    await a.client(jar).request('mutation { note(text: "before") }');
    await b.sessions.revokeUserSessions("ada");
    // The instance that wrote last still holds a copy of the record; its next write must not restore it.
    const { data } = await a
      .client(jar)
      .request<{ setSession: { id: string } }>('mutation { setSession(key: "after", value: 1) { id } }');
    expect(data?.setSession.id).not.toBe(id);
    expect(await a.client(jar).data()).toEqual({ after: 1 });
    expect((await a.client(jar).request<{ me: string | null }>("{ me }")).data?.me).toBeNull();
    expect(await a.sessions.userSessions("ada")).toEqual([]);
  });

  test("the typed client lists and revokes the logged-in user's sessions", async () => {
    const [a, b] = await instances();
    const [mine, other] = [new CookieJar(), new CookieJar()];
    const myId = await logIn(a.client(mine), "ada");
    clock.advance(1);
    const otherId = await logIn(b.client(other), "ada");
    const client = createSessionClient({ url: b.url, token: mine.get() });
    expect((await client.mySessions()).map(({ id, current }) => [id, current])).toEqual([
      [otherId, false],
      [myId, true],
    ]);
    expect(await client.revokeSession("no-such-session-id-abc")).toBe(false);
    expect(await client.revokeOtherSessions()).toBe(1);
    expect(await sessionId(a.client(other))).toBeNull();
    expect(await client.revokeSession(myId)).toBe(true);
    expect(await client.mySessions()).toEqual([]);
  });

  test("with encryption at rest, the store holds neither the user id nor the User-Agent in clear", async () => {
    const { dump } = backing();
    if (dump === undefined) return;
    const [a, b] = await instances({ encryptionKeys: [ENCRYPTION_KEY] });
    const jar = new CookieJar();
    const id = await logIn(a.client(jar), "ada-lovelace-4211", "Mozilla/5.0 (Secret Device)");
    expect((await listed(b.client(jar))).map((session) => session.id)).toEqual([id]);
    expect((await listed(b.client(jar)))[0]?.userAgent).toBe("Mozilla/5.0 (Secret Device)");
    const everything = await dump();
    expect(everything).not.toContain("ada-lovelace-4211");
    expect(everything).not.toContain("Secret Device");
    expect(await b.sessions.revokeUserSessions("ada-lovelace-4211")).toBe(1);
  });
}

describe("users and devices on the memory store (two instances sharing one store object)", () => {
  describeUsersAndDevices(() => ({ store: (clock) => createStore("memory://", clock) }));
});

describe("users and devices on SQLite (two instances on one file)", () => {
  let dir: string;
  let file = 0;
  let path = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "sessionql-users-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    path = join(dir, `sessions-${++file}.sqlite`);
  });
  describeUsersAndDevices(() => ({
    store: () => `sqlite://${path}`,
    async dump() {
      const db = new Database(path, { readonly: true });
      try {
        return JSON.stringify(db.prepare("SELECT * FROM sessionql_keyv").all());
      } finally {
        db.close();
      }
    },
  }));
});

describeWithService("redis", "users and devices on Redis (two instances)", () => {
  const server = startBeforeAll(startRedisServer, (server) => server.stop());
  describeUsersAndDevices(() => ({
    store: () => server().url,
    dump: () => redisDump([server().port]),
    reset: () => redisFlush([server().port]),
  }));
});

describeWithService("redis-cluster", "users and devices on a Redis Cluster (two instances)", () => {
  const cluster = startBeforeAll(startRedisCluster, (cluster) => cluster.stop(), 60_000);
  describeUsersAndDevices(() => ({
    store: () => cluster().url,
    dump: () => redisDump(cluster().ports),
    reset: () => redisFlush(cluster().ports),
  }));
});

describeWithService("postgres", "users and devices on PostgreSQL (two instances)", () => {
  const database = startBeforeAll(createThrowawayDatabase, (database) => database.drop());
  describeUsersAndDevices(() => ({
    store: () => database().url,
    dump: async () => JSON.stringify(await postgresQuery(database().url, "SELECT * FROM sessionql_sessions")),
    reset: async () => {
      await postgresQuery(database().url, "DROP TABLE IF EXISTS sessionql_sessions");
    },
  }));
});

/** Every key of the Redis servers on `ports` and what it holds, as text. */
async function redisDump(ports: number[]): Promise<string> {
  const parts: unknown[] = [];
  for (const port of ports) {
    const client = createClient({ url: `redis://127.0.0.1:${port}` });
    await client.connect();
    try {
      for (const key of await client.keys("*")) {
        const type = await client.type(key);
        parts.push(key, type === "zset" ? await client.zRange(key, 0, -1) : await client.get(key));
      }
    } finally {
      client.destroy();
    }
  }
  return JSON.stringify(parts);
}

async function redisFlush(ports: number[]): Promise<void> {
  for (const port of ports) {
    const client = createClient({ url: `redis://127.0.0.1:${port}` });
    await client.connect();
    try {
      await client.flushAll();
    } finally {
      client.destroy();
    }
  }
}

async function postgresQuery(url: string, sql: string): Promise<unknown[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("users and devices: inputs and stores without an index", () => {
  test("maxSessionsPerUser must be a whole number from 1 to 10000", async () => {
    for (const bad of [0, -1, 1.5, 10_001]) {
      await expect(
        createSessions({ store: "memory://", secrets: [TEST_SECRET], maxSessionsPerUser: bad }),
      ).rejects.toThrow(/maxSessionsPerUser must be a whole number from 1 to 10000/);
    }
  });

  test("a user id must be 1–256 characters: login answers BAD_USER_INPUT and changes nothing", async () => {
    const app = await startUsersApp("memory://");
    try {
      const jar = new CookieJar();
      await app.client(jar).request('mutation { note(text: "kept") }');
      for (const userId of ["", "u".repeat(257)]) {
        const { errors } = await app.client(jar).request(LOGIN, { u: userId });
        expect(errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
        expect(errors?.[0]?.message).toMatch(/userId must be a string of 1–256 characters/);
      }
      expect(await app.client(jar).data()).toEqual({ note: "kept" });
      expect((await app.client(jar).request<{ me: string | null }>("{ me }")).data?.me).toBeNull();
      await expect(app.sessions.userSessions("u".repeat(257))).rejects.toMatchObject({
        extensions: { code: "BAD_USER_INPUT" },
      });
    } finally {
      await app.stop();
    }
  });

  test("a Keyv store of the application's own cannot list users' sessions, and says so", async () => {
    const sessions = await createSessions({
      store: new Keyv(),
      secrets: [TEST_SECRET],
      sweepIntervalSeconds: 0,
    });
    try {
      await expect(sessions.userSessions("ada")).rejects.toThrow(/cannot list a user's sessions/);
    } finally {
      await sessions.close();
    }
  });
});
