import {
  type ProbeOptions,
  type ProbeSample,
  type SweepCounters,
  type SweepWindow,
  startProbe,
  summariseStall,
  sweepCounters,
  watchRemoval,
  watchServerSweep,
} from "./scale-probe";
import type { SweepResult } from "./scale-report";
import { fillInChunks, type ScaleStore } from "./scale-stores";
import type { RunningServer } from "./servers";

/** The shortest interval the server allows (SESSION_SWEEP_INTERVAL), so its sweep follows the expiry closely. */
export const SWEEP_INTERVAL_SECONDS = 1;
/** A light, steady read load: about 400 requests a second, a few percent of what the server can answer. */
export const PROBE: ProbeOptions = { connections: 4, periodMs: 10 };

/** Probe reads before the sessions expire, for the latency they are compared with. */
const SWEEP_LEAD_MS = 3000;
/** Probe reads after the sessions have gone, so a stall at the very end is seen whole. */
const SWEEP_TAIL_MS = 1000;
const SWEEP_TIMEOUT_MS = 300_000;
/**
 * Redis reclaims expired keys by sampling; once they are a small share of all keys it finds few per pass, so the
 * bench watches for this long after the expiry and reports how many had gone (reads never see them either way).
 */
const REDIS_WATCH_MS = 30_000;
/** Redis's DBSIZE costs nothing to poll; the server's /metrics takes it about 2 ms, so it is polled less often. */
const DBSIZE_POLL_MS = 10;
const METRICS_POLL_MS = 100;
/** The probe's first requests open connections and warm both ends up; they are not the latency to compare with. */
const PROBE_SETTLE_MS = 500;

/**
 * Adds `expiring` sessions that expire a few seconds after they are all stored, then probes the server while
 * they expire and go: on SQLite the server's own sweeper deletes them on its next tick, on Redis the keys'
 * TTL runs out and Redis reclaims them itself.
 */
export async function measureSweep(
  store: ScaleStore,
  server: RunningServer,
  cookies: readonly string[],
  fillRate: number,
  expiring: number,
): Promise<SweepResult> {
  // Sized from the big fill's rate, so they are all stored well before the first of them expires.
  const expiresAtMs = Date.now() + Math.ceil((2 * expiring * 1000) / fillRate) + SWEEP_LEAD_MS;
  await fillInChunks(store, expiring, expiresAtMs);
  const leadMs = expiresAtMs - Date.now();
  const caveat =
    leadMs < PROBE_SETTLE_MS + 1000
      ? `only ${leadMs} ms of probing before the sessions expired; the fill was too slow`
      : undefined;
  console.log(`${store.name}: ${expiring} sessions expiring in ${(leadMs / 1000).toFixed(1)} s; probing`);

  const before = await sweepCounters(server.url);
  if (store.sweptByServer && before === undefined) {
    throw new Error("the server's /metrics has no sweep counters");
  }
  const { window, samples, settledMs } = await probeWhileGoing(store, server, cookies, {
    before,
    expiring,
    expiresAtMs,
    untilMs: performance.now() + leadMs + (store.sweptByServer ? SWEEP_TIMEOUT_MS : REDIS_WATCH_MS),
  });
  const left = await store.expiredLeft(expiresAtMs);
  if (window.complete && left !== undefined) {
    throw new Error(`${left} of the expired sessions are still in ${store.name}`);
  }
  const after = await sweepCounters(server.url);
  const stall = summariseStall(samples, window, settledMs);
  const windowMs = window.endMs - window.startMs;
  console.log(
    `${store.name}: ${window.removed} of ${expiring} expired sessions gone in ${(windowMs / 1000).toFixed(2)} s; ` +
      `probe p50 before ${stall.beforeP50Ms.toFixed(2)} ms, max during ${stall.duringMaxMs.toFixed(1)} ms, ` +
      `errors ${stall.errors}`,
  );
  return {
    expiring,
    removed: window.removed,
    windowMs,
    mostlyGoneMs: window.mostlyGoneMs === undefined ? undefined : window.mostlyGoneMs - window.startMs,
    server: store.sweptByServer ? difference(before, after) : undefined,
    stall,
    caveat,
  };
}

interface Watch {
  before: SweepCounters | undefined;
  expiring: number;
  expiresAtMs: number;
  untilMs: number;
}

/** Runs the probe from before the expiry until the sessions have gone (and a little after). */
async function probeWhileGoing(
  store: ScaleStore,
  server: RunningServer,
  cookies: readonly string[],
  watch: Watch,
): Promise<{ window: SweepWindow; samples: ProbeSample[]; settledMs: number }> {
  const probe = startProbe(server.url, cookies, PROBE);
  const settledMs = performance.now() + PROBE_SETTLE_MS;
  const { before, untilMs } = watch;
  const [watched] = await Promise.allSettled([
    (before !== undefined && store.sweptByServer
      ? watchServerSweep(server.url, before, watch.expiring, { pollMs: METRICS_POLL_MS, untilMs })
      : watchRemoval(() => store.expiredLeft(watch.expiresAtMs), { pollMs: DBSIZE_POLL_MS, untilMs })
    ).then(async (window) => {
      await new Promise((resolve) => setTimeout(resolve, SWEEP_TAIL_MS));
      return window;
    }),
  ]);
  // Stopped whatever the watch found, so a failed watch leaves no probe running behind it.
  const samples = await probe.stop();
  if (watched.status === "rejected") throw watched.reason;
  return { window: watched.value, samples, settledMs };
}

function difference(before: SweepCounters | undefined, after: SweepCounters | undefined) {
  if (before === undefined || after === undefined) return undefined;
  return {
    sweepSeconds: after.sweepSeconds - before.sweepSeconds,
    sweeps: after.sweeps - before.sweeps,
    expired: after.expired - before.expired,
  };
}
