import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer as createTcpServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { ManualClock } from "../helpers/clock";
import { CookieJar } from "../helpers/cookies";
import { unclosed } from "../helpers/login-app";
import { createThrowawayDatabase } from "../helpers/postgres";
import { startRedisCluster, startRedisServer } from "../helpers/redis";
import { type GraphQLClient, startTestServer, type TestServer } from "../helpers/server";
import { describeWithService, startBeforeAll } from "../helpers/services";

/**
 * Measures how many times each GraphQL operation goes to the store. Store calls are counted on the
 * SessionStore interface; round trips on the wire are counted by the server where it can tell (Redis's
 * INFO commandstats) and by a loopback proxy that counts PostgreSQL's ReadyForQuery messages (one per
 * completed request/response exchange) where it cannot.
 */

const SAMPLES = 20;
const READ = "{ session { data version } }";
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";

type Counts = { storeCalls: number; roundTrips: number };
type Measured = Record<
  "newSessionSet" | "sessionRead" | "sessionSet" | "anonymousRead" | "overtakenSet",
  Counts
>;

const report: Record<string, Measured> = {};
afterAll(() => {
  const lines = Object.entries(report).map(
    ([store, m]) =>
      `${store.padEnd(14)} session query: ${format(m.sessionRead)} | setSession: ${format(m.sessionSet)} | ` +
      `first setSession: ${format(m.newSessionSet)} | session without cookie: ${format(m.anonymousRead)} | ` +
      `setSession after another instance's: ${format(m.overtakenSet)}`,
  );
  if (lines.length > 0) process.stdout.write(`store round trips per operation\n${lines.join("\n")}\n`);
});

function format(counts: Counts): string {
  return `${counts.storeCalls} store calls, ${counts.roundTrips} round trips`;
}

/** Wraps a store so every call through the SessionStore interface is counted. */
function counted(store: SessionStore): { store: SessionStore; calls: () => number } {
  let calls = 0;
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || !["load", "save", "saveOrRead", "delete"].includes(String(property)))
        return value;
      return (...args: unknown[]) => {
        calls++;
        return value.apply(target, args);
      };
    },
  });
  return { store: wrapped, calls: () => calls };
}

/**
 * Runs the four operations, SAMPLES times each, and averages what each cost; then a write after another
 * instance (a second server on the same store, not counted) wrote the same session.
 */
async function measure(store: SessionStore, roundTrips: () => Promise<number>): Promise<Measured> {
  const { store: countedStore, calls } = counted(store);
  const server: TestServer = await startTestServer({ store: countedStore, clock: new ManualClock() });
  // The second server shares the store but leaves closing it to the first.
  const other: TestServer = await startTestServer({ store: unclosed(store), clock: new ManualClock() });
  try {
    const cost = async (operation: () => Promise<unknown>): Promise<Counts> => {
      const [calls0, trips0] = [calls(), await roundTrips()];
      for (let i = 0; i < SAMPLES; i++) await operation();
      const [calls1, trips1] = [calls(), await roundTrips()];
      return { storeCalls: (calls1 - calls0) / SAMPLES, roundTrips: (trips1 - trips0) / SAMPLES };
    };
    const ok = async (visitor: GraphQLClient, query: string, variables?: Record<string, unknown>) => {
      const { errors } = await visitor.request(query, variables);
      expect(errors).toBeUndefined();
    };
    // Warm up: connections opened, scripts loaded and statements prepared before anything is counted.
    const warm = server.client();
    for (let i = 0; i < 3; i++) await ok(warm, SET, { key: `w${i}`, value: i });
    await ok(warm, READ);

    const visitor = server.client();
    await ok(visitor, SET, { key: "a", value: 0 });
    let n = 0;
    const measured = {
      newSessionSet: await cost(() => ok(server.client(), SET, { key: "a", value: 1 })),
      sessionRead: await cost(() => ok(visitor, READ)),
      sessionSet: await cost(() => ok(visitor, SET, { key: "a", value: ++n })),
      anonymousRead: await cost(() => ok(server.client(), READ)),
    };
    // One visitor whose requests reach both instances in turn, so each write finds the other's newer record.
    const jar = new CookieJar();
    const [here, there] = [server.client(jar), other.client(jar)];
    await ok(here, SET, { key: "b", value: 0 });
    const overtaken: Counts = { storeCalls: 0, roundTrips: 0 };
    for (let i = 1; i <= SAMPLES; i++) {
      await ok(there, SET, { key: "b", value: -i });
      const [calls0, trips0] = [calls(), await roundTrips()];
      await ok(here, SET, { key: "b", value: i });
      const [calls1, trips1] = [calls(), await roundTrips()];
      overtaken.storeCalls += calls1 - calls0;
      overtaken.roundTrips += trips1 - trips0;
    }
    overtaken.storeCalls /= SAMPLES;
    overtaken.roundTrips /= SAMPLES;
    const { data } = await there.request<{ session: { data: { b: number } } }>(READ);
    expect(data?.session.data.b).toBe(SAMPLES);
    return { ...measured, overtakenSet: overtaken };
  } finally {
    await other.close();
    await server.close();
  }
}

/**
 * Watches Redis servers with MONITOR and counts the commands clients send, leaving out those a Lua script
 * runs inside the server (`[0 lua]`): each counted command is one request on the wire.
 */
async function redisRequestCounter(
  ports: number[],
): Promise<{ count: () => Promise<number>; close: () => void }> {
  let requests = 0;
  let markersSeen = 0;
  const monitors = ports.map((port) => createClient({ url: `redis://127.0.0.1:${port}` }));
  const probes = ports.map((port) => createClient({ url: `redis://127.0.0.1:${port}` }));
  for (const client of [...monitors, ...probes]) await client.connect();
  for (const monitor of monitors) {
    await monitor.monitor((line: string) => {
      if (/^\S+ \[\d+ lua\]/.test(line)) return;
      if (line.includes('"ECHO" "round-trip-marker"') || line.includes('"echo" "round-trip-marker"'))
        markersSeen++;
      else requests++;
    });
  }
  let markersSent = 0;
  return {
    // MONITOR reports asynchronously, so a marker sent after the work shows when all of it has been reported.
    async count() {
      for (const probe of probes) {
        await probe.echo("round-trip-marker");
        markersSent++;
      }
      while (markersSeen < markersSent) await new Promise((tick) => setTimeout(tick, 5));
      return requests;
    },
    close() {
      for (const client of [...monitors, ...probes]) client.destroy();
    },
  };
}

/** A loopback TCP proxy to a PostgreSQL server that counts the ReadyForQuery messages coming back. */
async function countingPostgresProxy(
  target: URL,
): Promise<{ url: string; exchanges: () => number; close: () => Promise<void> }> {
  let exchanges = 0;
  const sockets = new Set<Socket>();
  const server: Server = createTcpServer((client) => {
    const upstream = connect({ host: target.hostname, port: Number(target.port || 5432) });
    sockets.add(client).add(upstream);
    let pending = Buffer.alloc(0);
    let startup = true;
    upstream.on("data", (chunk: Buffer) => {
      client.write(chunk);
      // Backend messages are a type byte and a 4-byte length that counts itself but not the type.
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) break;
        if (pending[0] === 0x5a /* 'Z' */) {
          if (startup) startup = false;
          else exchanges++;
        }
        pending = pending.subarray(1 + length);
      }
    });
    client.on("data", (chunk) => upstream.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", () => listening()));
  const { port } = server.address() as { port: number };
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    exchanges: () => exchanges,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((closed) => server.close(closed));
    },
  };
}

describe("store calls per operation on the embedded stores (no network)", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "sessionql-round-trips-"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  // A write of a session this instance saved last starts from the copy it kept, on every store out of the process
  // (SQLite too: another process may write the file); the memory store reads the record back, which costs less.
  // After another instance's write, SQLite's refused save brings back the record that won, so it is saved at the
  // second call; the memory store never keeps a copy, so it reads and saves as always.
  test.each([
    ["memory", () => "memory://", 2, 2],
    ["sqlite", () => `sqlite://${join(tmp, "sessions.sqlite")}`, 1, 2],
  ])("%s", async (name, url, writeCalls, overtakenCalls) => {
    const store = createStore(url());
    const measured = await measure(store, async () => 0);
    report[name] = measured;
    expect(measured.sessionRead.storeCalls).toBe(1);
    expect(measured.sessionSet.storeCalls).toBe(writeCalls);
    expect(measured.overtakenSet.storeCalls).toBe(overtakenCalls);
    expect(measured.anonymousRead.storeCalls).toBe(0);
  });
});

describeWithService("redis", "round trips per operation on Redis", () => {
  const server = startBeforeAll(startRedisServer, (server) => server.stop());

  // A write of a session this instance saved last needs no read: its version check is the script's. After another
  // instance's write the script refuses it and answers with the record that won, and the change is saved on that.
  test("one GET per read, one script per write, two scripts after another instance's write", async () => {
    const counter = await redisRequestCounter([server().port]);
    const measured = await measure(createStore(server().url), counter.count).finally(counter.close);
    report.redis = measured;
    expect(measured.sessionRead).toEqual({ storeCalls: 1, roundTrips: 1 });
    expect(measured.sessionSet).toEqual({ storeCalls: 1, roundTrips: 1 });
    expect(measured.overtakenSet).toEqual({ storeCalls: 2, roundTrips: 2 });
    expect(measured.newSessionSet).toEqual({ storeCalls: 1, roundTrips: 1 });
    expect(measured.anonymousRead).toEqual({ storeCalls: 0, roundTrips: 0 });
  });
});

describeWithService("redis-cluster", "round trips per operation on a Redis Cluster", () => {
  const cluster = startBeforeAll(startRedisCluster, (cluster) => cluster.stop(), 60_000);

  test("as on one server, every command goes straight to its master; a write adds its SPUBLISH", async () => {
    const counter = await redisRequestCounter(cluster().ports);
    const measured = await measure(createStore(cluster().url), counter.count).finally(counter.close);
    report["redis cluster"] = measured;
    expect(measured.sessionRead).toEqual({ storeCalls: 1, roundTrips: 1 });
    // The live-sessions change goes to its sharded channel's master, sent beside the script without a wait: two
    // requests on the wire, one wait for the caller.
    expect(measured.sessionSet).toEqual({ storeCalls: 1, roundTrips: 2 });
    expect(measured.overtakenSet).toEqual({ storeCalls: 2, roundTrips: 3 });
  });
});

describeWithService("postgres", "round trips per operation on PostgreSQL", () => {
  const database = startBeforeAll(createThrowawayDatabase, (database) => database.drop());

  test("one SELECT per read, one UPDATE per write, two after another instance's write", async () => {
    const proxy = await countingPostgresProxy(new URL(database().url));
    try {
      const store = createStore(proxy.url);
      const measured = await measure(store, async () => proxy.exchanges());
      report.postgres = measured;
      expect(measured.sessionRead).toEqual({ storeCalls: 1, roundTrips: 1 });
      expect(measured.sessionSet).toEqual({ storeCalls: 1, roundTrips: 1 });
      expect(measured.overtakenSet).toEqual({ storeCalls: 2, roundTrips: 2 });
    } finally {
      await proxy.close();
    }
  });
});
