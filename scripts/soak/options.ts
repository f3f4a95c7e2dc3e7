import { parseArgs } from "node:util";

/** The stores a soak run can drive; each one gets its own sessionql process. */
export const SOAK_STORES = ["memory", "sqlite", "redis"] as const;
export type SoakStore = (typeof SOAK_STORES)[number];

/** What one `npm run soak` does. */
export interface SoakOptions {
  durationSeconds: number;
  /** Load before the first RSS sample: the process has to reach its working size before growth means anything. */
  warmupSeconds: number;
  stores: SoakStore[];
  connections: number;
  /** Sessions created before the load, whose cookies the load rotates through. */
  sessions: number;
  /** Runs of the session model after each store's load; 0 skips it. */
  modelRuns: number;
  /** The model's seed: random unless given, and printed either way so a failure can be replayed. */
  modelSeed: number;
}

export const SOAK_USAGE = `usage: npm run soak -- [options]
  --duration <s>      seconds of load per store (default 60, or SOAK_SECONDS)
  --warmup <s>        seconds of load before the first RSS sample (default a quarter of the duration: V8 sizes its
                      heap during the first minute at full load)
  --stores <list>     comma-separated, from ${SOAK_STORES.join(", ")} (default all)
  --connections <n>   concurrent connections (default 32)
  --sessions <n>      sessions created before the load (default 1000)
  --model-runs <n>    session model runs per store after the load (default 200; 0 skips)
  --model-seed <n>    the model's seed (default random)`;

/** Reads argv (after the script name) and SOAK_SECONDS; throws with the usage on anything it does not accept. */
export function parseSoakOptions(argv: string[], env: NodeJS.ProcessEnv): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      stores: { type: "string" },
      connections: { type: "string" },
      sessions: { type: "string" },
      "model-runs": { type: "string" },
      "model-seed": { type: "string" },
    },
  });
  const durationSeconds = positive("--duration", values.duration ?? env.SOAK_SECONDS ?? "60");
  const warmupSeconds =
    values.warmup === undefined ? durationSeconds / 4 : positive("--warmup", values.warmup);
  if (warmupSeconds >= durationSeconds) {
    throw new Error(`--warmup must be shorter than --duration (${durationSeconds} s), got ${warmupSeconds}`);
  }
  return {
    durationSeconds,
    warmupSeconds,
    stores: storeList(values.stores ?? SOAK_STORES.join(",")),
    connections: whole("--connections", values.connections ?? "32", 1),
    sessions: whole("--sessions", values.sessions ?? "1000", 1),
    modelRuns: whole("--model-runs", values["model-runs"] ?? "200", 0),
    modelSeed:
      values["model-seed"] === undefined
        ? Math.floor(Math.random() * 2 ** 31)
        : whole("--model-seed", values["model-seed"], 0),
  };
}

function storeList(text: string): SoakStore[] {
  const names = text.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !(SOAK_STORES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(`--stores takes a list of ${SOAK_STORES.join(", ")}, got ${JSON.stringify(text)}`);
  }
  return [...new Set(names)] as SoakStore[];
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a number of seconds > 0, got ${text}`);
  return value;
}

function whole(name: string, text: string, lowest: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < lowest) {
    throw new Error(`${name} must be a whole number ≥ ${lowest}, got ${text}`);
  }
  return value;
}
