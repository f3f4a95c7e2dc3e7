// type-graphql needs the metadata polyfill before the server's resolvers load; jest's setup file imports it too,
// but a soak script may call runSessionModel without it.
import "reflect-metadata";
import fc from "fast-check";
import { ManualClock } from "../helpers/clock";
import { startTestServer } from "../helpers/server";
import { startModelApp } from "./app";
import { sessionCommands } from "./arbitraries";
import { modelConfigFromEnv, SessionModel } from "./model";
import { type Counters, cookieRulesFromEnv, newReal } from "./real";

/** The seed of `npm test`: fixed, so every run of the suite walks the same operations. */
export const DEFAULT_MODEL_SEED = 20_260_611;
/** Runs × up to this many commands each: ≈ 3000 GraphQL operations per server with the default seed. */
export const DEFAULT_MODEL_RUNS = 64;
export const DEFAULT_MODEL_STEPS = 120;
/** Visitors (cookie jars) per run. */
export const DEFAULT_MODEL_VISITORS = 3;

/** What to run the model against, and how much of it. */
export interface SessionModelOptions {
  /** The server's environment (memory store unless SESSION_STORE says otherwise); the model reads its expiry settings. */
  env?: Record<string, string>;
  runs?: number;
  /** The most commands one run may have (fast-check draws each run's length up to it). */
  steps?: number;
  seed?: number;
  /** From a failure report, with its seed: fast-check's `path`, and the counterexample's `replayPath`. */
  path?: string;
  replayPath?: string;
  visitors?: number;
  /** Names the run in the printed line, e.g. the store. */
  label?: string;
}

/** What a finished run did. */
export interface SessionModelReport {
  seed: number;
  runs: number;
  steps: number;
  /** Commands executed, shrinking included. */
  commands: number;
  /** GraphQL operations sent, shrinking included. */
  operations: number;
  elapsedMs: number;
}

/**
 * Runs, steps and seed from MODEL_RUNS, MODEL_STEPS and MODEL_SEED, and a failure to replay from MODEL_PATH and
 * MODEL_REPLAY_PATH, each falling back to the default (no path: a full run).
 */
export function modelSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Required<Pick<SessionModelOptions, "runs" | "steps" | "seed">> &
  Pick<SessionModelOptions, "path" | "replayPath"> {
  return {
    runs: wholeNumber(env, "MODEL_RUNS", DEFAULT_MODEL_RUNS),
    steps: wholeNumber(env, "MODEL_STEPS", DEFAULT_MODEL_STEPS),
    seed: wholeNumber(env, "MODEL_SEED", DEFAULT_MODEL_SEED, true),
    path: env.MODEL_PATH || undefined,
    replayPath: env.MODEL_REPLAY_PATH || undefined,
  };
}

function wholeNumber(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  signed = false,
): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || (signed ? false : value < 1)) {
    throw new Error(`${name} must be a whole number${signed ? "" : " ≥ 1"}, got ${text}`);
  }
  return value;
}

/**
 * Checks a real server against the model (a soak run: `MODEL_RUNS=2000 MODEL_SEED=$RANDOM npx jest test/model`,
 * or call this with another SESSION_STORE; replay a failure with MODEL_SEED, MODEL_PATH and MODEL_REPLAY_PATH set
 * to the seed, path and replayPath it printed): starts one (in process, on 127.0.0.1, with a manual clock) with
 * `env` and the application that logs visitors in beside it (app.ts), runs `runs` random command sequences of
 * up to `steps` commands over several visitors and users, compares every answer and cookie with the model, and
 * prints one line with the seed and the number of operations. A divergence fails with fast-check's report: the shrunk command sequence, the seed and the replay path.
 */
export async function runSessionModel(options: SessionModelOptions = {}): Promise<SessionModelReport> {
  const settings = modelSettingsFromEnv();
  const runs = options.runs ?? settings.runs;
  const steps = options.steps ?? settings.steps;
  const seed = options.seed ?? settings.seed;
  const path = options.path ?? settings.path;
  const replayPath = options.replayPath ?? settings.replayPath;
  const visitors = options.visitors ?? DEFAULT_MODEL_VISITORS;
  const env = options.env ?? {};
  const config = modelConfigFromEnv(env);
  const cookie = cookieRulesFromEnv(env);
  const label = options.label ?? env.SESSION_STORE ?? "memory://";
  const counters: Counters = { steps: 0, operations: 0 };
  const server = await startTestServer({ env, clock: new ManualClock() });
  const app = await startModelApp(server.server.sessions).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  let run = 0;
  const started = performance.now();
  let outcome = "passed";
  try {
    await fc.assert(
      fc.asyncProperty(sessionCommands(config, visitors, steps, replayPath), async (commands) => {
        await fc.asyncModelRun(
          () => ({
            model: new SessionModel(config, server.clock.now(), visitors),
            real: newReal(server, app.graphqlUrl, `run${++run}/`, visitors, cookie, counters),
          }),
          commands,
        );
      }),
      { seed, numRuns: runs, ...(path === undefined ? {} : { path }) },
    );
  } catch (error) {
    outcome = "FAILED";
    throw error;
  } finally {
    await app.stop();
    await server.close();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `session model [${label}] ${outcome}: seed ${seed}, ${runs} runs of up to ${steps} steps, ` +
        `${counters.operations} operations (${counters.steps} commands) in ${seconds} s\n`,
    );
  }
  return {
    seed,
    runs,
    steps,
    commands: counters.steps,
    operations: counters.operations,
    elapsedMs: performance.now() - started,
  };
}
