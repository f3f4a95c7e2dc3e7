/**
 * sessionql as a library: build the server from a config and a store, or hand it a store of your own
 * (any Keyv instance through createKeyvStore). `main.ts` is the same thing driven by environment variables.
 */
import "reflect-metadata";

export { type Config, ConfigError, loadConfig } from "./config";
export { createServer, type ServerDependencies, type SessionServer } from "./server";
export {
  BadInputError,
  ConflictError,
  SessionError,
  type SessionErrorCode,
  SessionInterruptedError,
  StoreUnavailableError,
} from "./session/errors";
export type { Clock } from "./session/session";
export type { SessionData, SessionRecord, SessionStore } from "./session/store";
export { createStore, isSupportedStoreUrl, STORE_SCHEMES } from "./stores/index";
export { createKeyvStore, KEYV_NAMESPACE } from "./stores/keyv-store";
