import type { ApolloServerOptionsWithTypeDefs, ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { GraphQLSchema } from "graphql";
import type Keyv from "keyv";
import { codedErrors } from "./graphql/errors";
import { sessionsPlugin } from "./graphql/plugin";
import { buildSessionSchema, sessionTypeDefsAndResolvers } from "./graphql/schema";
import { type SessionContext, SessionHandle } from "./graphql/session-context";
import { CookieSigner } from "./http/cookie";
import { createCreationLimit } from "./http/creation-limit";
import { RequestSession, type SessionLayer } from "./http/request-session";
import { type ContextArgument, exchangeFor } from "./integrations/index";
import { type LiveServer, type LiveServerOptions, serveLive } from "./integrations/websocket";
import { checkSessionsOptions, isKeyv, type SessionSettings, type SessionsOptions } from "./library-options";
import { inProcessFeed } from "./session/change-feed";
import { LiveSessions } from "./session/live-sessions";
import { sealedStore } from "./session/sealed-store";
import { SessionService, type UserSession } from "./session/service";
import { systemClock } from "./session/session";
import type { SessionRecord, SessionStore } from "./session/store";
import { type Sweeper, startSweeper } from "./session/sweeper";
import { createStore } from "./stores/index";
import { createKeyvStore } from "./stores/keyv-store";

/** A resolver map as Apollo Server takes it, for any application context. */
export type SessionResolverMap = Exclude<
  // biome-ignore lint/suspicious/noExplicitAny: the map is the same whatever the application's context type is.
  NonNullable<ApolloServerOptionsWithTypeDefs<any>["resolvers"]>,
  unknown[]
>;

/** sessionql's session layer for an Apollo Server: what `createSessions()` resolves to. */
export interface Sessions {
  /** The session query and mutations of the contract, to merge with the application's own type defs. */
  readonly typeDefs: string;
  /** Their resolvers (and the JSON, JSONObject and DateTimeISO scalars), to merge with the application's. */
  readonly resolvers: SessionResolverMap;
  /** The session operations as a schema of their own, for a server that serves only them. */
  readonly schema: GraphQLSchema;
  /** Required in `plugins`: writes the cookie (or header) on the framework's response after each operation. */
  readonly plugin: ApolloServerPlugin<BaseContext>;
  /** The context a request needs: `{ session }`, from fastify's `{ request, reply }` or `{ req, res }`. */
  context(argument: ContextArgument): SessionContext;
  /** The live sessions of a user (logged in with `context.session.login`), newest first. */
  userSessions(userId: string): Promise<UserSession[]>;
  /**
   * Ends every live session of a user (on a password change, say), but those whose ids (`Session.id`,
   * `context.session.id()`) are in `except`; resolves to how many ended.
   */
  revokeUserSessions(userId: string, options?: { except?: string | readonly string[] }): Promise<number>;
  /**
   * Serves GraphQL over WebSocket (graphql-ws) on `server`'s upgrades to `path`, for `sessionChanged` and the
   * application's own subscriptions: each operation's context is `sessions.context()` of the upgrade request
   * (or the `context` given), foreign origins are refused, and connections and subscriptions are limited.
   * The schema defaults to the session operations alone. `close()` it before closing the HTTP server.
   */
  serveSubscriptions(options: Omit<LiveServerOptions, "schema"> & { schema?: GraphQLSchema }): LiveServer;
  /** Deletes expired sessions now, as the sweeper does on its interval; resolves to how many went. */
  clearExpired(signal?: AbortSignal): Promise<number>;
  /** Stops the sweeper (ending a sweep in progress after its current step) and closes the store. */
  close(): Promise<void>;
  /** The session use cases behind `context.session`. */
  readonly service: SessionService;
  /** The store the sessions live in. */
  readonly store: SessionStore;
}

/**
 * Builds the session layer for an Apollo Server of the application's own: `context.session` with Django's API
 * for its resolvers, the session operations to merge into its schema, and the plugin that writes the cookie.
 * Throws a ConfigError naming every bad option.
 */
export async function createSessions(options: SessionsOptions): Promise<Sessions> {
  const settings = checkSessionsOptions(options);
  const store = openStore(settings, options);
  const changes = store.changes ?? inProcessFeed();
  const service = new SessionService({
    changes,
    onChangeNotSent: options.onChangeNotSent,
    store,
    policy: {
      cookieAgeSeconds: settings.cookie.ageSeconds,
      expireAtBrowserClose: settings.expireAtBrowserClose,
      saveEveryRequest: settings.saveEveryRequest,
      absoluteAgeSeconds: settings.absoluteAgeSeconds,
    },
    limits: settings.limits,
    idSecret: settings.secrets[0] as string,
    clock: options.clock,
    onEvent: options.onEvent,
    maxSessionsPerUser: settings.maxSessionsPerUser,
  });
  const layer: SessionLayer = {
    sessions: service,
    signer: new CookieSigner(settings.secrets),
    cookie: settings.cookie,
    sessionHeader: settings.header,
    sessionHeaderField: settings.header?.toLowerCase(),
    creationLimit: createCreationLimit(settings.createRate),
    privateKeyPrefix: settings.privateKeyPrefix,
    live: new LiveSessions(service, changes, options.clock ?? systemClock),
  };
  const requestOf = (argument: ContextArgument) =>
    new RequestSession(layer, exchangeFor(argument, layer.sessionHeaderField));
  const schema = buildSessionSchema();
  const { typeDefs, resolvers } = sessionTypeDefsAndResolvers();
  const onSweep = options.onSweep ?? (() => {});
  const sweeper: Sweeper | undefined =
    settings.sweepIntervalSeconds > 0
      ? startSweeper(store, settings.sweepIntervalSeconds * 1000, onSweep)
      : undefined;
  let closed: Promise<void> | undefined;
  return {
    typeDefs,
    resolvers: resolvers as SessionResolverMap,
    schema,
    plugin: sessionsPlugin(),
    service,
    store,
    context: (argument) => ({ session: new SessionHandle(requestOf(argument)) }),
    serveSubscriptions: (liveOptions) =>
      serveLive(
        { schema, ...liveOptions },
        {
          sessionKeyOf: (argument) => requestOf(argument).session.incomingKey,
          context: (argument) => ({ session: new SessionHandle(requestOf(argument)) }),
        },
      ),
    userSessions: (userId) => codedErrors(() => service.userSessions(userId)),
    revokeUserSessions: (userId, revokeOptions = {}) => {
      const { except } = revokeOptions;
      const kept = except === undefined ? [] : typeof except === "string" ? [except] : except;
      return codedErrors(() => service.revokeUserSessions(userId, { except: kept }));
    },
    clearExpired: (signal) => store.clearExpired(signal),
    close() {
      closed ??= (async () => {
        layer.live.close();
        await sweeper?.stop();
        await store.close();
      })();
      return closed;
    },
  };
}

/** The store the options name, sealing session data at rest when encryption keys are given. */
function openStore(settings: SessionSettings, options: SessionsOptions): SessionStore {
  const { store } = settings;
  const opened =
    typeof store === "string"
      ? createStore(store, options.clock)
      : isKeyv(store)
        ? createKeyvStore(store as unknown as Keyv<SessionRecord>, { clock: options.clock })
        : store;
  if (settings.encryptionKeys.length === 0) return opened;
  return sealedStore(opened, settings.encryptionKeys, (error) => options.onUnreadable?.(error));
}
