import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// A script importing a test helper: the soak needs exactly the private, loopback-only redis-server the store
// tests use, and one copy of how to start it is better than two.
import { startRedisServer } from "../../test/helpers/redis";
import type { Cleanup } from "./cleanup";
import type { SoakStore } from "./options";

/** Where one store's data lives for a soak: the env of the loaded server, and a separate one for the model. */
export interface SoakBackend {
  /** SESSION_STORE for the sessionql process under load. */
  env: Record<string, string>;
  /** SESSION_STORE for the model's server: the same kind of store, but none of the soak's sessions. */
  modelEnv: Record<string, string>;
  /** Ends the redis-server or removes the SQLite directory (after the model has run on it). */
  stop(): Promise<void>;
}

/** Prepares a store: a temporary SQLite directory or a private redis-server, both registered with `cleanup`. */
export async function prepareBackend(store: SoakStore, cleanup: Cleanup): Promise<SoakBackend> {
  switch (store) {
    case "memory":
      return {
        env: { SESSION_STORE: "memory://" },
        modelEnv: { SESSION_STORE: "memory://" },
        stop: async () => {},
      };
    case "sqlite": {
      const directory = mkdtempSync(join(tmpdir(), "sessionql-soak-"));
      const stop = cleanup.add(`temporary directory ${directory}`, async () =>
        rmSync(directory, { recursive: true, force: true }),
      );
      return {
        env: { SESSION_STORE: `sqlite://${join(directory, "soak.sqlite")}` },
        modelEnv: { SESSION_STORE: `sqlite://${join(directory, "model.sqlite")}` },
        stop,
      };
    }
    case "redis": {
      const redis = await startRedisServer();
      const stop = cleanup.add(
        `redis-server on port ${redis.port}`,
        () => redis.stop(),
        () => redis.pid,
      );
      // Database 1 keeps the model's sessions apart from the 0 of the load.
      return {
        env: { SESSION_STORE: `${redis.url}/0` },
        modelEnv: { SESSION_STORE: `${redis.url}/1` },
        stop,
      };
    }
  }
}
