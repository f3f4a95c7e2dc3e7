/**
 * The scale of the stores: fills SQLite, Redis and PostgreSQL with N sessions (default 1,000,000) through the
 * store adapter, reports bytes per ~1 KB session, W1 spread over random sessions (W1R) at N against the same at
 * 1 k, how long removing 100,000 expired sessions takes beside the N live ones and the longest request it stalls,
 * and how long listing and revoking a user's 1,000 sessions among the N take. Servers run pinned to core 0 as in
 * `npm run bench`; every answer is checked. Writes bench/results/scale-*.{json,md}.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { CookieSigner } from "../src/http/cookie";
import { envelope } from "../src/stores/keyv-store";
import { type Pinning } from "./cpu";
import type { RunResult } from "./load";
import { CommandLine } from "./options";
import { runRounds } from "./rounds";
import { beginRun, runMeta } from "./run-meta";
import {
  SCALE_PARTS,
  type ScaleMeta,
  type ScalePart,
  type ScaleResult,
  type SweepResult,
  scaleTable,
  writeScaleReport,
} from "./scale-report";
import {
  type Filled,
  fillInChunks,
  openScaleStore,
  SCALE_STORE_NAMES,
  type ScaleStore,
  type ScaleStoreName,
} from "./scale-stores";
import { measureSweep, PROBE, SWEEP_INTERVAL_SECONDS } from "./scale-sweep";
import { measureUsers, planUsers, type UsersPlan, type UsersResult } from "./scale-users";
import { type RunningServer, startServer } from "./servers";
import { COOKIE_NAME, type Fixtures, SESSION_AGE_MS, SESSION_DATA } from "./workloads";

const USAGE = `usage: node -r @swc-node/register bench/scale.ts [options]
  --sessions <n>     live sessions in the big store (default 1000000)
  --stores <list>    ${SCALE_STORE_NAMES.join(",")} (default all)
  --parts <list>     ${SCALE_PARTS.join(",")}: W1R at N against at 1 k, the sweep, listing and revoking a
                     user's 1,000 sessions (default all; the load and its bytes per session always run)
  --duration <s>     seconds per measured W1R run (default 4)
  --warmup <s>       seconds of W1R warm-up per server, not measured (default 1)
  --rounds <n>       W1R runs per server; the table shows the median (default 3)
  --connections <n>  W1R connections (default 32)
  --pool <n>         random sessions W1R and the probe rotate over (default 1000)
  --expiring <n>     expired sessions the sweep removes (default 100000)
  --server <file>    the sessionql build to run (default dist/main.js)
  --out <dir>        where the reports go (default bench/results)`;

/** The store W1R at scale is compared with holds this many sessions ("W1 at 1 k"). */
const SMALL_SESSIONS = 1000;

interface Options {
  sessions: number;
  stores: ScaleStoreName[];
  parts: ScalePart[];
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  connections: number;
  poolSize: number;
  expiring: number;
  entry: string | undefined;
  outDir: string;
}

const cli = new CommandLine("bench:scale", USAGE);

function readOptions(argv: string[]): Options {
  const values = cli.parse(argv, {
    sessions: { type: "string", default: "1000000" },
    stores: { type: "string", default: SCALE_STORE_NAMES.join(",") },
    parts: { type: "string", default: SCALE_PARTS.join(",") },
    duration: { type: "string", default: "4" },
    warmup: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    pool: { type: "string", default: "1000" },
    expiring: { type: "string", default: "100000" },
    server: { type: "string" },
    out: { type: "string", default: join(__dirname, "results") },
  });
  const poolSize = cli.whole("pool", values.pool, 1);
  if (poolSize > SMALL_SESSIONS) cli.fail(`--pool must be at most ${SMALL_SESSIONS}, got ${poolSize}`);
  const sessions = cli.whole("sessions", values.sessions, SMALL_SESSIONS);
  return {
    sessions,
    stores: cli.listOf("stores", values.stores, SCALE_STORE_NAMES),
    parts: cli.listOf("parts", values.parts, SCALE_PARTS),
    durationSeconds: cli.number("duration", values.duration, 0.5),
    warmupSeconds: cli.number("warmup", values.warmup, 0),
    rounds: cli.whole("rounds", values.rounds, 1),
    connections: cli.whole("connections", values.connections, 1),
    poolSize,
    expiring: cli.whole("expiring", values.expiring, 1),
    entry: values.server,
    outDir: values.out,
  };
}

/** What every store's part of the run shares. */
interface Run {
  options: Options;
  pinning: Pinning;
  secret: string;
  signer: CookieSigner;
}

/**
 * Fills a big store (and, for W1R, a small one), compares W1R on them, sweeps beside the big one's live sessions,
 * then lists and revokes a user's sessions in it with no server running: each part when `--parts` names it.
 */
async function scaleStore(name: ScaleStoreName, run: Run): Promise<ScaleResult> {
  const { options } = run;
  const parts = new Set(options.parts);
  const small = parts.has("w1r") ? await openScaleStore(name) : undefined;
  const large = await openScaleStore(name).catch(async (error: unknown) => {
    await small?.close();
    throw error;
  });
  const servers: RunningServer[] = [];
  const start = async (store: ScaleStore) => {
    const server = await startOn(store, run);
    servers.push(server);
    return server;
  };
  const stop = async (server: RunningServer) => {
    servers.splice(servers.indexOf(server), 1);
    await server.stop();
  };
  try {
    const loaded = await loadStores(small, large, options);
    let smallReads: RunResult[] | undefined;
    let largeReads: RunResult[] | undefined;
    let sweep: SweepResult | undefined;
    if (small !== undefined || parts.has("sweep")) {
      const smallServer = small === undefined ? undefined : await start(small);
      const largeServer = await start(large);
      const largeFixtures = fixtures(loaded.large.kept, run.signer);
      if (small !== undefined && smallServer !== undefined) {
        // W1R on both, alternating between them.
        [smallReads, largeReads] = await runRounds(
          name,
          [
            {
              server: smallServer,
              fixtures: fixtures(loaded.smallKeys, run.signer),
              name: `at ${SMALL_SESSIONS}`,
            },
            { server: largeServer, fixtures: largeFixtures, name: `at ${options.sessions}` },
          ] as const,
          () => [...small.pids(), ...large.pids()],
          { ...options, workload: "W1R" },
        );
        await stop(smallServer);
      }
      if (parts.has("sweep")) {
        const rate = options.sessions / loaded.loadSeconds;
        sweep = await measureSweep(large, largeServer, largeFixtures.poolCookies, rate, options.expiring);
      }
      await stop(largeServer);
    }
    let users: UsersResult | undefined;
    if (loaded.usersPlan !== undefined) {
      users = await measureUsers(large, loaded.usersPlan, loaded.large, run.secret);
    }
    return {
      store: name,
      sessions: options.sessions,
      loadSeconds: loaded.loadSeconds,
      storedValueBytes: loaded.storedValueBytes,
      bytesPerSession: loaded.bytesPerSession,
      smallSessions: SMALL_SESSIONS,
      smallReads,
      largeReads,
      sweep,
      users,
    };
  } finally {
    for (const server of servers) {
      await server
        .stop()
        .catch((error: unknown) => console.error(`bench:scale: ${(error as Error).message}`));
    }
    await small?.close();
    await large.close();
  }
}

/** A sessionql server on the store, pinned like every bench server, sweeping as often as it allows. */
function startOn(store: ScaleStore, run: Run): Promise<RunningServer> {
  return startServer("sessionql", {
    storeUrl: store.url,
    secret: run.secret,
    pinning: run.pinning,
    entry: run.options.entry,
    env: { SESSION_SWEEP_INTERVAL: String(SWEEP_INTERVAL_SECONDS) },
  });
}

/** What filling the stores gave: the pools' session keys, the users' sessions, and the big store's numbers. */
interface Loaded {
  smallKeys: string[];
  /** The big store's W1R pool (`kept`) and its users' sessions (`owned`). */
  large: Filled;
  usersPlan: UsersPlan | undefined;
  loadSeconds: number;
  storedValueBytes: number;
  bytesPerSession: number;
}

/**
 * Fills the small store (when there is one) with 1 k live sessions and the big one with N, among them the users'
 * sessions when the users' part runs, measuring the big one's growth.
 */
async function loadStores(
  small: ScaleStore | undefined,
  large: ScaleStore,
  options: Options,
): Promise<Loaded> {
  const emptyBytes = await large.bytesUsed();
  // As long as the server gives a new session, so the live ones outlast the run as real ones would.
  const liveUntil = Date.now() + SESSION_AGE_MS;
  let smallKeys: string[] = [];
  if (small !== undefined) {
    const smallKeep = new Set(randomIndices(options.poolSize, SMALL_SESSIONS));
    smallKeys = (await small.fill(SMALL_SESSIONS, liveUntil, { keep: smallKeep })).kept;
  }
  const keep = new Set(randomIndices(options.poolSize, options.sessions));
  const usersPlan = options.parts.includes("users") ? planUsers(options.sessions, keep) : undefined;
  const loadStarted = performance.now();
  const filled = await fillInChunks(large, options.sessions, liveUntil, { keep, owners: usersPlan?.owners });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const settleStarted = performance.now();
  await large.afterLoad();
  const settleSeconds = (performance.now() - settleStarted) / 1000;
  const bytesPerSession = ((await large.bytesUsed()) - emptyBytes) / options.sessions;
  const storedValueBytes = envelope({ data: SESSION_DATA, expiresAtMs: liveUntil, version: 1 }).length;
  console.log(
    `${large.name}: ${options.sessions} sessions loaded in ${loadSeconds.toFixed(1)} s ` +
      `(${Math.round(options.sessions / loadSeconds)}/s; then ${settleSeconds.toFixed(1)} s settling); ` +
      `${bytesPerSession.toFixed(0)} bytes per session, ${storedValueBytes} bytes of JSON stored per session`,
  );
  return { smallKeys, large: filled, usersPlan, loadSeconds, storedValueBytes, bytesPerSession };
}

/** `count` distinct numbers drawn at random from 0 … `of` - 1. */
function randomIndices(count: number, of: number): number[] {
  const chosen = new Set<number>();
  while (chosen.size < Math.min(count, of)) chosen.add(Math.floor(Math.random() * of));
  return [...chosen];
}

function fixtures(sessionKeys: readonly string[], signer: CookieSigner): Fixtures {
  const poolCookies = sessionKeys.map((sessionKey) => `${COOKIE_NAME}=${signer.sign(sessionKey)}`);
  return { readerCookie: poolCookies[0] as string, poolCookies };
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = readOptions(process.argv.slice(2));
  const start = beginRun();
  const { pinning } = start;
  const secret = randomBytes(24).toString("base64url");
  const run: Run = { options, pinning, secret, signer: new CookieSigner([secret]) };
  const results: ScaleResult[] = [];
  for (const store of options.stores) results.push(await scaleStore(store, run));

  const meta: ScaleMeta = {
    ...runMeta(start, options),
    parts: options.parts,
    probe: `${PROBE.connections} connections each sending one W1R read every ${PROBE.periodMs} ms`,
    sweepIntervalSeconds: SWEEP_INTERVAL_SECONDS,
  };
  console.log(`\n${scaleTable(results)}\n`);
  for (const path of writeScaleReport(options.outDir, meta, results)) console.log(`wrote ${path}`);
  console.log(`bench:scale took ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(`bench:scale failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
