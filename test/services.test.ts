import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Client } from "pg";
import { acceptsConnections } from "./helpers/free-port";
import {
  createThrowawayDatabase,
  POSTGRES_ADMIN_URL,
  type PostgresDatabase,
  type PostgresServer,
  startPostgresServer,
} from "./helpers/postgres";
import { type RedisCluster, type RedisServer, startRedisCluster, startRedisServer } from "./helpers/redis";
import { describeWithService } from "./helpers/services";

// Server starts take a second or two here; the margin is for a loaded CI machine.
const SERVER_TEST_TIMEOUT_MS = 60_000;

// redis-cli, not the helpers' own socket code, checks what the helpers started.
async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]);
  return stdout.trim();
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeWithService("redis", "a private redis server", () => {
  let server: RedisServer | undefined;
  afterAll(() => server?.stop(), SERVER_TEST_TIMEOUT_MS);

  test(
    "answers PING, refuses connections once killed, and answers again after a restart on the same port",
    async () => {
      server = await startRedisServer();
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
      expect(await redisCli(server.port, "PING")).toBe("PONG");
      const firstPid = server.pid as number;

      await server.kill();
      expect(server.pid).toBeUndefined();
      expect(isRunning(firstPid)).toBe(false);
      expect(await acceptsConnections(server.port)).toBe(false);

      await server.restart();
      expect(server.pid).not.toBe(firstPid);
      expect(await redisCli(server.port, "PING")).toBe("PONG");

      await server.stop();
      await server.stop();
      expect(await acceptsConnections(server.port)).toBe(false);
    },
    SERVER_TEST_TIMEOUT_MS,
  );
});

describeWithService("redis-cluster", "a private redis cluster", () => {
  let cluster: RedisCluster | undefined;
  afterAll(() => cluster?.stop(), SERVER_TEST_TIMEOUT_MS);

  test(
    "has three masters that share every slot and report cluster_state:ok",
    async () => {
      cluster = await startRedisCluster();
      const [first] = cluster.ports as [number];
      expect(cluster.url).toBe(
        `redis+cluster://${cluster.ports.map((port) => `127.0.0.1:${port}`).join(",")}`,
      );
      const info = await redisCli(first, "CLUSTER", "INFO");
      expect(info).toContain("cluster_state:ok");
      expect(info).toContain("cluster_known_nodes:3");
      expect(info).toContain("cluster_slots_assigned:16384");

      await cluster.stop();
      await cluster.stop();
      for (const port of cluster.ports) expect(await acceptsConnections(port)).toBe(false);
    },
    SERVER_TEST_TIMEOUT_MS,
  );
});

describeWithService("postgres", "a throwaway postgres database", () => {
  let database: PostgresDatabase | undefined;
  afterAll(() => database?.drop());

  test("holds tables of its own and is gone after drop", async () => {
    database = await createThrowawayDatabase();
    expect(database.name).toMatch(new RegExp(`^sessionql_test_${process.pid}_[0-9a-f]+$`));
    await query(database.url, "CREATE TABLE visits (n integer)");
    await query(database.url, "INSERT INTO visits VALUES (1), (2)");
    expect(await query(database.url, "SELECT sum(n)::int AS total FROM visits")).toEqual([{ total: 3 }]);

    await database.drop();
    await database.drop();
    const left = await query(
      POSTGRES_ADMIN_URL,
      `SELECT 1 FROM pg_database WHERE datname = '${database.name}'`,
    );
    expect(left).toEqual([]);
  });
});

describeWithService("postgres-server", "a private postgres server", () => {
  let server: PostgresServer | undefined;
  afterAll(() => server?.stop(), SERVER_TEST_TIMEOUT_MS);

  test(
    "answers queries, refuses connections once killed, and answers again after a restart on the same port",
    async () => {
      server = await startPostgresServer();
      expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
      expect(await query(server.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
      const firstPid = server.pid as number;

      await server.kill();
      expect(server.pid).toBeUndefined();
      expect(isRunning(firstPid)).toBe(false);
      await expect(query(server.url, "SELECT 1")).rejects.toThrow(/ECONNREFUSED/);

      await server.restart();
      expect(server.pid).not.toBe(firstPid);
      expect(await query(server.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);

      await server.stop();
      await server.stop();
      expect(await acceptsConnections(server.port)).toBe(false);
    },
    SERVER_TEST_TIMEOUT_MS,
  );
});
