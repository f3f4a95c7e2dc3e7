/** The server side of a model run: the visitors' clients, what the server showed, and how requests are sent. */
import type { GraphQLClient, GraphQLResult, TestServer } from "../helpers/server";
import { type Probe, requestFor, type SendContext } from "./documents";
import type { Operation } from "./operations";

/** The server side of a run: the visitors' clients and what the server showed for each key the model knows. */
export interface Real {
  readonly server: TestServer;
  readonly cookie: CookieRules;
  /** One client (one cookie jar) per visitor; replaced when a visitor's cookies are cleared. */
  readonly visitors: GraphQLClient[];
  /** model ref → the `id` the server showed for that session key. */
  readonly idOf: Map<number, string>;
  /** model ref → the cookie value the server last set for that session key. */
  readonly cookieOf: Map<number, string>;
  readonly counters: Counters;
}

/** What a run did, summed over every run of one property (shrinking included). */
export interface Counters {
  /** Commands executed. */
  steps: number;
  /** GraphQL operations sent. */
  operations: number;
}

/** The session cookie's name and attributes, as the server's configuration sets them. */
export interface CookieRules {
  name: string;
  path: string;
  domain: string | undefined;
  httpOnly: boolean;
  secure: boolean;
  sameSite: string;
}

/** The cookie a server started with `env` sets (the contract's defaults for what `env` leaves out). */
export function cookieRulesFromEnv(env: Readonly<Record<string, string | undefined>>): CookieRules {
  return {
    name: env.SESSION_COOKIE_NAME ?? "sessionid",
    path: env.SESSION_COOKIE_PATH ?? "/",
    domain: env.SESSION_COOKIE_DOMAIN || undefined,
    httpOnly: env.SESSION_COOKIE_HTTPONLY !== "false",
    secure: env.SESSION_COOKIE_SECURE === "true",
    sameSite: env.SESSION_COOKIE_SAMESITE ?? "Lax",
  };
}

/** A fresh server side for one run: new, empty cookie jars. */
export function newReal(server: TestServer, visitors: number, cookie: CookieRules, counters: Counters): Real {
  return {
    server,
    cookie,
    visitors: Array.from({ length: visitors }, () => server.client()),
    idOf: new Map(),
    cookieOf: new Map(),
    counters,
  };
}

/** Sends one request of `visitor`, counting its operations. */
export async function send(
  real: Real,
  visitor: number,
  operations: readonly Operation[],
  probe: Probe,
  context: SendContext,
): Promise<GraphQLResult> {
  const { query, variables } = requestFor(operations, probe, context);
  real.counters.operations += operations.length;
  return clientOf(real, visitor).request(query, variables);
}

/** The client (cookie jar) of one visitor. */
export function clientOf(real: Real, visitor: number): GraphQLClient {
  const client = real.visitors[visitor];
  if (client === undefined) throw new Error(`no visitor ${visitor}`);
  return client;
}
