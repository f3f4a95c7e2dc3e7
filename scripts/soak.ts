// The model runner starts a server in this process and test/helpers/instance imports src/, whose type-graphql
// decorators need the metadata polyfill before anything else loads.
import "reflect-metadata";
import { setTimeout as delay } from "node:timers/promises";
// A script importing a test helper: the soak runs the real CLI exactly as the multi-process tests do.
import { type SessionqlInstance, startInstance } from "../test/helpers/instance";
import { Cleanup } from "./soak/cleanup";
import { fullGcHeapsMiB, heapFloorsMiB, TRACE_GC_NODE_OPTIONS } from "./soak/gc-trace";
import { type LoadReport, type RunningLoad, startLoad } from "./soak/load";
import { type MemorySample, metricValue, sampleMemory, scrapeMetrics } from "./soak/memory";
import { loadModelRunner } from "./soak/model";
import { parseSoakOptions, SOAK_USAGE, type SoakOptions, type SoakStore } from "./soak/options";
import { createSessionPool } from "./soak/pool";
import { prepareBackend } from "./soak/stores";

/** RSS may grow less than this between the end of the warm-up and the end of the load. */
const MAX_RSS_GROWTH = 0.1;
/** Like model.test.ts: a short cookie age, so the model's runs reach expiry in a few clock steps. */
const MODEL_ENV = { SESSION_COOKIE_AGE: "300" };
const MIB = 1024 * 1024;
const REPEATED_SIGNAL_MS = 1000;

const cleanup = new Cleanup();
let currentLoad: RunningLoad | undefined;
let interrupted = false;
let interruptedAt = 0;

/** `npm run soak`: a bounded load per store, one line of figures each; exits 1 on any error or RSS growth. */
async function main(argv: string[]): Promise<void> {
  let options: SoakOptions;
  try {
    options = parseSoakOptions(argv, process.env);
  } catch (error) {
    process.stderr.write(`soak: ${(error as Error).message}\n${SOAK_USAGE}\n`);
    process.exit(2);
  }
  handleSignals();
  print(
    `soak: ${options.durationSeconds} s per store (RSS from ${options.warmupSeconds} s), ` +
      `${options.connections} connections, ${options.sessions} pooled sessions, stores ${options.stores.join(", ")}`,
  );
  const failures: string[] = [];
  try {
    for (const store of options.stores) {
      // A store that cannot be soaked (redis-server missing, a start that times out) fails the run, not the others.
      const storeFailures = await soakStore(store, options).catch((error: unknown) => {
        if (interrupted) throw error;
        process.stderr.write(`soak [${store}]: ${(error as Error).stack ?? error}\n`);
        return [`${store}: ${(error as Error).message.split("\n")[0]}`];
      });
      failures.push(...storeFailures);
    }
  } finally {
    await cleanup.stopAll();
  }
  print(failures.length === 0 ? "soak: passed" : `soak: FAILED\n  ${failures.join("\n  ")}`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

/** Loads one store, then runs the model on it; resolves to what failed (nothing when all is well). */
async function soakStore(store: SoakStore, options: SoakOptions): Promise<string[]> {
  const backend = await prepareBackend(store, cleanup);
  const instance = await startInstance({ ...backend.env, NODE_OPTIONS: TRACE_GC_NODE_OPTIONS });
  const stopInstance = cleanup.add(
    `sessionql (${store}, pid ${instance.pid})`,
    () => instance.stop(),
    () => instance.pid,
  );
  const failures = await loadStore(store, instance, options).finally(stopInstance);
  const modelFailure = await checkModel(store, backend.modelEnv, options);
  await backend.stop();
  return modelFailure === undefined ? failures : [...failures, modelFailure];
}

/** What one store's load did to the server. */
interface Measurement {
  report: LoadReport;
  warm: MemorySample;
  end: MemorySample;
  /** RSS growth from the end of the warm-up to the end of the load, as a ratio. */
  growth: number;
  /** GraphQL errors the server itself counted. */
  serverErrors: number;
  /** The live heap each full GC left between the two samples, in MiB. */
  fullGcHeaps: number[];
}

async function loadStore(store: SoakStore, instance: SessionqlInstance, options: SoakOptions) {
  const measurement = await measureLoad(instance, options);
  if (measurement === undefined) return [`${store}: the load ended before the warm-up did`];
  print(loadLine(store, options, measurement));
  for (const [problem, count] of measurement.report.problems) print(`  ${count} × ${problem}`);
  const { report, serverErrors, growth } = measurement;
  const failures: string[] = [];
  if (report.errors > 0 || serverErrors > 0) {
    failures.push(
      `${store}: ${report.errors} errors seen by the client, ${serverErrors} counted by the server`,
    );
  }
  if (growth >= MAX_RSS_GROWTH) {
    failures.push(
      `${store}: RSS grew ${percent(growth)} after the warm-up (limit ${percent(MAX_RSS_GROWTH)}); ` +
        `${floorText(measurement.fullGcHeaps)}: a flat floor points at V8 heap sizing (try a longer --warmup), ` +
        "a rising one at a leak",
    );
  }
  return failures;
}

async function measureLoad(
  instance: SessionqlInstance,
  options: SoakOptions,
): Promise<Measurement | undefined> {
  const cookies = await createSessionPool(instance.graphqlUrl, options.sessions);
  const load = startLoad({
    url: instance.url,
    cookies,
    connections: options.connections,
    durationSeconds: options.durationSeconds,
  });
  currentLoad = load;
  await load.started;
  // The first sample is taken under load, once the process has had the warm-up to reach its working size.
  const warm = await Promise.race([
    delay(options.warmupSeconds * 1000).then(() => "warm" as const),
    load.done,
  ]);
  const warmSample = warm === "warm" ? await sampleMemory(instance.pid, instance.url) : undefined;
  const gcFrom = instance.output().length;
  const report = await load.done;
  currentLoad = undefined;
  const end = await sampleMemory(instance.pid, instance.url);
  const serverErrors = metricValue(await scrapeMetrics(instance.url), "sessionql_graphql_errors_total") ?? 0;
  if (warmSample === undefined) return undefined;
  return {
    report,
    warm: warmSample,
    end,
    growth: (end.rssBytes - warmSample.rssBytes) / warmSample.rssBytes,
    serverErrors,
    fullGcHeaps: fullGcHeapsMiB(instance.output().slice(gcFrom)),
  };
}

function loadLine(store: SoakStore, options: SoakOptions, measurement: Measurement): string {
  const { report, warm, end, growth, serverErrors } = measurement;
  const { read, write, create } = report.counts;
  const answered = Math.max(1, read + write + create);
  const share = (count: number) => `${((100 * count) / answered).toFixed(1)}%`;
  return (
    `soak [${store}] ${options.durationSeconds} s: ${report.requests} requests, ` +
    `${Math.round(report.requestsPerSecond)} req/s (${share(read)} read, ${share(write)} write, ` +
    `${share(create)} new), errors ${report.errors} (server ${serverErrors}), ` +
    `p50 ${report.p50Ms} ms, p99 ${report.p99Ms} ms, RSS ${mib(warm.rssBytes).toFixed(1)} MiB ` +
    `after ${options.warmupSeconds} s → ${mib(end.rssBytes).toFixed(1)} MiB at end ` +
    `(${growth >= 0 ? "+" : ""}${percent(growth)}), ${floorText(measurement.fullGcHeaps)}`
  );
}

function floorText(fullGcHeaps: number[]): string {
  const floors = heapFloorsMiB(fullGcHeaps);
  if (floors === undefined) return `heap floor n/a (${fullGcHeaps.length} full GCs)`;
  return `heap floor ${floors.first.toFixed(1)} → ${floors.second.toFixed(1)} MiB (${fullGcHeaps.length} full GCs)`;
}

/** Runs the session model on a store like the one just loaded; resolves to a failure, or undefined. */
async function checkModel(store: SoakStore, env: Record<string, string>, options: SoakOptions) {
  if (options.modelRuns === 0) return undefined;
  const model = loadModelRunner();
  if ("missing" in model) {
    print(`model [${store}]: skipped, ${model.missing}`);
    return undefined;
  }
  try {
    const report = await model.runner({
      env: { ...MODEL_ENV, ...env },
      runs: options.modelRuns,
      seed: options.modelSeed,
      label: `${store}, soak`,
    });
    print(
      `model [${store}]: passed, seed ${report.seed}, ${options.modelRuns} runs, ` +
        `${report.operations} operations (${report.commands} commands) in ${(report.elapsedMs / 1000).toFixed(1)} s`,
    );
    return undefined;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return `${store}: the session model failed with seed ${options.modelSeed} (replay: --model-seed ${options.modelSeed})`;
  }
}

/**
 * Ctrl-C or SIGTERM stops the load and every child the soak started, then exits; another Ctrl-C exits at once,
 * and the exit handler SIGKILLs whatever is still running, so no sessionql or redis-server outlives the soak.
 */
function handleSignals(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === "SIGINT" ? 130 : 143;
    // Under `npm run`, one Ctrl-C arrives twice (from the terminal and forwarded by npm): only a later one is a
    // second Ctrl-C.
    if (interrupted) {
      if (Date.now() - interruptedAt > REPEATED_SIGNAL_MS) process.exit(code);
      return;
    }
    interrupted = true;
    interruptedAt = Date.now();
    process.stderr.write(`soak: ${signal}: stopping the load and every process it started\n`);
    currentLoad?.stop();
    void cleanup.stopAll().finally(() => process.exit(code));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", () => cleanup.killAllNow());
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function mib(bytes: number): number {
  return bytes / MIB;
}

function percent(ratio: number): string {
  return `${(100 * ratio).toFixed(1)}%`;
}

main(process.argv.slice(2)).catch(async (error: unknown) => {
  // After a signal, the stopped children make whatever was awaiting them fail; that is not news.
  if (interrupted) return;
  process.stderr.write(`soak: ${(error as Error).stack ?? error}\n`);
  await cleanup.stopAll();
  process.exit(1);
});
