import autocannon from "autocannon";
import { machineBusySeconds, ownCpuSeconds, processCpuSeconds } from "./cpu";
import type { RunningServer } from "./servers";
import { median, percentile } from "./stats";
import { type Fixtures, type SpreadReadId, type Tally, type WorkloadId, workloadRequests } from "./workloads";

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
  /** The other processes the bench started (the idle server, redis-server), whose CPU is not contention. */
  companionPids: readonly number[];
}

/** Runs one workload against `server` for the duration and checks every response. */
export async function runLoad(server: RunningServer, options: LoadOptions): Promise<RunResult> {
  const tally: Tally = { responses: 0, wrong: 0, firstWrong: undefined };
  // autocannon's own latency histogram has whole-millisecond buckets; sub-millisecond medians need the raw times.
  const latencies: number[] = [];
  const serverCpuBefore = processCpuSeconds(server.pid);
  const loaderCpuBefore = ownCpuSeconds();
  const companionsBefore = companionCpuSeconds(options.companionPids);
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
  const companions = (companionCpuSeconds(options.companionPids) - companionsBefore) / elapsedSeconds;
  const machine = (machineBusySeconds() - machineBefore) / elapsedSeconds;

  const firstError =
    tally.firstWrong ?? (result.errors > 0 ? `${result.errors} connection errors/timeouts` : undefined);
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: tally.responses / result.duration,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    // A non-2xx answer is also counted as wrong by the response check, so only connection errors are added.
    errors: tally.wrong + result.errors,
    firstError,
    serverCpu,
    loaderCpu,
    others: Math.max(0, machine - serverCpu - loaderCpu - companions),
  };
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

function companionCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
}
