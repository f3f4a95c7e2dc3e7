import autocannon from "autocannon";
import { machineBusySeconds, ownCpuSeconds, processCpuSeconds } from "./cpu";
import type { RunningServer } from "./servers";
import { median, percentile } from "./stats";
import {
  type Fixtures,
  hotCookie,
  readVersion,
  type SpreadReadId,
  type Tally,
  type WorkloadId,
  workloadRequests,
} from "./workloads";

/** The numbers of one autocannon run. */
export interface RunResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts, non-2xx answers, and 200s that were not the expected answer. */
  errors: number;
  firstError: string | undefined;
  /** Share of one core the server process used during the run (1 = a whole core). */
  serverCpu: number;
  /** The same for this process, the load generator. */
  loaderCpu: number;
  /** CPU that processes the bench did not start took meanwhile, in cores: contention that skews the numbers. */
  others: number;
}

/** What a run needs besides the server. */
export interface LoadOptions {
  workload: WorkloadId | SpreadReadId;
  fixtures: Fixtures;
  connections: number;
  durationSeconds: number;
  /**
   * The other processes the bench started or serves itself from (the idle server, redis-server, the backends of
   * its own PostgreSQL database), whose CPU is not contention. A function is asked again at the end, so that
   * processes started during the run (a pool's new connections) are counted too.
   */
  companionPids: readonly number[] | (() => readonly number[]);
}

/**
 * Runs one workload against `server` for the duration and checks every response; on W5 also that the hot
 * session's version rose by every write sent (see lostUpdates).
 */
export async function runLoad(server: RunningServer, options: LoadOptions): Promise<RunResult> {
  const tally: Tally = { responses: 0, wrong: 0, firstWrong: undefined, writesSent: 0 };
  const hot = options.workload === "W5" ? hotCookie(options.fixtures) : undefined;
  const versionBefore = hot === undefined ? 0 : await readVersion(server.url, hot);
  // autocannon's own latency histogram has whole-millisecond buckets; sub-millisecond medians need the raw times.
  const latencies: number[] = [];
  const serverCpuBefore = processCpuSeconds(server.pid);
  const loaderCpuBefore = ownCpuSeconds();
  const companionsBefore = companionCpu(options.companionPids);
  const machineBefore = machineBusySeconds();
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const settings: autocannon.Options = {
      url: server.url,
      connections: options.connections,
      duration: options.durationSeconds,
      requests: workloadRequests(options.workload, options.fixtures, tally),
    };
    const instance = autocannon(settings, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  const elapsedSeconds = (performance.now() - started) / 1000;
  const serverCpu = (processCpuSeconds(server.pid) - serverCpuBefore) / elapsedSeconds;
  const loaderCpu = (ownCpuSeconds() - loaderCpuBefore) / elapsedSeconds;
  const companions = companionCpuSince(options.companionPids, companionsBefore) / elapsedSeconds;
  const machine = (machineBusySeconds() - machineBefore) / elapsedSeconds;
  const lost =
    hot === undefined
      ? undefined
      : lostUpdates(
          tally,
          versionBefore,
          await settledVersion(server, hot, versionBefore + tally.writesSent),
        );

  const firstError =
    tally.firstWrong ??
    (result.errors > 0 ? `${result.errors} connection errors/timeouts` : undefined) ??
    lost?.problem;
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: tally.responses / result.duration,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    // A non-2xx answer is also counted as wrong by the response check, so only connection errors are added.
    errors: tally.wrong + result.errors + (lost?.count ?? 0),
    firstError,
    serverCpu,
    loaderCpu,
    others: Math.max(0, machine - serverCpu - loaderCpu - companions),
  };
}

/**
 * Whether the hot session's version rose by exactly the writes of the run, or why not. Every write answered must
 * be in the rise, or updates were lost. autocannon ends a run by closing its connections with a write in flight
 * on each (one per connection); those reach the server, which saves them though no one waits for the answer, so the
 * rise must also count them: it equals the writes sent. Fewer is an update lost, more a write saved twice. A
 * write answered wrongly may or may not have been saved; it is an error already, so only "saved twice" is
 * checked then.
 */
function lostUpdates(
  tally: Tally,
  before: number,
  after: number,
): { count: number; problem: string } | undefined {
  const answered = tally.responses - tally.wrong;
  const cutOff = tally.writesSent - tally.responses;
  const rise = after - before;
  if (rise < answered) {
    return {
      count: answered - rise,
      problem: `lost updates: ${answered} writes answered, version rose by ${rise}`,
    };
  }
  if (rise > tally.writesSent) {
    return {
      count: rise - tally.writesSent,
      problem: `version rose by ${rise} for ${tally.writesSent} writes sent (${answered} answered): saved twice`,
    };
  }
  if (tally.wrong === 0 && rise < tally.writesSent) {
    return {
      count: tally.writesSent - rise,
      problem:
        `lost updates: ${answered} writes answered and ${cutOff} cut off in flight at the end, ` +
        `version rose by ${rise}`,
    };
  }
  return undefined;
}

/**
 * The hot session's version once the writes cut off at the end of the run are saved: read until it has risen by
 * every write sent, or has not moved for 250 ms (a stalled store), for at most 5 s.
 */
async function settledVersion(server: RunningServer, cookie: string, target: number): Promise<number> {
  const deadline = performance.now() + 5000;
  let version = await readVersion(server.url, cookie);
  let movedAt = performance.now();
  while (version < target && performance.now() - movedAt < 250 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const again = await readVersion(server.url, cookie);
    if (again !== version) movedAt = performance.now();
    version = again;
  }
  return version;
}

/** Rounds reduced to one: the median of each number, the errors of all rounds summed, and the first error. */
export function summariseRounds(rounds: readonly RunResult[]): RunResult {
  const middle = (pick: (run: RunResult) => number) => median(rounds.map(pick));
  return {
    requestsPerSecond: middle((run) => run.requestsPerSecond),
    p50Ms: middle((run) => run.p50Ms),
    p99Ms: middle((run) => run.p99Ms),
    errors: rounds.reduce((sum, run) => sum + run.errors, 0),
    firstError: rounds.find((run) => run.firstError !== undefined)?.firstError,
    serverCpu: middle((run) => run.serverCpu),
    loaderCpu: middle((run) => run.loaderCpu),
    others: middle((run) => run.others),
  };
}

/** Each companion process's CPU seconds so far, by pid (those that cannot be read are left out). */
export function companionCpu(pids: readonly number[] | (() => readonly number[])): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of typeof pids === "function" ? pids() : pids) {
    const used = processCpuSeconds(pid);
    if (!Number.isNaN(used)) seconds.set(pid, used);
  }
  return seconds;
}

/**
 * The CPU seconds the companions used since `before` was taken: a process that appeared meanwhile counts whole,
 * one that has exited since counts nothing (its last moments are lost, a small undercount).
 */
export function companionCpuSince(
  pids: readonly number[] | (() => readonly number[]),
  before: ReadonlyMap<number, number>,
): number {
  let sum = 0;
  for (const [pid, used] of companionCpu(pids)) sum += used - (before.get(pid) ?? 0);
  return sum;
}
