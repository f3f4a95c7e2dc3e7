#!/usr/bin/env node
import "reflect-metadata";
import { ConfigError, loadConfig } from "./config";
import { resolveSecrets } from "./dev-secret";
import { createServer } from "./server";
import { createStore } from "./stores/index";

const USAGE = `usage: sessionql [serve]        run the server (configured by environment variables)
       sessionql clear-expired  delete expired sessions from the store and exit`;

/** The only place that reads process.env, listens, and handles signals. */
async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? "serve";
  if (command === "--help" || command === "-h") {
    console.log(USAGE);
    return;
  }
  if (command !== "serve" && command !== "clear-expired") {
    fail(`unknown command "${command}"\n${USAGE}`);
  }
  const config = loadConfigOrExit();
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

function loadConfigOrExit() {
  try {
    return loadConfig(process.env);
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
