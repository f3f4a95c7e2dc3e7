import type { Server } from "node:http";

/**
 * What both Express servers give Apollo Server besides their schema: no stack traces, as an application in
 * production would, and no signal handler of Apollo's own, since stopOnSignals stops it and a second,
 * concurrent stop() never settles in Apollo Server 5.
 */
export const APOLLO_SETTINGS = {
  includeStacktraceInErrorResponses: false,
  stopOnTerminationSignals: false,
} as const;

/** A variable the bench always sets for its servers; a missing one stops the server at once. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

/**
 * On SIGTERM or SIGINT: cuts the bench's keep-alive connections (they would hold `server.close()` open), stops
 * Apollo, then `close` (the store), and exits 0, or 1 when a step fails. Apollo's own signal handler is off in
 * both Express servers (`stopOnTerminationSignals: false`): a second, concurrent `stop()` never settles.
 */
export function stopOnSignals(
  server: Server,
  apollo: { stop(): Promise<void> },
  close: () => Promise<unknown>,
): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    apollo
      .stop()
      .then(close)
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/** Runs a bench server's main, exiting 1 with the error when it fails to start. */
export function runServer(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
