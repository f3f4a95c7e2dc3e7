import { setCookiesOf } from "../helpers/cookies";
import { type SessionqlInstance, startInstance } from "../helpers/instance";
import { startPostgresServer } from "../helpers/postgres";
import { startRedisServer } from "../helpers/redis";
import type { GraphQLClient } from "../helpers/server";
import { describeWithService, type Service } from "../helpers/services";

const UPDATE = "mutation($values: JSONObject!) { updateSession(values: $values) { version } }";
const READ = "{ session { data version } }";
const VISITORS = 6;
const DOWN_FOR_MS = 3_000;
/** The contract's bounds: an answer within 2 s while down, /readyz 503 within 5 s, 200 within 10 s of return. */
const ANSWER_WITHIN_MS = 2_000;
const NOT_READY_WITHIN_MS = 5_000;
const READY_AGAIN_WITHIN_MS = 10_000;

/** A store server a test can kill and bring back on the same port. */
interface KillableStore {
  url: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const stores: Array<[string, Service, () => Promise<KillableStore>, { durable: boolean }]> = [
  // Started without persistence, as many session caches run: a kill loses every session.
  ["Redis", "redis", startRedisServer, { durable: false }],
  ["PostgreSQL", "postgres-server", startPostgresServer, { durable: true }],
];

/** One request as the load saw it. */
interface Outcome {
  visitor: number;
  /** The pair a write stored, for writes. */
  wrote?: number;
  startedAt: number;
  tookMs: number;
  code: string | undefined;
  message: string | undefined;
  setCookie: boolean;
}

/** Visitors that keep writing pairs (x = y) and reading until stopped, recording every answer. */
function startLoad(instance: SessionqlInstance) {
  const outcomes: Outcome[] = [];
  let running = true;
  const visitors: GraphQLClient[] = Array.from({ length: VISITORS }, () => instance.client());
  const loops = visitors.map(async (visitor, v) => {
    for (let i = 0; running; i++) {
      const query = i % 2 === 0 ? UPDATE : READ;
      const startedAt = Date.now();
      const result = await visitor.request(
        query,
        query === UPDATE ? { values: { x: i, y: i, v } } : undefined,
      );
      outcomes.push({
        visitor: v,
        wrote: query === UPDATE ? i : undefined,
        startedAt,
        tookMs: Date.now() - startedAt,
        code: result.errors?.[0]?.extensions?.code,
        message: result.errors?.[0]?.message,
        setCookie: setCookiesOf(result.res).length > 0,
      });
      if (result.errors) await new Promise((pause) => setTimeout(pause, 50));
    }
  });
  return {
    outcomes,
    visitors,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function readiness(instance: SessionqlInstance): Promise<number> {
  return (await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(5_000) })).status;
}

/** Polls /readyz until it answers `status`, and resolves to how long that took. */
async function readyzBecomes(instance: SessionqlInstance, status: number, withinMs: number): Promise<number> {
  const since = Date.now();
  while (Date.now() - since < withinMs) {
    if ((await readiness(instance)) === status) return Date.now() - since;
    await new Promise((pause) => setTimeout(pause, 100));
  }
  throw new Error(`/readyz did not answer ${status} within ${withinMs} ms`);
}

for (const [name, service, startStore, { durable }] of stores) {
  describeWithService(service, `when ${name} goes down under load and comes back`, () => {
    let store: KillableStore;
    let instance: SessionqlInstance;
    beforeAll(async () => {
      store = await startStore();
      instance = await startInstance({ SESSION_STORE: store.url });
    }, 90_000);
    afterAll(async () => {
      await instance?.stop();
      await store?.stop();
    }, 30_000);

    test("every answer while down is STORE_UNAVAILABLE within 2 s with no cookie, /readyz 503s, and it heals", async () => {
      const pid = instance.pid;
      expect(await readiness(instance)).toBe(200);
      const load = startLoad(instance);
      await new Promise((settle) => setTimeout(settle, 500));

      await store.kill();
      const downAt = Date.now();
      const notReadyAfterMs = await readyzBecomes(instance, 503, NOT_READY_WITHIN_MS);
      await new Promise((outage) => setTimeout(outage, DOWN_FOR_MS - notReadyAfterMs));
      const restartAt = Date.now();
      await store.restart();
      const readyAfterMs = await readyzBecomes(instance, 200, READY_AGAIN_WITHIN_MS);
      await new Promise((settle) => setTimeout(settle, 500));
      await load.stop();

      const whileDown = load.outcomes.filter(
        (o) => o.startedAt >= downAt && o.startedAt + o.tookMs < restartAt,
      );
      // Each visitor's requests take up to a second while down; at least half of them must have been seen there.
      expect(whileDown.length).toBeGreaterThanOrEqual(VISITORS / 2);
      expect(whileDown.filter((o) => o.code !== "STORE_UNAVAILABLE")).toEqual([]);
      expect(whileDown.filter((o) => o.setCookie)).toEqual([]);
      // Nothing of the driver's failure (errno codes, hosts, ports) reaches the client.
      expect(new Set(whileDown.map((o) => o.message))).toEqual(
        new Set(["The session store is unavailable; try again shortly."]),
      );
      expect(Math.max(...load.outcomes.map((o) => o.tookMs))).toBeLessThan(ANSWER_WITHIN_MS);
      expect(notReadyAfterMs).toBeLessThan(NOT_READY_WITHIN_MS);
      expect(readyAfterMs).toBeLessThan(READY_AGAIN_WITHIN_MS);

      // The same process serves again: every visitor can write and read back a consistent session.
      expect(instance.pid).toBe(pid);
      for (const visitor of load.visitors) {
        const written = await visitor.request(UPDATE, { values: { x: -1, y: -1 } });
        expect(written.errors).toBeUndefined();
        const { data } = await visitor.request<{ session: { data: Record<string, number> } }>(READ);
        expect(data?.session.data).toMatchObject({ x: -1, y: -1 });
      }
      // No answer anywhere was anything but success or a clean outage error.
      expect(load.outcomes.filter((o) => o.code !== undefined && o.code !== "STORE_UNAVAILABLE")).toEqual([]);
      expect(instance.output()).not.toMatch(/unhandled|uncaught/i);
    }, 60_000);

    test("no session holds a half-applied mutation after the outage", async () => {
      const load = startLoad(instance);
      await new Promise((settle) => setTimeout(settle, 300));
      await store.kill();
      await new Promise((outage) => setTimeout(outage, 1_000));
      await store.restart();
      await readyzBecomes(instance, 200, READY_AGAIN_WITHIN_MS);
      await load.stop();
      for (const visitor of load.visitors) {
        const { data, errors } = await visitor.request<{ session: { data: Record<string, number> } }>(READ);
        expect(errors).toBeUndefined();
        const session = data?.session.data ?? {};
        // Either the whole pair of a write is there or none of it (a store that lost its data reads empty).
        expect(session.x).toBe(session.y);
      }
      if (!durable) return;
      // On a store that keeps its data, every acknowledged write is still there (or a later one is: a write
      // in flight at the kill may have landed without its answer getting back).
      for (const [v, visitor] of load.visitors.entries()) {
        const acknowledged = load.outcomes.filter((o) => o.visitor === v && o.wrote !== undefined && !o.code);
        const last = Math.max(...acknowledged.map((o) => o.wrote as number));
        const { data } = await visitor.request<{ session: { data: Record<string, number> } }>(READ);
        expect(data?.session.data.x).toBeGreaterThanOrEqual(last);
      }
    }, 60_000);
  });
}

describeWithService("postgres-server", "when the store is down while sessionql starts", () => {
  test("it starts, reports 503 and STORE_UNAVAILABLE, and serves once the store comes up", async () => {
    const store = await startPostgresServer();
    let instance: SessionqlInstance | undefined;
    try {
      await store.kill();
      instance = await startInstance({ SESSION_STORE: store.url });
      expect(await readiness(instance)).toBe(503);
      const visitor = instance.client();
      const refused = await visitor.request(UPDATE, { values: { a: 1 } });
      expect(refused.errors?.[0]?.extensions?.code).toBe("STORE_UNAVAILABLE");
      expect(setCookiesOf(refused.res)).toEqual([]);

      await store.restart();
      await readyzBecomes(instance, 200, READY_AGAIN_WITHIN_MS);
      const written = await visitor.request(UPDATE, { values: { a: 1 } });
      expect(written.errors).toBeUndefined();
      await expect(visitor.data()).resolves.toEqual({ a: 1 });
    } finally {
      await instance?.stop();
      await store.stop();
    }
  }, 90_000);
});
