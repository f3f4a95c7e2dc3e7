#!/usr/bin/env node
import "reflect-metadata";
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import pino from "pino";
import { superviseWorkers } from "./cluster";
import { ConfigError, loadConfig } from "./config";
import { resolveSecrets } from "./dev-secret";
import { createServer } from "./server";
import { createStore } from "./stores/index";

const USAGE = `usage: sessionql [serve] [--workers N]  run the server (configured by environment variables);
                                       N processes share the port (or SESSIONQL_WORKERS=N)
       sessionql clear-expired          delete expired sessions from the store and exit`;

/** The only place that reads process.env, listens, and handles signals. */
async function main(argv: string[]): Promise<void> {
  const { command, env } = parseArguments(argv);
  if (command === "help") {
    console.log(USAGE);
    return;
  }
  const config = loadConfigOrExit(env);

  if (command === "serve" && config.workers > 1 && cluster.isPrimary) {
    // Every worker must sign with the same secret; a generated one is made here, once, and handed down.
    const { secrets } = resolveSecrets(config);
    superviseWorkers(
      config.workers,
      { ...env, SESSION_SECRET: secrets.join(",") },
      pino({ level: config.logLevel }),
    );
    return;
  }
  const store = openStoreOrExit(config.storeUrl);

  if (command === "clear-expired") {
    const removed = await store.clearExpired();
    await store.close();
    console.log(`removed ${removed} expired session${removed === 1 ? "" : "s"}`);
    return;
  }

  const { secrets, source, file } = resolveSecrets(config);
  const server = await createServer(config, { store, secrets });
  const log = server.app.log;
  if (source === "file")
    log.warn({ file }, "SESSION_SECRET is not set: using a generated development secret");
  if (source === "memory") {
    log.warn(
      "SESSION_SECRET is not set: using a secret generated for this process only; cookies die with it",
    );
  }
  await server.start();
  log.info({ store: new URL(config.storeUrl).protocol }, "sessionql is serving /graphql");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    // In-flight operations finish first; one that is still running after the grace period does not hold the
    // process, which then exits non-zero so a supervisor can tell.
    const grace = setTimeout(() => {
      log.error(
        { graceSeconds: config.shutdownGraceSeconds },
        "in-flight requests outlived the grace period",
      );
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000);
    await server.stop();
    clearTimeout(grace);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/** The command and the environment it runs with: `--workers N` is SESSIONQL_WORKERS=N. */
function parseArguments(argv: string[]): {
  command: "serve" | "clear-expired" | "help";
  env: NodeJS.ProcessEnv;
} {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const env = { ...process.env };
  if (values.workers !== undefined) env.SESSIONQL_WORKERS = values.workers;
  if (values.help) return { command: "help", env };
  const command = positionals[0] ?? "serve";
  if (command !== "serve" && command !== "clear-expired") fail(`unknown command "${command}"\n${USAGE}`);
  if (positionals.length > 1) fail(`unexpected argument "${positionals[1]}"\n${USAGE}`);
  return { command, env };
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { workers: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
}

function loadConfigOrExit(env: NodeJS.ProcessEnv) {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

function openStoreOrExit(url: string) {
  try {
    return createStore(url);
  } catch (error) {
    fail(`SESSION_STORE: ${(error as Error).message}`);
  }
}

function fail(message: string): never {
  process.stderr.write(`sessionql: ${message}\n`);
  process.exit(1);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`sessionql: could not start: ${(error as Error).message ?? error}\n`);
  process.exit(1);
});
