import { CookieJar, expectSessionCookie } from "../helpers/cookies";
import { type SessionqlInstance, startInstance } from "../helpers/instance";
import { createThrowawayDatabase } from "../helpers/postgres";
import { startRedisServer } from "../helpers/redis";
import type { Service } from "../helpers/services";
import { describeWithService } from "../helpers/services";

const COUNT = 200;
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";
const READ = "{ session { id data version } }";
const CYCLE = "mutation { cycleSessionKey { id } }";

/** A jar holding just this session cookie, as a second browser tab or a replayed request would present it. */
function jarWith(cookie: string): CookieJar {
  const jar = new CookieJar();
  jar.set("sessionid", cookie);
  return jar;
}

type Session = { id: string | null; data: Record<string, unknown>; version: number };

/** A shared store the two instances point at, and how to take it down afterwards. */
type SharedStore = () => Promise<{ url: string; release: () => Promise<void> }>;

const sharedStores: Array<[string, Service, SharedStore]> = [
  [
    "one Redis server",
    "redis",
    async () => {
      const redis = await startRedisServer();
      return { url: redis.url, release: () => redis.stop() };
    },
  ],
  [
    "one PostgreSQL database",
    "postgres",
    async () => {
      const database = await createThrowawayDatabase();
      return { url: database.url, release: () => database.drop() };
    },
  ],
];

for (const [name, service, shared] of sharedStores) {
  describeWithService(service, `two sessionql processes on ${name}`, () => {
    let release: () => Promise<void>;
    let instances: SessionqlInstance[] = [];
    beforeAll(async () => {
      const store = await shared();
      release = store.release;
      instances = await Promise.all([
        startInstance({ SESSION_STORE: store.url }),
        startInstance({ SESSION_STORE: store.url }),
      ]);
    }, 60_000);
    afterAll(async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
      await release?.();
    }, 30_000);

    /** One visitor (one cookie jar) whose requests a load balancer spreads over both instances. */
    function visitor() {
      const jar = new CookieJar();
      const [one, two] = instances as [SessionqlInstance, SessionqlInstance];
      const first = one.client(jar);
      const second = two.client(jar);
      return { jar, first, second, through: (i: number) => (i % 2 === 0 ? first : second) };
    }

    async function read(client: ReturnType<SessionqlInstance["client"]>): Promise<Session> {
      const { data, errors } = await client.request<{ session: Session }>(READ);
      expect(errors).toBeUndefined();
      return data?.session as Session;
    }

    test("a session written through one is read through the other", async () => {
      const { first, second } = visitor();
      const written = await first.request(SET, { key: "cart", value: { items: [1, 2] } });
      expectSessionCookie(written.res);
      const seen = await read(second);
      expect(seen.data).toEqual({ cart: { items: [1, 2] } });
      expect(seen.version).toBe(1);
      expect(seen.id).toBe((await read(first)).id);
    });

    test(`${COUNT} parallel setSession calls on distinct keys, alternating between them, leave all ${COUNT}`, async () => {
      const { first, through } = visitor();
      expectSessionCookie((await first.request(SET, { key: "start", value: true })).res);

      const results = await Promise.all(
        Array.from({ length: COUNT }, (_, i) => through(i).request(SET, { key: `k${i}`, value: i })),
      );

      expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
      const versions = results.map(
        (result) => (result.data as { setSession: { version: number } }).setSession.version,
      );
      expect(new Set(versions).size).toBe(COUNT);
      for (const client of [through(0), through(1)]) {
        const session = await read(client);
        expect(Object.keys(session.data)).toHaveLength(COUNT + 1);
        for (let i = 0; i < COUNT; i++) expect(session.data[`k${i}`]).toBe(i);
        expect(session.version).toBe(COUNT + 1);
      }
    }, 60_000);

    test("cycleSessionKey through one kills the old key on both", async () => {
      const { jar, first, second } = visitor();
      await first.request(SET, { key: "user", value: 42 });
      const oldCookie = jar.get() as string;
      const before = await read(second);

      const cycled = await second.request<{ cycleSessionKey: { id: string } }>(CYCLE);
      expectSessionCookie(cycled.res);
      expect(cycled.data?.cycleSessionKey.id).not.toBe(before.id);
      const newCookie = jar.get() as string;
      expect(newCookie).not.toBe(oldCookie);

      for (const instance of instances) {
        const stale = instance.client(jarWith(oldCookie));
        const session = await read(stale);
        expect(session.data).toEqual({});
        expect(session.version).toBe(0);
        const current = await read(instance.client(jarWith(newCookie)));
        expect(current.data).toEqual({ user: 42 });
      }
    });
  });
}
