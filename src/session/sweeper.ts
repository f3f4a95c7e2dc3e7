import type { SessionStore } from "./store";

/** A running sweeper. */
export interface Sweeper {
  /** Stops the timer, tells a sweep in progress to stop after its current step, and waits for it. */
  stop(): Promise<void>;
}

/**
 * Purges expired records every `intervalMs`, like a cron'd `clearsessions`. Expiry is already enforced on every
 * read; the sweep only reclaims space. The timer is unref'd so it never keeps the process alive.
 */
export function startSweeper(
  store: SessionStore,
  intervalMs: number,
  report: (outcome: { removed: number } | { error: unknown }) => void,
): Sweeper {
  let running: Promise<void> | undefined;
  const stopping = new AbortController();
  const sweep = async () => {
    try {
      report({ removed: await store.clearExpired(stopping.signal) });
    } catch (error) {
      report({ error });
    }
  };
  const timer = setInterval(() => {
    running ??= sweep().finally(() => {
      running = undefined;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await running;
    },
  };
}
