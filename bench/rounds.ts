import { type RunResult, runLoad } from "./load";
import type { RunningServer } from "./servers";
import type { Fixtures, SpreadReadId, WorkloadId } from "./workloads";

/** A server to load and the sessions prepared on it; `name` is what the progress lines call it. */
export interface LoadTarget {
  server: RunningServer;
  fixtures: Fixtures;
  name: string;
}

/** How each target is loaded. */
export interface RoundsOptions {
  workload: WorkloadId | SpreadReadId;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  rounds: number;
}

/**
 * One workload on every target of a store: a warm-up each (reported only when it had errors), then the measured
 * rounds, alternating the order so drift hits all alike, with a progress line each. While one target runs, the
 * other targets' servers and `storePids` (asked again at the end of each run when a function) count as the
 * bench's own CPU. Returns each target's rounds, in order.
 */
export async function runRounds<T extends readonly LoadTarget[]>(
  store: string,
  targets: T,
  storePids: readonly number[] | (() => readonly number[]),
  options: RoundsOptions,
): Promise<{ -readonly [K in keyof T]: RunResult[] }> {
  const { workload } = options;
  const run = (target: LoadTarget, durationSeconds: number) =>
    runLoad(target.server, {
      workload,
      fixtures: target.fixtures,
      connections: options.connections,
      durationSeconds,
      companionPids: () => [
        ...targets.filter((other) => other !== target).map((other) => other.server.pid),
        ...(typeof storePids === "function" ? storePids() : storePids),
      ],
    });
  if (options.warmupSeconds > 0) {
    for (const target of targets) {
      const result = await run(target, options.warmupSeconds);
      if (result.errors > 0) {
        console.log(
          `${store} ${workload} ${target.name} warm-up: ${result.errors} errors: ${result.firstError}`,
        );
      }
    }
  }
  const rounds = new Map<LoadTarget, RunResult[]>(targets.map((target) => [target, []]));
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      const result = await run(target, options.durationSeconds);
      rounds.get(target)?.push(result);
      const name = `${store.padEnd(6)} ${workload} ${target.name.padEnd(12)} round ${round + 1}/${options.rounds}:`;
      console.log(progressLine(name, result));
    }
  }
  return targets.map((target) => rounds.get(target) ?? []) as { -readonly [K in keyof T]: RunResult[] };
}

function progressLine(name: string, result: RunResult): string {
  return [
    name,
    `${result.requestsPerSecond.toFixed(0).padStart(6)} req/s`,
    `p50 ${result.p50Ms.toFixed(2)} ms p99 ${result.p99Ms.toFixed(2)} ms`,
    `errors ${result.errors}`,
    `cpu server ${(result.serverCpu * 100).toFixed(0)}% loader ${(result.loaderCpu * 100).toFixed(0)}%`,
    `others ${(result.others * 100).toFixed(0)}%`,
  ].join("  ");
}
