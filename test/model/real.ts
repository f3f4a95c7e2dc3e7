/** The server side of a model run: the visitors' clients, what the server showed, and how requests are sent. */
import { GraphQLClient, type GraphQLResult, type TestServer } from "../helpers/server";
import { type Probe, requestFor, type SendContext } from "./documents";
import type { Operation } from "./operations";

/** The server side of a run: the visitors' clients and what the server showed for each key the model knows. */
export interface Real {
  readonly server: TestServer;
  /** The GraphQL endpoint of the application beside it (login, logout, me; see app.ts). */
  readonly appUrl: string;
  /**
   * What the model's user ids are prefixed with on the server: the runs of a property share one server, whose
   * store keeps the sessions of earlier runs, so each run logs in users of its own.
   */
  readonly userPrefix: string;
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
export function newReal(
  server: TestServer,
  appUrl: string,
  userPrefix: string,
  visitors: number,
  cookie: CookieRules,
  counters: Counters,
): Real {
  return {
    server,
    appUrl,
    userPrefix,
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

/** The visitor on the application's endpoint: a client sharing the visitor's cookie jar. */
export function appClientOf(real: Real, visitor: number): GraphQLClient {
  return new GraphQLClient(real.appUrl, clientOf(real, visitor).jar);
}

/** The server's user id for one of the model's. */
export function realUserId(real: Real, userId: string): string {
  return `${real.userPrefix}${userId}`;
}
