import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { SessionClientError } from "./session-client-error";
import type { TokenKeeper } from "./token-keeper";

/** A typed document printed to query text once, ready to send; its result and variables types ride along. */
export interface PrintedOperation<TResult, TVariables> {
  readonly query: string;
  /** Never set: it only carries the types, as TypedDocumentNode's own `__apiType` does. */
  readonly __apiType?: (variables: TVariables) => TResult;
}

/** Prints a typed document, keeping its types. */
export function printOperation<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
): PrintedOperation<TResult, TVariables> {
  return { query: print(document) };
}

/** Sends one operation and answers with its typed result, or throws a SessionClientError. */
export type Execute = <TResult, TVariables>(
  operation: PrintedOperation<TResult, TVariables>,
  variables: TVariables,
) => Promise<TResult>;

/** Where and how operations are sent. */
export interface ExecuteSettings {
  url: string;
  fetch: typeof fetch;
  headers: Record<string, string> | undefined;
  credentials: RequestInit["credentials"];
  keeper: TokenKeeper;
}

/** An `execute` that posts JSON to the endpoint, carrying the session token the keeper holds. */
export function createExecute({ url, fetch: send, headers, credentials, keeper }: ExecuteSettings): Execute {
  // `send` is called as a plain function, never as a method of some object: a browser's fetch throws
  // "Illegal invocation" when `this` is anything but the window.
  return async (operation, variables) => {
    const requestHeaders = new Headers(headers);
    // A JSON body is what the server's CSRF prevention accepts without a preflight header.
    requestHeaders.set("content-type", "application/json");
    keeper.attach(requestHeaders);
    const response = await send(url, {
      method: "POST",
      headers: requestHeaders,
      body: JSON.stringify({ query: operation.query, variables }),
      credentials,
    });
    // Even a failed answer may end the session (an expired cookie), so the keeper always reads it.
    keeper.absorb(response);
    return resultOf(response);
  };
}

/** The data of a GraphQL answer; its first error, a non-2xx status or a body that is not GraphQL throws. */
async function resultOf<TResult>(response: Response): Promise<TResult> {
  const { status } = response;
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new SessionClientError(
      `the server answered HTTP ${status} without valid JSON`,
      { status },
      { cause: error },
    );
  }
  const { data, errors } = (typeof body === "object" && body !== null ? body : {}) as {
    data?: TResult | null;
    errors?: Array<{ message?: unknown; extensions?: { code?: unknown; version?: unknown } }>;
  };
  const first = Array.isArray(errors) ? errors[0] : undefined;
  if (first !== undefined) {
    const code = first.extensions?.code;
    const version = first.extensions?.version;
    throw new SessionClientError(String(first.message), {
      code: typeof code === "string" ? code : undefined,
      status,
      version: typeof version === "number" ? version : undefined,
    });
  }
  if (!response.ok || data === null || data === undefined) {
    throw new SessionClientError(`the server answered HTTP ${status} without data`, { status });
  }
  return data;
}
