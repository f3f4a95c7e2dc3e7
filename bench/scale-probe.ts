import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { percentile } from "./stats";

/** One probe request: when it was sent and answered (the main thread's performance.now() ms), and what was wrong. */
export interface ProbeSample {
  sentMs: number;
  answeredMs: number;
  problem: string | undefined;
}

/** A probe that is sending; `stop` lets the requests in flight finish and returns every sample. */
export interface Probe {
  stop(): Promise<ProbeSample[]>;
}

/** How hard the probe pushes: a few connections, each sending one read every `periodMs`. */
export interface ProbeOptions {
  connections: number;
  periodMs: number;
}

/** What the probe's worker thread is started with. */
export interface ProbeWork extends ProbeOptions {
  baseUrl: string;
  cookies: readonly string[];
  /** The main thread's performance.timeOrigin, which the samples' times are counted from. */
  timeOrigin: number;
}

/**
 * Starts reading sessions at a steady rate, one request at a time per connection, cycling through `cookies`
 * (`sessionid=<signed key>` header values), from a worker thread (bench/scale-probe-worker.ts).
 */
export function startProbe(baseUrl: string, cookies: readonly string[], options: ProbeOptions): Probe {
  const work: ProbeWork = { ...options, baseUrl, cookies, timeOrigin: performance.timeOrigin };
  // The worker inherits this process's `-r @swc-node/register`, so it loads the TypeScript file as this one was.
  const worker = new Worker(join(__dirname, "scale-probe-worker.ts"), { workerData: work });
  const finished = new Promise<ProbeSample[]>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the probe's worker exited with code ${code}`)));
  });
  // Until stop() awaits it, a failure must not count as an unhandled rejection.
  finished.catch(() => {});
  return {
    async stop() {
      worker.postMessage("stop");
      try {
        return await finished;
      } finally {
        await worker.terminate();
      }
    },
  };
}

/** When a removal ran, as the bench saw it from outside (performance.now() ms), and how far it got. */
export interface SweepWindow {
  /** It had not started before this. */
  startMs: number;
  /** It was done by this, or the watch gave up then. */
  endMs: number;
  removed: number;
  /** Whether every expired session had gone by `endMs`. */
  complete: boolean;
  /** When 99 % of them had gone, where the watch saw it. */
  mostlyGoneMs: number | undefined;
}

/** How often to look, and when to stop looking. */
export interface WatchOptions {
  pollMs: number;
  /** performance.now() time after which the watch gives up (the server's sweep) or settles for what went (Redis). */
  untilMs: number;
}

/**
 * Polls `left` (see ScaleStore.expiredLeft) until it reads undefined, or until `untilMs`, returning what had gone
 * by then. The removal started after the last poll that still read the first count, so the window returned
 * holds it whole, give or take `pollMs` on each side.
 */
export async function watchRemoval(
  left: () => Promise<number | undefined>,
  options: WatchOptions,
): Promise<SweepWindow> {
  const first = await left();
  if (first === undefined) throw new Error("nothing was left to remove when the watch began");
  let unchangedAtMs = performance.now();
  let mostlyGoneMs: number | undefined;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    const polledAtMs = performance.now();
    const count = (await left()) ?? 0;
    if (count <= first / 100) mostlyGoneMs ??= performance.now();
    if (count === 0 || polledAtMs > options.untilMs) {
      return {
        startMs: unchangedAtMs,
        endMs: performance.now(),
        removed: first - count,
        complete: count === 0,
        mostlyGoneMs,
      };
    }
    if (count === first) unchangedAtMs = polledAtMs;
  }
}

/**
 * Polls the server's /metrics until its sweeps have removed `expiring` more sessions than `before` counted. A
 * sweep reports when it ends, so it ended after the previous poll was sent, and it took what the clearExpired
 * time grew by (plus the no-op sweeps of the wait, well under a millisecond each); the window returned holds it
 * whole, give or take one poll.
 */
export async function watchServerSweep(
  baseUrl: string,
  before: SweepCounters,
  expiring: number,
  options: WatchOptions,
): Promise<SweepWindow> {
  let previousSentMs = performance.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    const sentMs = performance.now();
    const counters = await sweepCounters(baseUrl);
    if (counters === undefined) throw new Error("the server's /metrics lost its sweep counters");
    const removed = counters.expired - before.expired;
    if (removed >= expiring) {
      const sweptMs = (counters.sweepSeconds - before.sweepSeconds) * 1000;
      const endMs = performance.now();
      return { startMs: previousSentMs - sweptMs, endMs, removed, complete: true, mostlyGoneMs: endMs };
    }
    previousSentMs = sentMs;
    if (sentMs > options.untilMs)
      throw new Error(`the server swept ${removed} of ${expiring} expired sessions`);
  }
}

/** The probe's numbers around a removal: its latencies before it, during it, and its wrong answers. */
export interface StallSummary {
  requests: number;
  errors: number;
  firstError: string | undefined;
  beforeP50Ms: number;
  beforeMaxMs: number;
  duringRequests: number;
  duringP99Ms: number;
  /** The longest any request took that was in flight at any time during the window. */
  duringMaxMs: number;
  /** The slowest requests of the whole probe, sent this long after the window opened (negative: before it). */
  slowest: Array<{ sentAfterStartMs: number; latencyMs: number }>;
}

/**
 * Splits the samples at the window: "before" was sent after `settledMs` (past the probe's own start-up) and
 * ended before the window opened, "during" was in flight at some time inside it.
 */
export function summariseStall(
  samples: readonly ProbeSample[],
  window: SweepWindow,
  settledMs: number,
): StallSummary {
  const latency = (sample: ProbeSample) => sample.answeredMs - sample.sentMs;
  const before = samples
    .filter((sample) => sample.sentMs >= settledMs && sample.answeredMs < window.startMs)
    .map(latency)
    .sort((a, b) => a - b);
  const during = samples
    .filter((sample) => sample.answeredMs >= window.startMs && sample.sentMs <= window.endMs)
    .map(latency)
    .sort((a, b) => a - b);
  const wrong = samples.filter((sample) => sample.problem !== undefined);
  return {
    requests: samples.length,
    errors: wrong.length,
    firstError: wrong[0]?.problem,
    beforeP50Ms: percentile(before, 0.5),
    beforeMaxMs: before.at(-1) ?? Number.NaN,
    duringRequests: during.length,
    duringP99Ms: percentile(during, 0.99),
    duringMaxMs: during.at(-1) ?? Number.NaN,
    slowest: [...samples]
      .sort((a, b) => latency(b) - latency(a))
      .slice(0, SLOWEST_KEPT)
      .map((sample) => ({
        sentAfterStartMs: round(sample.sentMs - window.startMs),
        latencyMs: round(latency(sample)),
      })),
  };
}

const SLOWEST_KEPT = 5;

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** The server's own account of its sweeps, from /metrics: time spent in clearExpired, its calls, sessions removed. */
export interface SweepCounters {
  sweepSeconds: number;
  sweeps: number;
  expired: number;
}

/** Reads the sweep counters from the server's /metrics; undefined when it does not export them. */
export async function sweepCounters(baseUrl: string): Promise<SweepCounters | undefined> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) return undefined;
  const text = await response.text();
  const total = (pattern: RegExp) => {
    let sum = 0;
    for (const match of text.matchAll(pattern)) sum += Number(match[1]);
    return sum;
  };
  const sweepCall = (suffix: string) =>
    new RegExp(
      `^sessionql_store_call_duration_seconds_${suffix}\\{[^}]*method="clearExpired"[^}]*\\} (\\S+)$`,
      "gm",
    );
  if (!sweepCall("count").test(text)) return undefined;
  return {
    sweepSeconds: total(sweepCall("sum")),
    sweeps: total(sweepCall("count")),
    expired: total(/^sessionql_sessions_total\{[^}]*event="expired"[^}]*\} (\S+)$/gm),
  };
}
