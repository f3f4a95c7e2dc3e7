import { createServer, type Server, type Socket } from "node:net";
import { freePort } from "../helpers/free-port";
import { type SessionqlInstance, startInstance } from "../helpers/instance";

// What a request costs in log lines: at the default level (info) none, unless it was slow (one warn line); at debug
// fastify's two lines per request; errors and warnings at every level.

const READ = "{ session { data } }";
const REQUESTS = 20;

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
}

function lines(instance: SessionqlInstance): LogLine[] {
  return instance
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);
}

async function send(instance: SessionqlInstance, count: number): Promise<void> {
  const client = instance.client();
  for (let i = 0; i < count; i++) await client.request(READ);
}

/** Waits a moment for the pipe to deliver what the process wrote. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** A TCP server that accepts connections and never answers: a store that hangs. */
async function blackHole(): Promise<{ port: number; close(): void }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => sockets.push(socket));
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe("request logs", () => {
  const started: SessionqlInstance[] = [];
  afterAll(async () => {
    for (const instance of started) await instance.stop();
  });

  async function start(env: Record<string, string>): Promise<SessionqlInstance> {
    const instance = await startInstance({ SESSION_STORE: "memory://", ...env });
    started.push(instance);
    return instance;
  }

  test("at the default level (info) a request that went well writes no log line", async () => {
    const instance = await start({ LOG_LEVEL: "info" });
    await settle();
    const before = lines(instance).length;
    await send(instance, REQUESTS);
    await settle();
    const perRequest = lines(instance).slice(before);
    expect(perRequest).toEqual([]);
  });

  test("at debug every request gets its incoming and completed lines, with its request id", async () => {
    const instance = await start({ LOG_LEVEL: "debug" });
    await settle();
    const before = lines(instance).length;
    await send(instance, REQUESTS);
    await settle();
    const withId = lines(instance)
      .slice(before)
      .filter((line) => line.reqId !== undefined);
    expect(withId.filter((line) => line.msg === "incoming request")).toHaveLength(REQUESTS);
    expect(withId.filter((line) => line.msg === "request completed")).toHaveLength(REQUESTS);
  });

  test("at the default level a slow request writes one warn line, and its store failure an error line", async () => {
    const hole = blackHole();
    const { port, close } = await hole;
    try {
      const instance = await start({ LOG_LEVEL: "info", SESSION_STORE: `redis://127.0.0.1:${port}` });
      const client = instance.client();
      const { errors } = await client.request('mutation { setSession(key: "a", value: 1) { version } }');
      expect(errors?.[0]?.extensions?.code).toBe("STORE_UNAVAILABLE");
      await settle();
      const mine = lines(instance).filter((line) => line.reqId !== undefined);
      const slow = mine.filter((line) => line.msg.startsWith("slow request"));
      expect(slow).toHaveLength(1);
      expect(slow[0]?.level).toBe(40);
      expect(mine.filter((line) => line.level === 50).length).toBeGreaterThanOrEqual(1);
    } finally {
      close();
    }
  }, 20_000);
});
