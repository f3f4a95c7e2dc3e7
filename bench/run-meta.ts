import { cpus, loadavg } from "node:os";
import { cpuModel, type Pinning, pinLoader } from "./cpu";
import { SESSION_DATA } from "./workloads";

/** The machine a bench ran on and how it loaded the servers, as every report's header gives them. */
export interface RunMeta {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  pinning: string;
  /** The 1, 5 and 15 minute load averages when the bench started. */
  loadAverage: number[];
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  poolSize: number;
  sessionBytes: number;
}

/** The settings of a run that its report repeats. */
export type RunSettings = Pick<
  RunMeta,
  "connections" | "durationSeconds" | "warmupSeconds" | "rounds" | "poolSize"
>;

/** What a bench learns before it starts: the load average before it adds any, and the cores it pinned. */
export interface RunStart {
  loadAverage: number[];
  pinning: Pinning;
}

/** Reads the load average, moves this process to the loader core, and says both. */
export function beginRun(): RunStart {
  const loadAverage = loadavg();
  const pinning = pinLoader();
  console.log(`pinning: ${pinning.description}`);
  console.log(`load average: ${loadText(loadAverage)}`);
  return { loadAverage, pinning };
}

/** The lines of a report's header that say what machine the run had, and how busy it was. */
export function machineLines(meta: RunMeta): string[] {
  return [
    `- node ${meta.node}; CPU: ${meta.cpu} (${meta.cores} cores)`,
    `- pinning: ${meta.pinning}`,
    `- load average at the start: ${loadText(meta.loadAverage)}`,
  ];
}

function loadText(loadAverage: readonly number[]): string {
  return loadAverage.map((load) => load.toFixed(2)).join(", ");
}

/** The header facts of a run that started with `start` and loaded the servers as `settings` say. */
export function runMeta(start: RunStart, settings: RunSettings): RunMeta {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpuModel(),
    cores: cpus().length,
    pinning: start.pinning.description,
    loadAverage: start.loadAverage,
    connections: settings.connections,
    durationSeconds: settings.durationSeconds,
    warmupSeconds: settings.warmupSeconds,
    rounds: settings.rounds,
    poolSize: settings.poolSize,
    sessionBytes: JSON.stringify(SESSION_DATA).length,
  };
}
