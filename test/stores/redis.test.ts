import { createClient } from "@redis/client";
import { newSessionKey } from "../../src/session/keys";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { createRedisStore } from "../../src/stores/redis";
import { ManualClock } from "../helpers/clock";
import { startRedisServer } from "../helpers/redis";
import { describeWithService, startBeforeAll } from "../helpers/services";
import { describeSessionStore } from "./contract";
import { describeStoresSharingOneBackend } from "./shared-backend";

const rawClient = (url: string) => createClient({ url });
type RawClient = ReturnType<typeof rawClient>;

describeWithService("redis", "Redis", () => {
  const server = startBeforeAll(startRedisServer, (server) => server.stop());

  describeSessionStore("redis", (clock) => createRedisStore(server().url, clock), {
    expiresNatively: true,
    answersLostChecks: true,
  });

  describe("the records it writes", () => {
    const opened: SessionStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    async function inspect<T>(use: (redis: RawClient) => Promise<T>): Promise<T> {
      const redis = rawClient(server().url);
      await redis.connect();
      try {
        return await use(redis);
      } finally {
        redis.destroy();
      }
    }

    test("live under one key, sessionql::<key>, whose TTL is the session's expiry age", async () => {
      const clock = new ManualClock();
      const store = createStore(server().url, clock);
      opened.push(store);
      const sessionKey = newSessionKey();
      const record = { data: { a: 1 }, expiresAtMs: clock.now() + 600_000, version: 1 };
      await store.save(sessionKey, record, undefined);

      const [keys, ttl] = await inspect(async (redis) => [
        await redis.keys(`*${sessionKey}*`),
        await redis.pTTL(`sessionql::${sessionKey}`),
      ]);
      expect(keys).toEqual([`sessionql::${sessionKey}`]);
      expect(ttl).toBeGreaterThan(590_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
    });

    test("an update moves the TTL to the new expiry", async () => {
      const clock = new ManualClock();
      const store = createStore(server().url, clock);
      opened.push(store);
      const sessionKey = newSessionKey();
      await store.save(sessionKey, { data: {}, expiresAtMs: clock.now() + 60_000, version: 1 }, undefined);
      await store.save(sessionKey, { data: {}, expiresAtMs: clock.now() + 3_600_000, version: 2 }, 1);
      const ttl = await inspect((redis) => redis.pTTL(`sessionql::${sessionKey}`));
      expect(ttl).toBeGreaterThan(3_500_000);
    });

    test("Redis drops the key by itself once the session has expired", async () => {
      const store = createStore(server().url);
      opened.push(store);
      const sessionKey = newSessionKey();
      await store.save(sessionKey, { data: { a: 1 }, expiresAtMs: Date.now() + 50, version: 1 }, undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expect(inspect((redis) => redis.exists(`sessionql::${sessionKey}`))).resolves.toBe(0);
    });
  });

  describeStoresSharingOneBackend("one server", (clock) => createRedisStore(server().url, clock));
});
