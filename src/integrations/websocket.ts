import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  type DocumentNode,
  type ExecutionArgs,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  getOperationAST,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  type ValidationRule,
  validate,
} from "graphql";
import type { Context, SubscribePayload } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { LRUCache } from "lru-cache";
import { WebSocketServer } from "ws";
import { DEFAULT_GRAPHQL_CONFIG } from "../config";
import { queryLimitRules } from "../graphql/query-limits";
import type { UpgradeContextArgument } from "./node-http";

/** How a WebSocket server for subscriptions is set up; every limit has a default. */
export interface LiveServerOptions {
  /**
   * The HTTP server whose upgrades to `path` become GraphQL-over-WebSocket connections. Without one (Apollo's
   * `startStandaloneServer` keeps its server to itself), a server of its own listens on `port` and `host`.
   */
  server?: HttpServer | HttpsServer;
  /** The port of the server of its own, when no `server` is given; 0 picks a free one. */
  port?: number;
  /** Its address; 127.0.0.1 unless given. */
  host?: string;
  /** The schema the subscriptions (and any other operation sent over the socket) run against. */
  schema: GraphQLSchema;
  /** The path of the GraphQL endpoint; upgrades to any other path are left to other handlers. Default `/graphql`. */
  path?: string;
  /**
   * Origins besides the server's own whose pages may connect (the CORS list). An upgrade from any other page is
   * refused with 403, since a browser sends the cookie with a cross-site WebSocket as it would with a form.
   */
  allowedOrigins?: readonly string[];
  /** The context each operation gets, from the upgrade request; default: the session layer's alone. */
  context?: (argument: UpgradeContextArgument) => unknown;
  /** Subscriptions one connection may hold at once. Default 16. */
  maxSubscriptionsPerConnection?: number;
  /** Connections one session may hold on this instance at once (its tabs and devices). Default 32. */
  maxConnectionsPerSession?: number;
  /** How often the server pings; a connection that has not answered the last ping by the next one is cut. Default 12 s. */
  pingIntervalMs?: number;
  /** Answers upgrades to any other path with 404, for a server that has no other WebSocket. Default false. */
  refuseOtherPaths?: boolean;
  /** The largest message a client may send. Default 64 KiB. */
  maxPayloadBytes?: number;
  /** How long a client has after connecting to send `connection_init`. Default 3 s. */
  connectionInitTimeoutMs?: number;
  /**
   * The most tokens a document sent over the socket may have; a longer one is refused while parsing, before it is
   * built. Default 1000, as the standalone server's `GRAPHQL_MAX_TOKENS`.
   */
  maxTokens?: number;
  /**
   * Validation rules besides graphql-js's own, as the application gives its Apollo Server. Default: sessionql's
   * query limits at their defaults (depth 10, aliases 15, cost 1000, directives 10).
   */
  validationRules?: readonly ValidationRule[];
  /**
   * Whether the schema may be introspected over the socket. Default false: IDEs and codegen introspect over HTTP,
   * where the application's Apollo Server decides.
   */
  introspection?: boolean;
  /**
   * What a client sees of each error, as Apollo Server's `formatError`. Default: graphql-js's shape (message,
   * locations, path, extensions; never a stack trace).
   */
  formatError?: (formatted: GraphQLFormattedError, error: GraphQLError) => GraphQLFormattedError;
}

/** A running WebSocket server for subscriptions. */
export interface LiveServer {
  /** Resolves to the WebSocket URL once the server listens (its own, or the one given, once that listens). */
  readonly url: Promise<string>;
  /** Connections open now. */
  readonly connections: number;
  /** Closes every connection ("going away", 1001), ending their subscriptions, and stops taking upgrades. */
  close(): Promise<void>;
}

/** What the session layer tells the server about a connection's session. */
export interface LiveSessionKeys {
  /** The session key an upgrade (with its connection params) presents, or undefined for none. */
  sessionKeyOf(argument: UpgradeContextArgument): string | undefined;
  /** The context of one operation: `{ session }`. */
  context(argument: UpgradeContextArgument): unknown;
}

const DEFAULTS = {
  path: "/graphql",
  maxSubscriptionsPerConnection: 16,
  maxConnectionsPerSession: 32,
  pingIntervalMs: 12_000,
  maxPayloadBytes: 64 * 1024,
  connectionInitTimeoutMs: 3_000,
  refuseOtherPaths: false,
  maxTokens: DEFAULT_GRAPHQL_CONFIG.maxTokens,
};

/** Validated documents kept: far more than the operations an application's pages send. */
const DOCUMENT_CACHE_ENTRIES = 500;
/** And at most this much of their text (a document over the socket may be up to 64 KiB). */
const DOCUMENT_CACHE_CHARACTERS = 1024 * 1024;

/** The close code for a session past its connection limit (graphql-ws leaves 4400–4999 to applications). */
const TOO_MANY_CONNECTIONS = 4429;

/** What graphql-ws's ws server puts in each connection's `extra`. */
type ConnectionExtra = {
  socket: import("ws").WebSocket;
  request: IncomingMessage;
};

/**
 * GraphQL over WebSocket (graphql-ws, the `graphql-transport-ws` protocol) on an HTTP server's upgrades, with what
 * graphql-ws leaves to the application: the `Origin` check (cross-site WebSocket hijacking), limits on
 * connections per session and subscriptions per connection, the largest message, and a ping whose unanswered
 * pong cuts the connection.
 */
export function serveLive(options: LiveServerOptions, sessions: LiveSessionKeys): LiveServer {
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  const allowed = new Set(options.allowedOrigins ?? []);
  const perSession = new Map<string, number>();
  const sessionKeys = new WeakMap<object, string>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: settings.maxPayloadBytes });
  const rules = [
    ...specifiedRules,
    ...(options.validationRules ?? queryLimitRules(DEFAULT_GRAPHQL_CONFIG)),
    ...(options.introspection === true ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  // Every tab of every visitor sends the same few documents: each is parsed and validated once, and its
  // subscriptions share the one tree instead of holding a copy each.
  const validated = new LRUCache<string, DocumentNode>({
    max: DOCUMENT_CACHE_ENTRIES,
    maxSize: DOCUMENT_CACHE_CHARACTERS,
    sizeCalculation: (_document, query) => Math.max(1, query.length),
  });
  const documentOf = (query: string): DocumentNode | readonly GraphQLError[] => {
    const cached = validated.get(query);
    if (cached !== undefined) return cached;
    const checked = validatedDocument(options.schema, query, settings.maxTokens, rules);
    if (isDocument(checked)) validated.set(query, checked);
    return checked;
  };
  const format = options.formatError;
  const formatted =
    format === undefined
      ? undefined
      : (errors: readonly GraphQLError[]) => errors.map((error) => format(error.toJSON(), error));
  const contextOf = options.context ?? ((argument: UpgradeContextArgument) => sessions.context(argument));
  const argumentOf = (ctx: Context<Record<string, unknown> | undefined, ConnectionExtra>) => ({
    req: ctx.extra.request,
    connectionParams: ctx.connectionParams,
  });

  const graphqlWs = useServer<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: settings.connectionInitTimeoutMs,
      context: (ctx) => contextOf(argumentOf(ctx)) as Record<string, unknown>,
      onConnect(ctx) {
        const sessionKey = sessions.sessionKeyOf(argumentOf(ctx));
        if (sessionKey === undefined) return true;
        const open = perSession.get(sessionKey) ?? 0;
        if (open >= settings.maxConnectionsPerSession) {
          ctx.extra.socket.close(
            TOO_MANY_CONNECTIONS,
            `at most ${settings.maxConnectionsPerSession} connections per session`,
          );
          return false;
        }
        perSession.set(sessionKey, open + 1);
        sessionKeys.set(ctx, sessionKey);
        return true;
      },
      onClose(ctx) {
        const sessionKey = sessionKeys.get(ctx);
        if (sessionKey === undefined) return;
        sessionKeys.delete(ctx);
        const left = (perSession.get(sessionKey) ?? 1) - 1;
        if (left > 0) perSession.set(sessionKey, left);
        else perSession.delete(sessionKey);
      },
      onSubscribe(ctx, id, payload) {
        const held = Object.keys(ctx.subscriptions).filter((other) => other !== id).length;
        if (held >= settings.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(
              `at most ${settings.maxSubscriptionsPerConnection} subscriptions per connection`,
              {
                extensions: { code: "BAD_USER_INPUT" },
              },
            ),
          ];
        }
        const document = documentOf(payload.query);
        return isDocument(document) ? executionArgsOf(options.schema, document, payload) : document;
      },
      onNext(_ctx, _id, _payload, _args, result) {
        if (result.errors === undefined || formatted === undefined) return undefined;
        return { ...result, errors: formatted(result.errors) };
      },
      onError: (_ctx, _id, _payload, errors) => formatted?.(errors),
    },
    wss,
    settings.pingIntervalMs,
  );

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(request) !== settings.path) {
      if (settings.refuseOtherPaths) refuse(socket, 404, "Not Found", "no WebSocket at this path");
      return;
    }
    if (!originAllowed(request, allowed)) {
      refuse(socket, 403, "Forbidden", "this page's origin may not open a WebSocket here");
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  };
  const ownServer = options.server === undefined ? createHttpServer(upgradeRequired) : undefined;
  const server = options.server ?? (ownServer as HttpServer);
  server.on("upgrade", onUpgrade);
  const url = (async () => {
    if (ownServer !== undefined) {
      await new Promise<void>((resolve, reject) => {
        ownServer.once("error", reject);
        ownServer.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
      });
    } else if (!server.listening) {
      await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    }
    const address = server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `${"cert" in server || "key" in server ? "wss" : "ws"}://${host}:${address.port}${settings.path}`;
  })();
  url.catch(() => {});

  let closing: Promise<void> | undefined;
  return {
    url,
    get connections() {
      return wss.clients.size;
    },
    close() {
      closing ??= (async () => {
        server.off("upgrade", onUpgrade);
        // graphql-ws closes each socket with 1001 ("going away") and ends its subscriptions.
        await graphqlWs.dispose();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        if (ownServer?.listening) await new Promise<void>((resolve) => ownServer.close(() => resolve()));
      })();
      return closing;
    },
  };
}

/**
 * Whether the upgrade may go on: a request without `Origin` is not a browser's page (a browser always sends one
 * with a WebSocket), and otherwise the origin must be the server's own (its host as the request names it) or
 * one of the allowed. A page cannot set `Host` or `X-Forwarded-Host` on a WebSocket, so either, as a proxy
 * passes it on, names the server the browser meant to reach.
 */
export function originAllowed(request: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.has(origin)) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  const ownHosts = [request.headers.host, firstValue(request.headers["x-forwarded-host"])];
  return ownHosts.some((own) => own !== undefined && own.toLowerCase() === host.toLowerCase());
}

/** What the server of its own answers a plain HTTP request: only upgrades are served there. */
function upgradeRequired(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(426, { "content-type": "text/plain; charset=utf-8", upgrade: "websocket" });
  response.end("GraphQL over WebSocket only");
}

/**
 * Parses and validates a document as Apollo Server does one over HTTP: the token limit, the query limits, no
 * introspection where it is off.
 */
function validatedDocument(
  schema: GraphQLSchema,
  query: string,
  maxTokens: number,
  rules: readonly ValidationRule[],
): DocumentNode | readonly GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return [new GraphQLError(message, { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
  }
  const invalid = validate(schema, document, rules);
  if (invalid.length === 0) return document;
  return invalid.map(
    (error) =>
      new GraphQLError(error.message, {
        nodes: error.nodes,
        extensions: { ...error.extensions, code: "GRAPHQL_VALIDATION_FAILED" },
      }),
  );
}

/**
 * What graphql-ws runs for an operation with a validated document, unless it is a mutation; graphql-ws adds the
 * context of the connection's upgrade.
 */
function executionArgsOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  payload: SubscribePayload,
): ExecutionArgs | readonly GraphQLError[] {
  const operationName = payload.operationName ?? undefined;
  if (getOperationAST(document, operationName)?.operation === "mutation") {
    // An upgrade has no response to carry a cookie: a change needing a new one (a new session, a cycled key, a
    // login) would be saved under a key no browser ever receives.
    return [
      new GraphQLError("mutations go over HTTP, whose answer can carry the session cookie", {
        extensions: { code: "BAD_REQUEST" },
      }),
    ];
  }
  return { schema, document, operationName, variableValues: payload.variables ?? undefined };
}

function isDocument(value: DocumentNode | readonly GraphQLError[]): value is DocumentNode {
  return !Array.isArray(value);
}

/** The first of a comma-joined header's values. */
function firstValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text?.split(",")[0]?.trim();
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? "/";
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

/** Answers an upgrade with an HTTP error and closes the socket. */
function refuse(socket: Duplex, status: number, reason: string, message: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
