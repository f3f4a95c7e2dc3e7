import cluster from "node:cluster";
import type { Logger } from "pino";
import { relayChanges } from "./stores/cluster-feed";

/** Restarts of crashed workers allowed per minute before the supervisor gives up and exits. */
const MAX_RESTARTS_PER_MINUTE = 10;

/**
 * Runs `count` server processes on one port with node:cluster: the primary only supervises (the workers accept
 * connections, handed out round-robin), restarts a worker that dies, and on SIGTERM/SIGINT passes the signal on
 * and exits once every worker has finished its own graceful shutdown: 0 when all of them exited 0.
 */
export function superviseWorkers(count: number, env: NodeJS.ProcessEnv, log: Logger): void {
  let stopping = false;
  let failedStops = 0;
  const restarts: number[] = [];
  // SQLite has no publish of its own: session changes go from worker to worker through this process.
  relayChanges();

  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) failedStops++;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failedStops === 0 ? 0 : 1);
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, "a worker exited; starting another");
    const now = Date.now();
    restarts.push(now);
    while ((restarts[0] ?? now) < now - 60_000) restarts.shift();
    if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
      log.fatal({ restarts: restarts.length }, "workers keep dying; giving up");
      process.exit(1);
    }
    cluster.fork(env);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping the workers");
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  for (let i = 0; i < count; i++) cluster.fork(env);
  log.info({ workers: count }, "sessionql is starting its workers");
}
