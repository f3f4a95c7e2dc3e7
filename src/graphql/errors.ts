import { unwrapResolverError } from "@apollo/server/errors";
import type { GraphQLFormattedError } from "graphql";
import { SessionError, type SessionErrorCode } from "../session/errors";

const CODES: Record<SessionErrorCode, string> = {
  BAD_INPUT: "BAD_USER_INPUT",
  STORE_UNAVAILABLE: "STORE_UNAVAILABLE",
  SESSION_INTERRUPTED: "SESSION_INTERRUPTED",
  CONFLICT: "SESSION_CONFLICT",
  RATE_LIMITED: "RATE_LIMITED",
};

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
 * graphql-js words them, and anything else as a bare "Internal server error" (logged with its cause), so no
 * stack trace, driver text, host or secret ever reaches a response.
 */
export function createErrorFormatter(logUnexpected: (error: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const { locations, path } = formatted;
    const original = unwrapResolverError(error);
    if (original instanceof SessionError) {
      if (original.code === "STORE_UNAVAILABLE") logUnexpected(original);
      return { message: original.message, locations, path, extensions: { code: CODES[original.code] } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === "string" && CLIENT_CODES.has(code)) {
      return { message: formatted.message, locations, path, extensions: { code } };
    }
    logUnexpected(original);
    return {
      message: "Internal server error",
      locations,
      path,
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    };
  };
}
