import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { asAdmin } from "../test/helpers/postgres";
import { POSTGRES_ADMIN_URL } from "../test/helpers/services";

/** A database a bench made for itself on the server POSTGRES_ADMIN_URL names. */
export interface BenchDatabase {
  /** Its name: `<prefix><pid>_<random>`, so the database of a run killed before its cleanup can be found. */
  readonly name: string;
  /** POSTGRES_ADMIN_URL with this database. */
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database for one run of a bench, on a loopback PostgreSQL only, after dropping those an earlier
 * run of it left behind (named with `prefix` and the pid of a process that no longer exists).
 */
export async function createBenchDatabase(prefix: string, bench: string): Promise<BenchDatabase> {
  const admin = new URL(POSTGRES_ADMIN_URL);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(admin.hostname)) {
    throw new Error(`${bench} runs on a loopback PostgreSQL only, not ${admin.hostname}`);
  }
  await dropAbandonedDatabases(prefix);
  const name = `${prefix}${process.pid}_${randomBytes(4).toString("hex")}`;
  await asAdmin(`CREATE DATABASE "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => asAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/** Drops the databases of earlier runs whose process no longer exists (a run killed before its cleanup). */
async function dropAbandonedDatabases(prefix: string): Promise<void> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
      [prefix],
    );
    for (const { datname } of rows) {
      const pid = Number(/^(\d+)_/.exec(datname.slice(prefix.length))?.[1]);
      if (!Number.isInteger(pid) || isRunning(pid)) continue;
      console.log(`postgres: dropping ${datname}, left by an earlier run (pid ${pid} is gone)`);
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
