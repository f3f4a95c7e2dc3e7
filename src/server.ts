import { randomUUID } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import fastifyCors from "@fastify/cors";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from "fastify";
import type { GraphQLError, GraphQLFormattedError } from "graphql";
import type { Config, TrustProxy } from "./config";
import { apolloRequestSettings, withoutDefaultPlugins } from "./graphql/apollo-settings";
import { errorLoggingPlugin, logHiddenCause, type RequestLog } from "./graphql/errors";
import { metricsPlugin } from "./graphql/metrics-plugin";
import type { SessionContext } from "./graphql/session-context";
import { createSessions, type Sessions } from "./library";
import { createMetrics } from "./observability/metrics";
import type { Clock } from "./session/session";
import type { SessionStore } from "./session/store";
import { drainBody } from "./standalone/drain";
import { registerGraphQLRoute } from "./standalone/graphql-route";
import { registerHealthRoutes } from "./standalone/health";

/** What a server is built from besides the config. */
export interface ServerDependencies {
  store: SessionStore;
  /** The signing secrets to use (the config's, or a generated development secret). */
  secrets: readonly string[];
  clock?: Clock;
  logger?: FastifyServerOptions["logger"];
}

/** A built server; nothing listens until `start`. */
export interface SessionServer {
  app: FastifyInstance;
  /** The session layer the server serves, as any application's Apollo Server would use it. */
  sessions: Sessions;
  /** Listens on the configured host and port; resolves to the base URL. */
  start(): Promise<string>;
  /** Runs one sweep now, as the sweeper does on its interval; resolves to how many expired sessions went. */
  sweepNow(): Promise<number>;
  /** Stops listening, lets in-flight requests finish, stops the sweeper and closes the store. */
  stop(): Promise<void>;
}

/** The standalone server's context: the library's, plus the request's logger, whose lines carry its id. */
export type ServerContext = SessionContext & { log: FastifyBaseLogger };

const MIB = 1024 * 1024;
const GRAPHQL_PATH = "/graphql";
const READY_TIMEOUT_MS = 1000;
/** How much of an oversized body is read (as a multiple of the limit), and for how long, before the 413. */
const DRAIN_LIMIT_FACTOR = 64;
const DRAIN_TIMEOUT_MS = 10_000;
/** The levels at which every request gets fastify's "incoming request" and "request completed" lines. */
const REQUEST_LOG_LEVELS = new Set(["debug", "trace"]);
/** A request slower than this is logged (at warn) whatever the level, since no per-request line says so. */
const SLOW_REQUEST_MS = 1000;

/**
 * The standalone server: sessionql's library on fastify, as any application would use it (the session layer's
 * context and plugin in an Apollo Server of its own), plus what a service around it needs: the IDE, CORS,
 * health, metrics and the sweeper. Builds everything; starts nothing.
 */
export async function createServer(config: Config, dependencies: ServerDependencies): Promise<SessionServer> {
  const metrics = createMetrics();
  // Big enough that an oversized value reaches GraphQL and gets BAD_USER_INPUT naming the limit.
  const bodyLimit = Math.max(MIB, 4 * config.limits.maxSessionBytes, 4 * config.limits.maxValueBytes);
  const app = Fastify({
    logger: dependencies.logger ?? loggerOptions(config),
    // Per-request lines only at debug and trace: at the default level a request costs no log line at all, and a
    // slow one gets one (see onResponse below). Errors and warnings are logged whatever the level.
    logController: new LogController({ disableRequestLogging: !REQUEST_LOG_LEVELS.has(config.logLevel) }),
    genReqId: requestId,
    bodyLimit,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // Session keys and values are the client's own data, and `__proto__` or `constructor` are ordinary keys
    // there (the contract says so). JSON.parse makes them own properties, and the session keeps its entries in
    // objects without a prototype, so refusing such bodies, fastify's default guard, would only lose data.
    onProtoPoisoning: "ignore",
    onConstructorPoisoning: "ignore",
  });
  const reportSweep = (outcome: { removed: number } | { error: unknown }) => {
    if ("error" in outcome) {
      app.log.warn({ err: outcome.error }, "sweeping expired sessions failed");
      return;
    }
    if (outcome.removed > 0) app.log.info({ removed: outcome.removed }, "swept expired sessions");
    metrics.countExpired(outcome.removed);
  };
  const sessions = await createSessions({
    store: metrics.instrumentStore(dependencies.store),
    secrets: dependencies.secrets,
    cookie: config.cookie,
    expireAtBrowserClose: config.expireAtBrowserClose,
    saveEveryRequest: config.saveEveryRequest,
    absoluteAgeSeconds: config.absoluteAgeSeconds,
    encryptionKeys: config.encryptionKeys,
    header: config.sessionHeader,
    limits: {
      maxKeyLength: config.limits.maxKeyLength,
      maxValueBytes: config.limits.maxValueBytes,
      maxBytes: config.limits.maxSessionBytes,
      maxDepth: config.limits.maxDepth,
    },
    createRate: config.sessionCreateRate,
    sweepIntervalSeconds: config.sweepIntervalSeconds,
    clock: dependencies.clock,
    onEvent: (event) => metrics.countSessionEvent(event),
    onSweep: reportSweep,
    onUnreadable: (error) => {
      app.log.warn(
        { err: error },
        "a stored session opens with none of SESSION_ENCRYPTION_KEYS; it reads as no session",
      );
      metrics.countSessionEvent("unreadable");
    },
  });

  const corsOrigins = new Set(config.corsOrigins);
  await app.register(fastifyCors, {
    // Only listed origins are echoed back (never `*`), with credentials so their pages can send the cookie; any
    // other origin gets no CORS header at all, so the browser keeps the answer from its page.
    origin: (origin, callback) =>
      callback(null, origin !== undefined && corsOrigins.has(origin) ? origin : false),
    credentials: true,
    methods: ["GET", "POST", "OPTIONS"],
    allowedHeaders: [
      "content-type",
      "apollo-require-preflight",
      "x-apollo-operation-name",
      ...(config.sessionHeader ? [config.sessionHeader] : []),
    ],
    exposedHeaders: config.sessionHeader ? [config.sessionHeader] : [],
    maxAge: 600,
  });
  // Requests with a "simple" content type must reach Apollo, whose CSRF prevention answers them with 400;
  // fastify would otherwise refuse them with 415 before that check could say why.
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));
  app.setErrorHandler(async (error: { statusCode?: number }, request, reply) => {
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, "request failed");
    if (status === 413) {
      // A declared length past what would be drained is answered at once: waiting for it would only hold a
      // connection open for a client that means harm.
      const drainable = DRAIN_LIMIT_FACTOR * bodyLimit;
      const declared = Number(request.headers["content-length"]);
      if (!(declared > drainable)) await drainBody(request.raw, drainable, DRAIN_TIMEOUT_MS);
    }
    const message = status === 500 ? "Internal server error" : (error as Error).message;
    return reply.code(status).send({ statusCode: status, message });
  });

  const requestSettings = apolloRequestSettings(config.graphql);
  const apollo = new ApolloServer<ServerContext>({
    schema: sessions.schema,
    ...requestSettings,
    // main.ts owns the signals and stops everything in order; Apollo's own handler would race it.
    stopOnTerminationSignals: false,
    logger: app.log,
    plugins: [
      sessions.plugin,
      ...withoutDefaultPlugins(),
      metricsPlugin((operation, code) => metrics.countRequest(operation, code)),
      errorLoggingPlugin(),
    ],
  });
  await apollo.start();

  let closing = false;
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });
  if (!REQUEST_LOG_LEVELS.has(config.logLevel)) {
    app.addHook("onResponse", (request, reply, done) => {
      if (reply.elapsedTime >= SLOW_REQUEST_MS) {
        request.log.warn(
          { req: request, res: reply, responseTime: reply.elapsedTime },
          `slow request: answered in ${Math.round(reply.elapsedTime)} ms`,
        );
      }
      done();
    });
  }
  app.addHook("onSend", (_request, reply, payload, done) => {
    // While stopping, an answered connection must not stay open as keep-alive: the server would wait for the
    // client to hang up, and the shutdown would run out its grace period with nothing in flight.
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });
  registerGraphQLRoute(app, apollo, {
    path: GRAPHQL_PATH,
    batching: config.graphql.batching,
    context: (request, reply) => ({ ...sessions.context({ request, reply }), log: request.log }),
  });
  // sessionChanged (and every other operation) over graphql-ws on the same path, for the pages CORS allows.
  const live = sessions.serveSubscriptions({
    server: app.server,
    path: GRAPHQL_PATH,
    allowedOrigins: config.corsOrigins,
    refuseOtherPaths: true,
    ...socketRequestSettings(requestSettings, app.log),
  });
  registerHealthRoutes(app, sessions.store, READY_TIMEOUT_MS);
  app.get("/metrics", async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  return {
    app,
    sessions,
    start: () => app.listen({ port: config.port, host: config.host }),
    async sweepNow() {
      const removed = await sessions.clearExpired();
      reportSweep({ removed });
      return removed;
    },
    async stop() {
      closing = true;
      // WebSockets first: the HTTP server would otherwise wait for them, which only their clients would end.
      await live.close();
      await app.close();
      await apollo.stop();
      await sessions.close();
    },
  };
}

/**
 * TRUST_PROXY as fastify takes it. A hop count becomes proxy-addr's `(address, hop) => hop < N`, as Express reads
 * one: fastify's own numeric setting trusts no hop at all. A count cannot check who the nearest peer is, so the
 * README recommends the proxies' addresses instead; the count is there for platforms that only promise one.
 */
function fastifyTrustProxy(
  trustProxy: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy === "number") return (_address, hop) => hop < trustProxy;
  return typeof trustProxy === "boolean" ? trustProxy : [...trustProxy];
}

/**
 * JSON lines through pino, with the request id on every line. Request and response headers are not logged at
 * all by fastify's serializers; the paths below are redacted anyway, so a serializer added later cannot leak a
 * session cookie, a token or a secret.
 */
function loggerOptions(config: Config): FastifyServerOptions["logger"] {
  const header = config.sessionHeader?.toLowerCase();
  return {
    level: config.logLevel,
    redact: {
      paths: [
        "req.headers.cookie",
        "req.headers.authorization",
        'res.headers["set-cookie"]',
        ...(header ? [`req.headers["${header}"]`, `res.headers["${header}"]`] : []),
      ],
      censor: "[redacted]",
    },
  };
}

/** A caller's X-Request-Id when it is a plain token (so it can be correlated), else a fresh UUID. */
function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers["x-request-id"];
  return typeof given === "string" && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
}

/**
 * The HTTP route's query limits, introspection setting and error masking, for operations over the socket; what
 * the masking hides goes to the log, as errorLoggingPlugin does for HTTP.
 */
function socketRequestSettings(
  { formatError, introspection, validationRules, parseOptions }: ReturnType<typeof apolloRequestSettings>,
  log: RequestLog,
) {
  return {
    introspection,
    validationRules,
    maxTokens: parseOptions.maxTokens,
    formatError(formatted: GraphQLFormattedError, error: GraphQLError): GraphQLFormattedError {
      logHiddenCause(log, error, "operation over the socket failed");
      return formatError(formatted, error);
    },
  };
}
