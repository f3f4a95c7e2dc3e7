import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acceptsConnections, freePort, freePortWithPartner } from "./free-port";
import { runCommand, type ServiceProcess, spawnService, startOnFreePort, waitFor } from "./services";

/** A private redis-server on a loopback port, which a test may kill and restart. */
export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** The pid of the running server, undefined while it is killed. */
  readonly pid: number | undefined;
  /** SIGKILLs the server and resolves once it has exited and its port refuses connections. */
  kill(): Promise<void>;
  /** Starts a new server on the same port (killing the old one if it still runs) and resolves once it answers PING. */
  restart(): Promise<void>;
  /** Ends the server if it runs and removes its directory; calling it again does nothing. */
  stop(): Promise<void>;
}

/** A private three-master Redis cluster on loopback ports. */
export interface RedisCluster {
  readonly ports: number[];
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3 */
  readonly url: string;
  /** Ends every node and removes their directories; calling it again does nothing. */
  stop(): Promise<void>;
}

const LOOPBACK = "127.0.0.1";
const START_TIMEOUT_MS = 10_000;
const CLUSTER_TIMEOUT_MS = 20_000;
// A cluster node also listens on its port + 10000 for the cluster bus.
const CLUSTER_BUS_OFFSET = 10_000;
const CLUSTER_SIZE = 3;

/** Starts a redis-server that keeps nothing on disk, on a free loopback port. */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "sessionql-redis-"));
  const start = (port: number) => launch(port, serverArgs(port, dir), dir);
  let current: ServiceProcess | undefined;
  let port: number;
  try {
    ({ port, started: current } = await startOnFreePort(freePort, start));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;

  const kill = async () => {
    await current?.end("SIGKILL");
    current = undefined;
    const refuses = async () => !(await acceptsConnections(port));
    await waitFor(`redis port ${port} refusing connections`, refuses, { timeoutMs: START_TIMEOUT_MS });
  };
  return {
    port,
    url: `redis://${LOOPBACK}:${port}`,
    get pid() {
      return current?.pid;
    },
    kill,
    async restart() {
      if (stopped) throw new Error(`redis on port ${port} was stopped and cannot restart`);
      await kill();
      current = await start(port);
    },
    async stop() {
      stopped = true;
      await current?.end("SIGTERM");
      current = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts three cluster-enabled masters, joins them with redis-cli and resolves once all report cluster_state:ok. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: { port: number; server: ServiceProcess; dir: string }[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.server.end("SIGTERM")));
    for (const node of nodes) rmSync(node.dir, { recursive: true, force: true });
    nodes.length = 0;
  };
  try {
    for (let i = 0; i < CLUSTER_SIZE; i++) {
      const dir = mkdtempSync(join(tmpdir(), "sessionql-redis-cluster-"));
      const choosePort = () => freePortWithPartner(CLUSTER_BUS_OFFSET);
      const launchNode = (port: number) => launch(port, clusterNodeArgs(port, dir), dir);
      const { port, started: server } = await startOnFreePort(choosePort, launchNode).catch((error) => {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      });
      nodes.push({ port, server, dir });
    }
    const ports = nodes.map((node) => node.port);
    await joinCluster(ports);
    return { ports, url: `redis+cluster://${ports.map((port) => `${LOOPBACK}:${port}`).join(",")}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function joinCluster(ports: number[]): Promise<void> {
  const addresses = ports.map((port) => `${LOOPBACK}:${port}`);
  const createArgs = ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"];
  await runCommand("redis-cli", createArgs, { timeoutMs: CLUSTER_TIMEOUT_MS });
  // `--cluster create` returns once the nodes agree on the slots; each node still has to see the others as up
  // through the bus before it serves commands, which CLUSTER INFO reports as cluster_state:ok.
  const isOk = async (port: number) =>
    (await redisCommand(port, "CLUSTER INFO")).includes("cluster_state:ok");
  await waitFor(
    `cluster_state:ok on ports ${ports.join(", ")}`,
    async () => (await Promise.all(ports.map(isOk))).every(Boolean),
    { timeoutMs: CLUSTER_TIMEOUT_MS },
  );
}

function serverArgs(port: number, dir: string): string[] {
  return ["--port", String(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no", "--dir", dir];
}

function clusterNodeArgs(port: number, dir: string): string[] {
  const clusterConfig = join(dir, "nodes.conf");
  return [...serverArgs(port, dir), "--cluster-enabled", "yes", "--cluster-config-file", clusterConfig];
}

async function launch(port: number, args: string[], dir: string): Promise<ServiceProcess> {
  const server = spawnService("redis-server", args, dir);
  const details = () => `redis-server ${args.join(" ")}\n${server.output()}`;
  try {
    await waitFor(
      `redis-server on port ${port} answering PING`,
      async () => {
        if (server.hasExited()) throw new Error(`redis-server on port ${port} exited:\n${details()}`);
        return answersPing(port);
      },
      { timeoutMs: START_TIMEOUT_MS, details },
    );
    return server;
  } catch (error) {
    await server.end("SIGKILL");
    throw error;
  }
}

async function answersPing(port: number): Promise<boolean> {
  try {
    return (await redisCommand(port, "PING")).startsWith("+PONG");
  } catch {
    return false;
  }
}

/**
 * Sends one inline command to the Redis on `port` and resolves with its raw reply. QUIT follows the command so the
 * server closes the connection after replying, which marks the reply's end without parsing RESP.
 */
export function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: LOOPBACK });
    socket.setTimeout(START_TIMEOUT_MS);
    let reply = "";
    socket.on("data", (chunk) => {
      reply += chunk.toString();
    });
    socket.once("connect", () => socket.write(`${command}\r\nQUIT\r\n`));
    socket.once("error", reject);
    socket.once("timeout", () =>
      socket.destroy(new Error(`redis on port ${port} did not answer ${command}`)),
    );
    socket.once("close", () => resolve(reply.replace(/\+OK\r\n$/, "")));
  });
}
