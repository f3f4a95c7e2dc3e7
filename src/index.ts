/**
 * sessionql as a library: `createSessions()` puts Django's sessions into an Apollo Server of your own (Express 5,
 * fastify or the standalone server); `createServer()` builds sessionql's own server, which is that library on
 * fastify; `main.ts` is the same server driven by environment variables.
 */
import "reflect-metadata";

export { type Config, ConfigError, type CookieConfig, loadConfig } from "./config";
export { sessionGraphQLError } from "./graphql/errors";
export { sessionResolvers, sessionSubscriptionResolvers } from "./graphql/schema";
export type { SessionContext, SessionDraft, SessionHandle } from "./graphql/session-context";
export type {
  ContextArgument,
  FastifyContextArgument,
  NodeHttpContextArgument,
  UpgradeContextArgument,
} from "./integrations/index";
export type { LiveServer, LiveServerOptions } from "./integrations/websocket";
export { createSessions, type Sessions } from "./library";
export type { KeyvLike, SessionsOptions } from "./library-options";
export { createServer, type ServerDependencies, type SessionServer } from "./server";
export type { ChangeFeed, SessionChange, SessionChangeKind } from "./session/change-feed";
export {
  BadInputError,
  ConflictError,
  RateLimitedError,
  SessionError,
  type SessionErrorCode,
  SessionInterruptedError,
  StoreUnavailableError,
} from "./session/errors";
export type { SessionEvent } from "./session/service";
export type { Clock } from "./session/session";
export type { SessionData, SessionRecord, SessionStore } from "./session/store";
export { createStore, isSupportedStoreUrl, STORE_SCHEMES } from "./stores/index";
export { createKeyvStore, KEYV_NAMESPACE } from "./stores/keyv-store";
