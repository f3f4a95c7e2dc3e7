import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { SessionEvent } from "../session/service";
import type { SessionStore } from "../session/store";

/** The counters and histograms sessionql exports at /metrics, in a registry of its own per server. */
export interface Metrics {
  readonly registry: Registry;
  /** One finished GraphQL request: its root field ("setSession"…, or "none" when it never ran) and error code. */
  countRequest(operation: string, errorCode: string | undefined): void;
  countSessionEvent(event: SessionEvent): void;
  countExpired(removed: number): void;
  /** The store wrapped so each call's duration and failure is measured. */
  instrumentStore(store: SessionStore): SessionStore;
}

/**
 * A registry per server (not prom-client's global one), so several servers in one process, as in tests, each
 * count only their own traffic. Label values come from fixed sets (root field names of our schema, error codes,
 * store methods), never from client input, so a client cannot blow up the number of series.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "sessionql_" });
  const requests = new Counter({
    name: "sessionql_graphql_requests_total",
    help: "GraphQL requests by root field and outcome",
    labelNames: ["operation", "outcome"] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: "sessionql_graphql_errors_total",
    help: "GraphQL requests that answered an error, by root field and error code",
    labelNames: ["operation", "code"] as const,
    registers: [registry],
  });
  const storeCalls = new Histogram({
    name: "sessionql_store_call_duration_seconds",
    help: "Time taken by calls to the session store",
    labelNames: ["method", "outcome"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const sessionEvents = new Counter({
    name: "sessionql_sessions_total",
    help: "Sessions created, cycled, flushed, emptied, expired (swept) or unreadable (no encryption key opens them)",
    labelNames: ["event"] as const,
    registers: [registry],
  });
  const conflicts = new Counter({
    name: "sessionql_version_conflicts_total",
    help: "Saves that lost the version check to another writer and were re-applied",
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: "sessionql_rate_limited_total",
    help: "New sessions refused by SESSION_CREATE_RATE",
    registers: [registry],
  });

  return {
    registry,
    countRequest(operation, errorCode) {
      requests.inc({ operation, outcome: errorCode === undefined ? "ok" : "error" });
      if (errorCode !== undefined) errors.inc({ operation, code: errorCode });
    },
    countSessionEvent(event) {
      if (event === "conflict") conflicts.inc();
      else if (event === "rate-limited") rateLimited.inc();
      else sessionEvents.inc({ event });
    },
    countExpired(removed) {
      if (removed > 0) sessionEvents.inc({ event: "expired" }, removed);
    },
    instrumentStore(store) {
      // Label sets bound once per method, and the time taken with performance.now: prom-client's startTimer
      // merges label objects and reads hrtime on every call, and every store call of every request lands here.
      const timed = <Args extends unknown[], Result>(
        method: string,
        call: (...args: Args) => Promise<Result>,
      ) => {
        const ok = storeCalls.labels({ method, outcome: "ok" });
        const failed = storeCalls.labels({ method, outcome: "error" });
        return async (...args: Args): Promise<Result> => {
          const started = performance.now();
          try {
            const result = await call(...args);
            ok.observe((performance.now() - started) / 1000);
            return result;
          } catch (error) {
            failed.observe((performance.now() - started) / 1000);
            throw error;
          }
        };
      };
      const saveOrRead = store.saveOrRead?.bind(store);
      const listOwnedBy = store.listOwnedBy?.bind(store);
      return {
        outOfProcess: store.outOfProcess,
        changes: store.changes,
        load: timed("load", (sessionKey) => store.load(sessionKey)),
        save: timed("save", (sessionKey, record, expected) => store.save(sessionKey, record, expected)),
        // Timed as a save: it is one, which on a lost check also brings back the record that won.
        ...(saveOrRead === undefined ? {} : { saveOrRead: timed("save", saveOrRead) }),
        ...(listOwnedBy === undefined ? {} : { listOwnedBy: timed("listOwnedBy", listOwnedBy) }),
        delete: timed("delete", (sessionKey, expected?: number) => store.delete(sessionKey, expected)),
        clearExpired: timed("clearExpired", (signal?: AbortSignal) => store.clearExpired(signal)),
        ping: timed("ping", () => store.ping()),
        close: () => store.close(),
      };
    },
  };
}
