/**
 * The commands of the model's users: a visitor logs in (through the application, app.ts) or out, lists its user's
 * sessions, ends one of them or all the others, each compared with the model's answer, cookie and jar.
 */
import type fc from "fast-check";
import type { GraphQLResult } from "../helpers/server";
import {
  canonical,
  compareCookie,
  compareId,
  compareJar,
  Divergences,
  describeModel,
  describeProbe,
  verifyAnswer,
} from "./compare";
import type { Probe } from "./documents";
import type { ListedSession, SessionModel, UserOutcome } from "./model";
import type { Operation } from "./operations";
import { appClientOf, clientOf, type Real, realUserId, send } from "./real";

type SessionCommand = fc.AsyncCommand<SessionModel, Real>;

/**
 * Where `mySessions` and the revokes are sent: the standalone server, or the application, which serves them
 * from `sessions.typeDefs`.
 */
export type Endpoint = "server" | "app";

/** How a login gives its User-Agent: as the mutation's argument, or only as the request's header. */
export interface Agent {
  via: "argument" | "header";
  value: string;
}

/** Which session a revokeSession names: a live one or any the server ever showed (by pick), or no session. */
export type RevokeTarget =
  /**
   * Another live session of the caller's user (any live one when there is none), any live one, any the server
   * ever showed an id of (most of them ended).
   */
  | { kind: "mine" | "live" | "shown"; pick: number }
  /** The caller's own session (an id that names no session when it has none). */
  | { kind: "own" }
  | { kind: "unknown" }
  /** An id over 64 characters, refused as bad input. */
  | { kind: "overlong" };

const LOGIN = "mutation($user: String!, $agent: String) { login(userId: $user, userAgent: $agent) }";
const LOGOUT = "mutation { logout }";
const LISTING = "mySessions { id current createdAt lastSeenAt expiresAt userAgent }";
const REVOKE = "mutation($id: ID!) { revokeSession(id: $id) }";
const REVOKE_OTHERS = "mutation { revokeOtherSessions }";
/** An id of a session id's shape (22 characters) that names no session. */
const UNKNOWN_ID = "AAAAAAAAAAAAAAAAAAAAAA";
const OVERLONG_ID = "x".repeat(65);

/** A visitor logs in as a user through the application's `login`, then reads its session back. */
export class LoginCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly userId: string,
    readonly agent: Agent,
    readonly probe: Probe,
  ) {}

  check(): boolean {
    return true;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const nowMs = model.nowMs;
    const outcome = model.login(this.visitor, this.userId, this.agent.value);
    const { via, value } = this.agent;
    const variables = { user: realUserId(real, this.userId), agent: via === "argument" ? value : null };
    const headers: Record<string, string> = via === "header" ? { "user-agent": value } : {};
    const result = await request(real, this.visitor, "app", LOGIN, variables, headers);
    const divergences = new Divergences(String(this));
    const data = verifyUserAnswer(real, result, outcome, nowMs, divergences);
    if (data !== undefined) compareId(real, outcome.ref, (data.login as string | null) ?? null, divergences);
    compareJar(model, real, this.visitor, divergences);
    // The session as the login left it: its data (emptied for another user's), version, createdAt and expiry.
    const read: Operation = { kind: "read" };
    const readResult = await send(real, this.visitor, [read], this.probe, { nowMs: model.nowMs });
    const readOutcome = model.applyRequest(this.visitor, [read]);
    const then = divergences.scoped("then session: ");
    verifyAnswer(model, real, this.visitor, [read], this.probe, readResult, readOutcome, then);
    compareJar(model, real, this.visitor, then);
    divergences.throwIfAny(describeModel(model, this.visitor));
  }

  toString(): string {
    const { via, value } = this.agent;
    const agent = value.length > 16 ? `${value.slice(0, 4)}…(${value.length})` : value;
    return `v${this.visitor}.login(${JSON.stringify(this.userId)}, ${via} ${JSON.stringify(agent)}) [${describeProbe(this.probe)}]`;
  }
}

/** A visitor logs out through the application's `logout` (a flush). */
export class LogoutCommand implements SessionCommand {
  constructor(readonly visitor: number) {}

  check(): boolean {
    return true;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const nowMs = model.nowMs;
    const outcome = model.apply(this.visitor, { kind: "flush" });
    const result = await request(real, this.visitor, "app", LOGOUT);
    const divergences = new Divergences(String(this));
    compareCookie(real, result.res, outcome, undefined, nowMs, divergences);
    if (result.errors !== undefined) divergences.add(`unexpected errors: ${JSON.stringify(result.errors)}`);
    else divergences.expect("logout", result.data?.logout, true);
    compareJar(model, real, this.visitor, divergences);
    divergences.throwIfAny(describeModel(model, this.visitor));
  }

  toString(): string {
    return `v${this.visitor}.logout`;
  }
}

/** A visitor lists its user's sessions (and, through the application, asks who it is logged in as). */
export class MySessionsCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly endpoint: Endpoint,
    /** Runs only while the visitor is logged in (most do: a caller logged in as nobody is told nothing). */
    readonly onlyLoggedIn: boolean,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    return !this.onlyLoggedIn || loggedIn(model, this.visitor);
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const nowMs = model.nowMs;
    const outcome = model.mySessions(this.visitor);
    const query = this.endpoint === "app" ? `{ me ${LISTING} }` : `{ ${LISTING} }`;
    const result = await request(real, this.visitor, this.endpoint, query);
    const divergences = new Divergences(String(this));
    const data = verifyUserAnswer(real, result, outcome, nowMs, divergences);
    if (data !== undefined) {
      compareListing(real, outcome.answer, data.mySessions, divergences);
      const me = outcome.userId === null ? null : realUserId(real, outcome.userId);
      if (this.endpoint === "app") divergences.expect("me", data.me, me);
    }
    compareJar(model, real, this.visitor, divergences);
    divergences.throwIfAny(describeModel(model, this.visitor));
  }

  toString(): string {
    return `v${this.visitor}.mySessions@${this.endpoint}`;
  }
}

/** A visitor ends one session by its id: one of its user's, its own, another user's, a dead one or none. */
export class RevokeSessionCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly target: RevokeTarget,
    readonly endpoint: Endpoint,
    /** Runs only while the visitor is logged in (most do: a caller logged in as nobody is told nothing). */
    readonly onlyLoggedIn: boolean,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    return !this.onlyLoggedIn || loggedIn(model, this.visitor);
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const nowMs = model.nowMs;
    const target = resolveTarget(model, real, this.visitor, this.target);
    const id =
      typeof target === "number" ? real.idOf.get(target) : target === "overlong" ? OVERLONG_ID : UNKNOWN_ID;
    if (id === undefined) throw new Error(`the server never showed the id of key #${target}`);
    const outcome = model.revokeSession(this.visitor, target);
    const result = await request(real, this.visitor, this.endpoint, REVOKE, { id });
    const divergences = new Divergences(`${this} → ${typeof target === "number" ? `#${target}` : target}`);
    const data = verifyUserAnswer(real, result, outcome, nowMs, divergences);
    if (data !== undefined) divergences.expect("revokeSession", data.revokeSession, outcome.answer);
    compareJar(model, real, this.visitor, divergences);
    divergences.throwIfAny(describeModel(model, this.visitor));
  }

  toString(): string {
    const { target } = this;
    const what = "pick" in target ? `${target.kind} #${target.pick}` : target.kind;
    return `v${this.visitor}.revokeSession(${what})@${this.endpoint}`;
  }
}

/** A visitor ends every other session of its user. */
export class RevokeOtherSessionsCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly endpoint: Endpoint,
    /** Runs only while the visitor is logged in (most do: a caller logged in as nobody is told nothing). */
    readonly onlyLoggedIn: boolean,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    return !this.onlyLoggedIn || loggedIn(model, this.visitor);
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const nowMs = model.nowMs;
    const outcome = model.revokeOtherSessions(this.visitor);
    const result = await request(real, this.visitor, this.endpoint, REVOKE_OTHERS);
    const divergences = new Divergences(String(this));
    const data = verifyUserAnswer(real, result, outcome, nowMs, divergences);
    if (data !== undefined)
      divergences.expect("revokeOtherSessions", data.revokeOtherSessions, outcome.answer);
    compareJar(model, real, this.visitor, divergences);
    divergences.throwIfAny(describeModel(model, this.visitor));
  }

  toString(): string {
    return `v${this.visitor}.revokeOtherSessions@${this.endpoint}`;
  }
}

function loggedIn(model: Readonly<SessionModel>, visitor: number): boolean {
  return model.liveSession(visitor)?.userId !== undefined;
}

/** The ref a revoke names: one of the model's live sessions (of the visitor's user), or any the server showed. */
function resolveTarget(
  model: SessionModel,
  real: Real,
  visitor: number,
  target: RevokeTarget,
): number | "unknown" | "overlong" {
  const own = model.liveSession(visitor);
  if (target.kind === "own") return own?.ref ?? "unknown";
  if (target.kind === "unknown" || target.kind === "overlong") return target.kind;
  const live = model.liveRefs();
  const mine = own?.userId === undefined ? [] : model.liveRefs(own.userId).filter((ref) => ref !== own.ref);
  const refs =
    target.kind === "shown"
      ? [...real.idOf.keys()].sort((a, b) => a - b)
      : target.kind === "mine" && mine.length > 0
        ? mine
        : live;
  return refs.length === 0 ? "unknown" : (refs[target.pick % refs.length] as number);
}

/** Sends one request of `visitor` to an endpoint, counting it. */
function request(
  real: Real,
  visitor: number,
  endpoint: Endpoint,
  query: string,
  variables?: Record<string, unknown>,
  headers?: Record<string, string>,
): Promise<GraphQLResult> {
  real.counters.operations++;
  const client = endpoint === "app" ? appClientOf(real, visitor) : clientOf(real, visitor);
  return client.request(query, variables, headers);
}

/** A user operation's cookie and refusal against the model's outcome; its answer's fields when it has one. */
function verifyUserAnswer(
  real: Real,
  result: GraphQLResult,
  outcome: UserOutcome<unknown>,
  nowMs: number,
  divergences: Divergences,
): Record<string, unknown> | undefined {
  compareCookie(real, result.res, outcome, outcome.ref, nowMs, divergences);
  if (outcome.error !== undefined) {
    const codes = (result.errors ?? []).map((error) => error.extensions?.code);
    divergences.expect("error codes", codes, [outcome.error.code]);
    return undefined;
  }
  if (result.errors !== undefined) {
    divergences.add(`unexpected errors: ${JSON.stringify(result.errors)}`);
    return undefined;
  }
  return result.data ?? {};
}

/** One entry of `mySessions` as the server answers it. */
interface ShownSession {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string | null;
  userAgent: string | null;
}

/**
 * `mySessions` against the model's list: newest first by createdAt, and the same sessions with the same fields.
 * Sessions created at the same moment (the clock only moves when a run says so) may come in any order.
 */
function compareListing(
  real: Real,
  expected: readonly ListedSession[],
  actual: unknown,
  divergences: Divergences,
): void {
  if (!Array.isArray(actual)) {
    divergences.add(`mySessions: expected a list, got ${canonical(actual)}`);
    return;
  }
  const shown = actual as ShownSession[];
  const created = shown.map((session) => Date.parse(session.createdAt));
  if (created.some((ms, index) => index > 0 && ms > (created[index - 1] as number)))
    divergences.add(`mySessions: not newest first, createdAt ${canonical(shown.map((s) => s.createdAt))}`);
  // Ids as the refs the model knows them by, so that a report reads like the model.
  const refOf = new Map([...real.idOf].map(([ref, id]) => [id, `#${ref}`]));
  const got = shown.map((session) => ({
    session: refOf.get(session.id) ?? session.id,
    current: session.current,
    createdAt: Date.parse(session.createdAt),
    lastSeenAt: Date.parse(session.lastSeenAt),
    expiresAt: session.expiresAt === null ? null : Date.parse(session.expiresAt),
    userAgent: session.userAgent,
  }));
  const want = expected.map((session) => ({
    session: `#${session.ref}`,
    current: session.current,
    createdAt: session.createdAtMs,
    lastSeenAt: session.lastSeenAtMs,
    expiresAt: session.expiresAtMs,
    userAgent: session.userAgent,
  }));
  divergences.expect("mySessions (by createdAt, then session)", byCreation(got), byCreation(want));
}

function byCreation<T extends { session: string; createdAt: number }>(list: readonly T[]): T[] {
  return [...list].sort(
    (a, b) => b.createdAt - a.createdAt || (a.session < b.session ? -1 : a.session > b.session ? 1 : 0),
  );
}
