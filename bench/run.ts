/**
 * `npm run bench`: sessionql (dist/main.js) against bench/baseline.ts, a bare node:http server doing the same
 * store work, on each store and workload; on the memory store also against bench/apollo-floor.ts, Apollo Server
 * on fastify answering from constants, and bench/apollo-users.ts, Apollo Server on fastify as its users get it
 * (default plugins, sessions in a Map under an unsigned cookie); on memory and Redis also sessionql's library on
 * Express 5 (bench/express-library.ts) against Apollo Server on Express 5 with express-session
 * (bench/express-session.ts). W5, one session written by every connection, runs only on the servers that keep a
 * per-session lock (sessionql and its library), and checks that no update was lost. The servers run pinned to
 * core 0 and this process, the autocannon load generator, on core 1; every response is checked, and a cell with
 * any error or wrong answer reads INVALID. Prints one line per run, then the tables, and writes
 * bench/results/<timestamp>.{json,md} and latest.md.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type Pinning } from "./cpu";
import { CommandLine } from "./options";
import {
  type Cell,
  defaultsTable,
  expressTable,
  hotSessionTable,
  type ReportMeta,
  resultsTable,
  usersTable,
  writeReport,
} from "./report";
import { type LoadTarget, runRounds } from "./rounds";
import { beginRun, runMeta } from "./run-meta";
import { seedSessions } from "./seed";
import {
  EXPRESS_KINDS,
  HOT_SESSION_KINDS,
  type RunningServer,
  SERVER_KINDS,
  type ServerKind,
  startServer,
} from "./servers";
import { openBenchStore, STORE_NAMES, type StoreName } from "./stores";
import { WORKLOAD_IDS, type WorkloadId } from "./workloads";

const USAGE = `usage: npm run bench -- [options]
  --duration <s>       seconds per measured run (default 4)
  --warmup <s>         seconds of warm-up per server and workload, not measured (default 1)
  --rounds <n>         measured runs per cell; the table shows the median (default 3)
  --stores <list>      ${STORE_NAMES.join(",")} (default all)
  --workloads <list>   ${WORKLOAD_IDS.join(",")} (default all)
  --connections <n>    concurrent connections (default 32)
  --sessions <n>       sessions W2 and W4 rotate over (default 1000)
  --no-floor           leave out the Apollo floor (run on the memory store otherwise)
  --no-users           leave out Apollo as its users get it, apollo-users (run on the memory store otherwise)
  --no-express         leave out the Express 5 pair, sessionql's library and express-session (run on
                       memory and redis otherwise)
  --no-defaults        leave out sessionql as \`npm start\` runs it, every setting at its default (run on
                       memory otherwise)
  --cpu-prof-dir <dir> run sessionql under --cpu-prof and write its profiles there
  --out <dir>          where the reports go (default bench/results)`;

interface Options {
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  stores: StoreName[];
  workloads: WorkloadId[];
  connections: number;
  poolSize: number;
  floor: boolean;
  users: boolean;
  express: boolean;
  defaults: boolean;
  cpuProfileDir: string | undefined;
  outDir: string;
}

const cli = new CommandLine("bench", USAGE);

function readOptions(argv: string[]): Options {
  const values = cli.parse(argv, {
    duration: { type: "string", default: "4" },
    warmup: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    stores: { type: "string", default: STORE_NAMES.join(",") },
    workloads: { type: "string", default: WORKLOAD_IDS.join(",") },
    connections: { type: "string", default: "32" },
    sessions: { type: "string", default: "1000" },
    "no-floor": { type: "boolean", default: false },
    "no-users": { type: "boolean", default: false },
    "no-express": { type: "boolean", default: false },
    "no-defaults": { type: "boolean", default: false },
    "cpu-prof-dir": { type: "string" },
    out: { type: "string", default: join(__dirname, "results") },
  });
  return {
    durationSeconds: cli.number("duration", values.duration, 0.5),
    warmupSeconds: cli.number("warmup", values.warmup, 0),
    rounds: cli.whole("rounds", values.rounds, 1),
    stores: cli.listOf("stores", values.stores, STORE_NAMES),
    workloads: cli.listOf("workloads", values.workloads.toUpperCase(), WORKLOAD_IDS),
    connections: cli.whole("connections", values.connections, 1),
    poolSize: cli.whole("sessions", values.sessions, 1),
    floor: !values["no-floor"],
    users: !values["no-users"],
    express: !values["no-express"],
    defaults: !values["no-defaults"],
    cpuProfileDir: values["cpu-prof-dir"],
    outDir: values.out,
  };
}

/** The servers to run on `store`. */
function kindsOn(store: StoreName, options: Options): ServerKind[] {
  // The floor keeps no sessions, so one store's row is enough for it.
  const floor: ServerKind[] = store === "memory" && options.floor ? ["apollo-floor"] : [];
  // apollo-users keeps its sessions in a Map whatever the store, so on another store it would only repeat memory.
  const users: ServerKind[] = store === "memory" && options.users ? ["apollo-users"] : [];
  // The bench gives express-session no SQLite store, so the Express pair runs only where both have one.
  const express = store !== "sqlite" && options.express ? EXPRESS_KINDS : [];
  // sessionql as `npm start` runs it (default settings, LOG_LEVEL info), beside the tuned run, on memory.
  const defaults: ServerKind[] = store === "memory" && options.defaults ? ["sessionql-defaults"] : [];
  return [...SERVER_KINDS, ...defaults, ...floor, ...users, ...express];
}

/**
 * Starts the servers on one store and prepares their sessions, then runs every workload on them (see runRounds;
 * W5 only on HOT_SESSION_KINDS), and stops them.
 */
async function benchStore(
  store: StoreName,
  options: Options,
  pinning: Pinning,
  secret: string,
): Promise<Cell[]> {
  const opened = await openBenchStore(store);
  const started: RunningServer[] = [];
  try {
    const targets: LoadTarget[] = [];
    for (const kind of kindsOn(store, options)) {
      const cpuProfileDir = kind === "sessionql" ? options.cpuProfileDir : undefined;
      const server = await startServer(kind, {
        storeUrl: opened.urlFor(kind),
        secret,
        pinning,
        cpuProfileDir,
      });
      started.push(server);
      targets.push({ server, fixtures: await seedSessions(server, options.poolSize), name: kind });
    }
    const cells: Cell[] = [];
    for (const workload of options.workloads) {
      // W5 writes one session from every connection: only a server with a per-session lock keeps every update.
      const loaded =
        workload === "W5" ? targets.filter((target) => HOT_SESSION_KINDS.has(target.server.kind)) : targets;
      if (loaded.length === 0) continue;
      const rounds = await runRounds(store, loaded, opened.pids(), { ...options, workload });
      cells.push(
        ...loaded.map((target, index) => ({
          store,
          workload,
          kind: target.server.kind,
          rounds: rounds[index] ?? [],
        })),
      );
    }
    return cells;
  } finally {
    for (const server of started) {
      await server.stop().catch((error: unknown) => console.error(`bench: ${(error as Error).message}`));
    }
    await opened.close();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = readOptions(process.argv.slice(2));
  const start = beginRun();
  const { pinning } = start;
  const secret = randomBytes(24).toString("base64url");
  const cells: Cell[] = [];
  for (const store of options.stores) cells.push(...(await benchStore(store, options, pinning, secret)));

  const meta: ReportMeta = {
    ...runMeta(start, options),
    preparation:
      "sessionql through GraphQL (updateSession without a cookie), the baseline through its /seed route " +
      "(store.save and a cookie signed with the same secret); the Apollo floor keeps none; apollo-users, " +
      "sessionql's library on Express and express-session through GraphQL (updateSession without a cookie)",
  };
  console.log("");
  for (const table of [
    resultsTable(cells),
    usersTable(cells),
    hotSessionTable(cells),
    defaultsTable(cells),
    expressTable(cells),
  ]) {
    if (table !== undefined) console.log(`${table}\n`);
  }
  for (const path of writeReport(options.outDir, meta, cells)) console.log(`wrote ${path}`);
  if (options.cpuProfileDir !== undefined) console.log(`sessionql CPU profiles in ${options.cpuProfileDir}`);
  console.log(`bench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
