import { randomBytes } from "node:crypto";
import { chownSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { acceptsConnections, freePort } from "./free-port";
import {
  type OsUser,
  POSTGRES_ADMIN_URL,
  postgresBinDir,
  postgresOsUser,
  runCommand,
  type ServiceProcess,
  spawnService,
  startOnFreePort,
  waitFor,
} from "./services";

export { POSTGRES_ADMIN_URL };

/** A database of its own for one test file, on the server POSTGRES_ADMIN_URL names. */
export interface PostgresDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database, closing any connection still open to it; calling it again does nothing. */
  drop(): Promise<void>;
}

/** A private PostgreSQL server on a loopback port, which a test may kill and restart. */
export interface PostgresServer {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** The postmaster's pid, undefined while it is killed. */
  readonly pid: number | undefined;
  /** SIGKILLs the postmaster and resolves once it, its children and its port are gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data (killing it first if it runs) and waits for connections. */
  restart(): Promise<void>;
  /** Shuts the server down at once if it runs and removes its data; calling it again does nothing. */
  stop(): Promise<void>;
}

const LOOPBACK = "127.0.0.1";
const INITDB_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 15_000;

/** Creates an empty database with a unique name through the admin URL. */
export async function createThrowawayDatabase(): Promise<PostgresDatabase> {
  const name = `sessionql_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  await asAdmin(`CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      await asAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      dropped = true;
    },
  };
}

/** Runs one statement as the admin user of POSTGRES_ADMIN_URL, on a connection of its own. */
export async function asAdmin(sql: string): Promise<void> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates a cluster in a temporary directory with initdb and starts its postmaster on a free loopback port. */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error("no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
  const user = postgresOsUser();
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "sessionql-pg-")));
  const dataDir = join(dir, "data");
  let port: number;
  let current: ServiceProcess | undefined;
  try {
    if (user) chownSync(dir, user.uid, user.gid);
    await initdb(bin, dataDir, user);
    const startOn = (port: number) => startPostmaster(bin, dataDir, dir, port, user);
    ({ port, started: current } = await startOnFreePort(freePort, startOn));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;

  const kill = async () => {
    await current?.end("SIGKILL");
    current = undefined;
    await waitUntilGone(dataDir, port);
  };
  return {
    port,
    url: urlFor(port),
    get pid() {
      return current?.pid;
    },
    kill,
    async restart() {
      if (stopped) throw new Error(`postgres on port ${port} was stopped and cannot restart`);
      await kill();
      current = await startPostmaster(bin, dataDir, dir, port, user);
    },
    async stop() {
      stopped = true;
      // SIGQUIT is `pg_ctl stop -m immediate`: no checkpoint, since the data is about to be removed.
      await current?.end("SIGQUIT");
      current = undefined;
      await waitUntilGone(dataDir, port);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function urlFor(port: number): string {
  return `postgres://postgres@${LOOPBACK}:${port}/postgres`;
}

function initdb(bin: string, dataDir: string, user: OsUser | undefined): Promise<string> {
  // --no-sync: the cluster is thrown away, so fsyncing it only costs seconds.
  const args = ["-D", dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"];
  return runCommand(join(bin, "initdb"), args, { cwd: tmpdir(), user, timeoutMs: INITDB_TIMEOUT_MS });
}

// The postgres binary is run directly, not through pg_ctl, so the pid we hold is the postmaster's. A start right
// after a kill may still find the old server's shared memory or lock files in use; it exits, and is tried again.
async function startPostmaster(
  bin: string,
  dataDir: string,
  socketDir: string,
  port: number,
  user: OsUser | undefined,
): Promise<ServiceProcess> {
  const args = ["-D", dataDir, "-p", String(port), "-k", socketDir, "-c", `listen_addresses=${LOOPBACK}`];
  args.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const server = spawnService(join(bin, "postgres"), args, socketDir, user);
    const details = () => `postgres ${args.join(" ")}\n${server.output()}`;
    try {
      await waitFor(
        `postgres on port ${port} accepting connections`,
        async () => {
          if (server.hasExited()) throw new Error(`postgres on port ${port} exited:\n${details()}`);
          return canConnect(urlFor(port));
        },
        { timeoutMs: Math.max(deadline - Date.now(), 0), details },
      );
      return server;
    } catch (error) {
      const retriable = server.hasExited() && !String(error).includes("Address already in use");
      await server.end("SIGKILL");
      if (!retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

// A postmaster's children outlive it briefly, still attached to its shared memory, and a new postmaster refuses
// to start beside them. Every one of them works in the data directory, which is how they are found; they exit by
// themselves within milliseconds of noticing the postmaster's death, and are SIGKILLed if they have not after 5 s.
async function waitUntilGone(dataDir: string, port: number): Promise<void> {
  const gone = async () => processesIn(dataDir).length === 0 && !(await acceptsConnections(port));
  await waitFor(`postgres on port ${port} exiting`, gone, { timeoutMs: 5000 }).catch(() => {
    for (const pid of processesIn(dataDir)) killIfRunning(pid);
  });
  await waitFor(`postgres on port ${port} exiting after SIGKILL`, gone, { timeoutMs: 5000 });
}

function killIfRunning(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // it exited between the listing and the signal
  }
}

function processesIn(dir: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === dir;
      } catch {
        return false; // exited, or a zombie whose cwd is already released
      }
    })
    .map(Number);
}
