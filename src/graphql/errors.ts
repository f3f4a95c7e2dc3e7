import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { SessionError, type SessionErrorCode, VersionConflictError } from "../session/errors";

const CODES: Record<SessionErrorCode, string> = {
  BAD_INPUT: "BAD_USER_INPUT",
  STORE_UNAVAILABLE: "STORE_UNAVAILABLE",
  SESSION_INTERRUPTED: "SESSION_INTERRUPTED",
  CONFLICT: "SESSION_CONFLICT",
  VERSION_CONFLICT: "VERSION_CONFLICT",
  RATE_LIMITED: "RATE_LIMITED",
};

/**
 * A session failure as the GraphQL error an application's resolver throws: the contract's code in
 * `extensions.code` and the core's message, written for clients. The core error is kept as `originalError` (never
 * serialised), so the cause of a store outage reaches the server's log and not the response.
 */
export function sessionGraphQLError(error: SessionError): GraphQLError {
  return new GraphQLError(error.message, { extensions: extensionsOf(error), originalError: error });
}

/** What a client reads of a session error: its code, and for a version conflict the version it found. */
function extensionsOf(error: SessionError): Record<string, unknown> {
  const code = CODES[error.code];
  return error instanceof VersionConflictError ? { code, version: error.currentVersion } : { code };
}

/** What an operation threw, as a client may see it: session errors get their code; anything else is kept. */
export function asGraphQLError(error: unknown): unknown {
  return error instanceof SessionError ? sessionGraphQLError(error) : error;
}

/** Runs `operation`, throwing what it throws as {@link asGraphQLError} words it. */
export async function codedErrors<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw asGraphQLError(error);
  }
}

/**
 * The session error behind a resolver's error, whether it was thrown bare or as {@link sessionGraphQLError}, and
 * however many GraphQL errors wrap it (graphql-ws wraps what a subscription's stream throws in one more).
 */
function sessionErrorOf(error: unknown): SessionError | undefined {
  let original = unwrapResolverError(error);
  while (original instanceof GraphQLError && original.originalError !== undefined) {
    original = original.originalError;
  }
  return original instanceof SessionError ? original : undefined;
}

/** Codes whose messages are written for clients (parse, validation and input errors from graphql-js and Apollo). */
const CLIENT_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

/**
 * The one place that decides what a client sees of an error: session errors by their code, client errors as
 * graphql-js words them, and anything else as a bare "Internal server error", so no stack trace, driver text,
 * host or secret ever reaches a response. Logging is not done here (a formatter has no request to log
 * through): see {@link errorLoggingPlugin}.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const { locations, path } = formatted;
  const sessionError = sessionErrorOf(error);
  if (sessionError !== undefined) {
    return { message: sessionError.message, locations, path, extensions: extensionsOf(sessionError) };
  }
  const code = clientCode(formatted.extensions);
  if (code !== undefined) return { message: formatted.message, locations, path, extensions: { code } };
  return { message: "Internal server error", locations, path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

/** A request's own logger (pino's signature, as fastify's `request.log` has it). */
export interface RequestLog {
  error(details: object, message: string): void;
}

/**
 * Logs, through the request's own logger (so the line carries its request id), every error a client sees only
 * as a code: store outages and anything unexpected, with the cause a response never shows.
 */
export function errorLoggingPlugin(): ApolloServerPlugin<{ log: RequestLog }> {
  // One listener object for every request: it keeps no per-request state.
  const listener: GraphQLRequestListener<{ log: RequestLog }> = {
    async didEncounterErrors({ contextValue, errors }) {
      for (const error of errors) logHiddenCause(contextValue.log, error);
    },
  };
  return { requestDidStart: async () => listener };
}

/** Logs the cause of an error a client sees only as a code (a store outage, anything unexpected), if it is one. */
export function logHiddenCause(log: RequestLog, error: GraphQLError, message = "operation failed"): void {
  const cause = hiddenCause(error);
  if (cause !== undefined) log.error({ err: cause }, message);
}

/** What a client is told of a store outage or an unexpected failure is only a code; the cause goes to the log. */
function hiddenCause(error: GraphQLError): unknown {
  const sessionError = sessionErrorOf(error);
  if (sessionError !== undefined) return sessionError.code === "STORE_UNAVAILABLE" ? sessionError : undefined;
  return clientCode(error.extensions) === undefined ? unwrapResolverError(error) : undefined;
}

/** The code of an error whose message graphql-js or Apollo wrote for clients, if it is one. */
function clientCode(extensions: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const code = extensions?.code;
  return typeof code === "string" && CLIENT_CODES.has(code) ? code : undefined;
}
