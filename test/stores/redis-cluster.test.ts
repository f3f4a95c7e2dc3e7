import { newSessionKey } from "../../src/session/keys";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { clusterRootNodes, createRedisStore } from "../../src/stores/redis";
import { ManualClock } from "../helpers/clock";
import { startRedisCluster } from "../helpers/redis";
import { describeWithService, startBeforeAll } from "../helpers/services";
import { describeSessionStore } from "./contract";

describe("redis+cluster:// URLs", () => {
  test("give one redis:// seed per host, each with the credentials", () => {
    expect(clusterRootNodes("redis+cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2:7001")).toEqual([
      "redis://u:p%40ss@10.0.0.1:7000",
      "redis://u:p%40ss@10.0.0.2:7001",
    ]);
    expect(clusterRootNodes("redis+cluster://127.0.0.1:7000")).toEqual(["redis://127.0.0.1:7000"]);
  });

  test.each([
    ["no hosts", "redis+cluster://"],
    ["a host without a port", "redis+cluster://127.0.0.1:7000,127.0.0.2"],
  ])("refuse %s", (_, url) => {
    expect(() => clusterRootNodes(url)).toThrow(/redis\+cluster/);
  });
});

describeWithService("redis-cluster", "a Redis Cluster of three masters", () => {
  const cluster = startBeforeAll(startRedisCluster, (cluster) => cluster.stop(), 60_000);

  describeSessionStore("redis cluster", (clock) => createRedisStore(cluster().url, clock), {
    expiresNatively: true,
    answersLostChecks: true,
  });

  test("sessions written through one list of seeds read back through another", async () => {
    const clock = new ManualClock();
    const writer: SessionStore = createStore(cluster().url, clock);
    const reader: SessionStore = createStore(
      `redis+cluster://127.0.0.1:${cluster().ports[2]},127.0.0.1:${cluster().ports[1]}`,
      clock,
    );
    try {
      const keys = Array.from({ length: 30 }, () => newSessionKey());
      for (const [i, sessionKey] of keys.entries()) {
        await writer.save(
          sessionKey,
          { data: { i }, expiresAtMs: clock.now() + 60_000, version: 1 },
          undefined,
        );
      }
      for (const [i, sessionKey] of keys.entries()) {
        await expect(reader.load(sessionKey)).resolves.toMatchObject({ data: { i } });
      }
    } finally {
      await writer.close();
      await reader.close();
    }
  });
});
