import { parseSetCookie, type SetCookie } from "cookie";
import fc from "fast-check";
import { setCookiesOf } from "../helpers/cookies";
import type { GraphQLClient, GraphQLResult, TestServer } from "../helpers/server";
import {
  type CookieEffect,
  type ExpectedView,
  type InvalidKind,
  type Json,
  keyFits,
  keysOf,
  type ModelConfig,
  type Operation,
  type Outcome,
  parallelizable,
  type RequestOutcome,
  type SessionModel,
  type StepOutcome,
  valueFits,
} from "./model";

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

/** The key a `session` selection probes with `get(key, default)` and `has(key)`. */
export interface Probe {
  key: string;
  default: Json | undefined;
}

type SessionCommand = fc.AsyncCommand<SessionModel, Real>;

// ---------------------------------------------------------------------------------------------------------------
// GraphQL documents

const FIELDS =
  "id data keys isEmpty expiresAt expiryAge expireAtBrowserClose version " +
  "probe: get(key: $probe, default: $probeDefault) probeHas: has(key: $probe)";
const PROBE_VARIABLES = "$probe: String!, $probeDefault: JSON";

/** The Session fields every answer is compared on. */
interface SessionFields {
  id: string | null;
  data: Record<string, Json>;
  keys: string[];
  isEmpty: boolean;
  expiresAt: string | null;
  expiryAge: number;
  expireAtBrowserClose: boolean;
  version: number;
  probe: Json;
  probeHas: boolean;
}

interface PopFields {
  found: boolean;
  value: Json;
  session: SessionFields;
}

const LONG_KEY = "k".repeat(257);

/** The request for an operation that must be refused, with no probe. */
const INVALID_REQUESTS: Record<InvalidKind, { query: string; variables?: Record<string, unknown> }> = {
  setEmptyKey: { query: 'mutation { setSession(key: "", value: 1) { version } }' },
  setLongKey: { query: `mutation { setSession(key: "${LONG_KEY}", value: 1) { version } }` },
  popEmptyKey: { query: 'mutation { popSession(key: "", default: 1) { found } }' },
  updateWithEmptyKey: {
    query: "mutation($values: JSONObject!) { updateSession(values: $values) { version } }",
    variables: { values: { a: "all-or-nothing", "": 1 } },
  },
  negativeExpiry: { query: "mutation { setSessionExpiry(seconds: -1) { version } }" },
  getEmptyKey: { query: '{ session { version get(key: "") } }' },
};

/** One top-level field of a request, under the alias `r<index>`, with its variable definitions and values. */
function fieldFor(
  operation: Operation,
  index: number,
): { definitions: string; field: string; variables: Record<string, unknown> } {
  const alias = `r${index}`;
  const name = (variable: string) => `${variable}${index}`;
  const simple = (field: string, args = "", definitions = "", variables: Record<string, unknown> = {}) => ({
    definitions,
    field: `${alias}: ${field}${args} { ${FIELDS} }`,
    variables,
  });
  switch (operation.kind) {
    case "read":
      return simple("session");
    case "set":
      return simple(
        "setSession",
        `(key: $${name("key")}, value: $${name("value")})`,
        `, $${name("key")}: String!, $${name("value")}: JSON!`,
        { [name("key")]: operation.key, [name("value")]: operation.value },
      );
    case "pop": {
      const withDefault = operation.default !== undefined;
      return {
        definitions: `, $${name("key")}: String!${withDefault ? `, $${name("default")}: JSON` : ""}`,
        field:
          `${alias}: popSession(key: $${name("key")}${withDefault ? `, default: $${name("default")}` : ""}) ` +
          `{ found value session { ${FIELDS} } }`,
        variables: {
          [name("key")]: operation.key,
          ...(withDefault ? { [name("default")]: operation.default } : {}),
        },
      };
    }
    case "update":
      return simple("updateSession", `(values: $${name("values")})`, `, $${name("values")}: JSONObject!`, {
        [name("values")]: Object.fromEntries(operation.values),
      });
    case "clear":
      return simple("clearSession");
    case "flush":
      return simple("flushSession");
    case "cycle":
      return simple("cycleSessionKey");
    case "setExpiry":
      if (operation.omitArgument) return simple("setSessionExpiry");
      return simple("setSessionExpiry", `(seconds: $${name("seconds")})`, `, $${name("seconds")}: Int`, {
        [name("seconds")]: operation.seconds,
      });
    case "invalid":
      throw new Error("a refused operation has a request of its own");
  }
}

/** The document and variables of one request: a query for a read, else a mutation with one field per operation. */
function requestFor(
  operations: readonly Operation[],
  probe: Probe,
): { query: string; variables: Record<string, unknown> } {
  const [first] = operations;
  if (first?.kind === "invalid") {
    const invalid = INVALID_REQUESTS[first.what];
    return { query: invalid.query, variables: invalid.variables ?? {} };
  }
  const fields = operations.map(fieldFor);
  const type = first?.kind === "read" ? "query" : "mutation";
  return {
    query:
      `${type}(${PROBE_VARIABLES}${fields.map((field) => field.definitions).join("")}) ` +
      `{ ${fields.map((field) => field.field).join(" ")} }`,
    variables: Object.assign(
      { probe: probe.key, probeDefault: probe.default ?? null },
      ...fields.map((field) => field.variables),
    ),
  };
}

/** The answer of the operation at `index` of a request. */
function answerAt(result: GraphQLResult, index: number): unknown {
  return (result.data as Record<string, unknown> | null | undefined)?.[`r${index}`];
}

async function send(
  real: Real,
  visitor: number,
  operations: readonly Operation[],
  probe: Probe,
): Promise<GraphQLResult> {
  const { query, variables } = requestFor(operations, probe);
  real.counters.operations += operations.length;
  return clientOf(real, visitor).request(query, variables);
}

function clientOf(real: Real, visitor: number): GraphQLClient {
  const client = real.visitors[visitor];
  if (client === undefined) throw new Error(`no visitor ${visitor}`);
  return client;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing answers with the model

/** Collects every difference of one step, then fails with all of them at once. */
class Divergences {
  constructor(
    private readonly step: string,
    private readonly found: string[] = [],
    private readonly prefix = "",
  ) {}

  /** The same collection, each problem prefixed (with the field it concerns). */
  scoped(prefix: string): Divergences {
    return new Divergences(this.step, this.found, `${this.prefix}${prefix}`);
  }

  expect(what: string, actual: unknown, expected: unknown): void {
    const a = canonical(actual);
    const e = canonical(expected);
    if (a !== e) this.add(`${what}: expected ${e}, got ${a}`);
  }

  add(problem: string): void {
    this.found.push(`${this.prefix}${problem}`);
  }

  throwIfAny(context: () => string): void {
    if (this.found.length === 0) return;
    throw new Error(`divergence at ${this.step}:\n  ${this.found.join("\n  ")}\n${context()}`);
  }
}

/**
 * JSON text with object keys sorted, so that two values compare equal whatever their key order (the contract
 * promises no order of `data`, `keys` or nested objects). Reads own properties only, so `__proto__` is a key.
 */
export function canonical(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(",")}}`;
}

function compareSession(
  real: Real,
  expected: ExpectedView,
  actual: SessionFields | undefined,
  probe: Probe,
  divergences: Divergences,
): void {
  if (actual === undefined || actual === null) {
    divergences.add("the answer has no session");
    return;
  }
  compareId(real, expected.ref, actual.id, divergences);
  const data = Object.fromEntries(expected.data);
  divergences.expect("data", actual.data, data);
  divergences.expect("keys", [...actual.keys].sort(), [...expected.data.keys()].sort());
  divergences.expect("isEmpty", actual.isEmpty, expected.isEmpty);
  divergences.expect("version", actual.version, expected.version);
  divergences.expect("expireAtBrowserClose", actual.expireAtBrowserClose, expected.expireAtBrowserClose);
  divergences.expect("expiryAge", actual.expiryAge, expected.expiryAge);
  divergences.expect(
    "expiresAt",
    actual.expiresAt === null ? null : Date.parse(actual.expiresAt),
    expected.expiresAtMs,
  );
  const has = expected.data.has(probe.key);
  divergences.expect(
    `get(${JSON.stringify(probe.key)}, ${canonical(probe.default)})`,
    actual.probe,
    has ? expected.data.get(probe.key) : (probe.default ?? null),
  );
  divergences.expect(`has(${JSON.stringify(probe.key)})`, actual.probeHas, has);
}

/** `id` is null exactly when nothing is stored, the same for one key, and different for different keys. */
function compareId(real: Real, ref: number | undefined, id: string | null, divergences: Divergences): void {
  if (ref === undefined) {
    if (id !== null) divergences.add(`id: expected null (nothing stored), got ${JSON.stringify(id)}`);
    return;
  }
  const known = real.idOf.get(ref);
  if (known !== undefined) {
    if (id !== known)
      divergences.add(`id: expected the same id as before (${known}), got ${JSON.stringify(id)}`);
    return;
  }
  if (typeof id !== "string" || id === "") {
    divergences.add(`id: expected the id of a stored session, got ${JSON.stringify(id)}`);
    return;
  }
  for (const [otherRef, otherId] of real.idOf) {
    if (otherId === id)
      divergences.add(`id: expected a new id (new key #${ref}), got that of key #${otherRef}`);
  }
  real.idOf.set(ref, id);
}

/** What the response did to the session cookie, with the parsed Set-Cookie when there was one. */
function cookieEffectOf(
  real: Real,
  res: Response,
  divergences: Divergences,
): { effect: CookieEffect; cookie?: SetCookie } {
  const cookies = setCookiesOf(res)
    .map((header) => parseSetCookie(header))
    .filter((cookie) => cookie.name === real.cookie.name);
  if (cookies.length > 1) divergences.add(`${cookies.length} Set-Cookie headers for ${real.cookie.name}`);
  const cookie = cookies[0];
  if (cookie === undefined) return { effect: "untouched" };
  if (cookie.maxAge === 0 || cookie.value === "" || cookie.value === undefined)
    return { effect: "expired", cookie };
  return { effect: "set", cookie };
}

function compareCookie(
  real: Real,
  res: Response,
  outcome: Pick<RequestOutcome, "cookie" | "cookieMaxAge">,
  ref: number | undefined,
  nowMs: number,
  divergences: Divergences,
  allowed: readonly CookieEffect[] = [outcome.cookie],
): void {
  const vary = (res.headers.get("vary") ?? "").toLowerCase().split(/\s*,\s*/);
  if (!vary.includes("cookie"))
    divergences.add(`Vary: expected to include Cookie, got ${res.headers.get("vary")}`);
  const { effect, cookie } = cookieEffectOf(real, res, divergences);
  if (!allowed.includes(effect)) {
    divergences.add(
      `cookie: expected ${allowed.join(" or ")}, got ${effect} (${setCookiesOf(res).join(" | ")})`,
    );
    return;
  }
  if (cookie === undefined) return;
  // The expiring cookie has the same attributes as the live one.
  const rules = real.cookie;
  divergences.expect(
    "cookie attributes (Path, Domain, HttpOnly, Secure, SameSite)",
    [
      cookie.path,
      cookie.domain,
      cookie.httpOnly === true,
      cookie.secure === true,
      String(cookie.sameSite).toLowerCase(),
    ],
    [rules.path, rules.domain, rules.httpOnly, rules.secure, rules.sameSite.toLowerCase()],
  );
  if (effect === "expired") {
    divergences.expect(
      "expired cookie",
      [cookie.value, cookie.maxAge, cookie.expires?.getTime()],
      ["", 0, 0],
    );
    return;
  }
  if (outcome.cookie === "set" && ref !== undefined) {
    const maxAge = outcome.cookieMaxAge;
    if (maxAge === undefined) {
      // Not known (a parallel step that changes the expiry policy): only the value is checked.
    } else if (maxAge === null) {
      divergences.expect(
        "browser-session cookie (Max-Age, Expires)",
        [cookie.maxAge, cookie.expires],
        [undefined, undefined],
      );
    } else {
      divergences.expect("cookie Max-Age", cookie.maxAge, maxAge);
      const expires = cookie.expires?.getTime();
      const due = nowMs + maxAge * 1000;
      if (expires === undefined || expires > due || expires <= due - 1000) {
        divergences.add(
          `cookie Expires: expected ${new Date(due).toUTCString()}, got ${cookie.expires?.toUTCString()}`,
        );
      }
    }
    const value = cookie.value as string;
    const known = real.cookieOf.get(ref);
    if (known === undefined) {
      for (const [otherRef, otherValue] of real.cookieOf) {
        if (otherValue === value)
          divergences.add(`cookie: a new key (#${ref}) got the cookie of key #${otherRef}`);
      }
    }
    real.cookieOf.set(ref, value);
  }
}

/** The visitor's real jar holds a session cookie exactly when the model says it does. */
function compareJar(model: SessionModel, real: Real, visitor: number, divergences: Divergences): void {
  const held = clientOf(real, visitor).jar.get(real.cookie.name) !== undefined;
  const expected = model.jars[visitor] !== undefined;
  if (held !== expected)
    divergences.add(`jar: expected ${expected ? "a" : "no"} session cookie, has ${held ? "one" : "none"}`);
}

function describeModel(model: SessionModel, visitor: number): () => string {
  return () => {
    const live = model.liveSession(visitor);
    const session = live ? `key #${live.ref} ${canonical(Object.fromEntries(live.data))}` : "none";
    return `  model: visitor ${visitor} holds ${String(model.jars[visitor])}, live session ${session}`;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Commands

function describeOperation(operation: Operation): string {
  switch (operation.kind) {
    case "read":
      return "session";
    case "set":
      return `setSession(${JSON.stringify(operation.key)}, ${JSON.stringify(operation.value)})`;
    case "pop":
      return `popSession(${JSON.stringify(operation.key)}${operation.default === undefined ? "" : `, default: ${JSON.stringify(operation.default)}`})`;
    case "update":
      return `updateSession(${JSON.stringify(Object.fromEntries(operation.values))})`;
    case "clear":
      return "clearSession";
    case "flush":
      return "flushSession";
    case "cycle":
      return "cycleSessionKey";
    case "setExpiry":
      return operation.omitArgument ? "setSessionExpiry()" : `setSessionExpiry(${operation.seconds})`;
    case "invalid":
      return `invalid:${operation.what}`;
  }
}

function describeProbe(probe: Probe): string {
  return `probe ${JSON.stringify(probe.key)}${probe.default === undefined ? "" : `/${JSON.stringify(probe.default)}`}`;
}

/**
 * One request of one visitor, compared field by field and cookie by cookie with the model: a single operation,
 * or several mutation fields that GraphQL runs one after the other on the same session.
 */
export class RequestCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly operations: readonly Operation[],
    readonly probe: Probe,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    // GraphQL stops a mutation's serial fields at a refused one; the model only sends fields it accepts together.
    return this.operations.length === 1 || model.acceptsAll(this.visitor, this.operations);
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const result = await send(real, this.visitor, this.operations, this.probe);
    const outcome = model.applyRequest(this.visitor, this.operations);
    const divergences = new Divergences(this.toString());
    verifyAnswer(model, real, this.visitor, this.operations, this.probe, result, outcome, divergences);
    compareJar(model, real, this.visitor, divergences);
    divergences.throwIfAny(describeModel(model, this.visitor));
  }

  toString(): string {
    const [only] = this.operations;
    const what =
      this.operations.length === 1 && only !== undefined
        ? describeOperation(only)
        : `mutation{${this.operations.map(describeOperation).join("; ")}}`;
    return `v${this.visitor}.${what} [${describeProbe(this.probe)}]`;
  }
}

function verifyAnswer(
  model: SessionModel,
  real: Real,
  visitor: number,
  operations: readonly Operation[],
  probe: Probe,
  result: GraphQLResult,
  outcome: RequestOutcome,
  divergences: Divergences,
): void {
  const ref = model.jars[visitor];
  compareCookie(
    real,
    result.res,
    outcome,
    typeof ref === "number" ? ref : undefined,
    model.nowMs,
    divergences,
  );
  if (outcome.error !== undefined) {
    const errors = result.errors ?? [];
    divergences.expect(
      "error codes",
      errors.map((error) => error.extensions?.code),
      [outcome.error.code],
    );
    // "Messages for bad input name both the limit's variable and its number."
    const message = errors[0]?.message ?? "";
    const { limits } = model.config;
    const named = outcome.error.limits;
    if (
      named.length > 0 &&
      !named.some((name) => message.includes(name) && message.includes(String(limits[name])))
    ) {
      divergences.add(
        `error message: expected to name ${named.join(" or ")} and its number, got ${JSON.stringify(message)}`,
      );
    }
    return;
  }
  if (result.errors !== undefined) {
    divergences.add(`unexpected errors: ${JSON.stringify(result.errors)}`);
    return;
  }
  operations.forEach((operation, index) => {
    const step = outcome.steps[index] as StepOutcome;
    const answer = answerAt(result, index);
    const where = operations.length === 1 ? "" : `field ${index} (${describeOperation(operation)}): `;
    const scoped = divergences.scoped(where);
    if (operation.kind === "pop") {
      const popped = answer as PopFields | undefined;
      scoped.expect(
        "popSession found/value",
        [popped?.found, popped?.value],
        [step.popped?.found, step.popped?.value],
      );
      compareSession(real, step.view as ExpectedView, popped?.session, probe, scoped);
    } else {
      compareSession(real, step.view as ExpectedView, answer as SessionFields | undefined, probe, scoped);
    }
  });
}

/**
 * 2–4 operations of one visitor sent at once on distinct keys of its live session. Each saving one must rise the
 * version by exactly one (so together they show base+1 … base+n), and a read afterwards must match the model.
 */
export class ParallelCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly operations: readonly Operation[],
    readonly probe: Probe,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    const live = model.liveSession(this.visitor);
    return live !== undefined && live.data.size > 0;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const live = model.liveSession(this.visitor);
    if (live === undefined) throw new Error("ParallelCommand ran without a live session");
    const operations = parallelizable(this.operations, live.data, model.config.limits);
    const base = live.version;
    const divergences = new Divergences(`${this} as [${operations.map(describeOperation).join(", ")}]`);
    const results = await Promise.all(
      operations.map((operation) => send(real, this.visitor, [operation], this.probe)),
    );
    const initial = live.data;
    const outcomes = model.applyParallel(this.visitor, operations);
    const final = model.liveSession(this.visitor)?.data ?? new Map<string, Json>();
    const saving = outcomes.filter((outcome) => outcome.savedChange).length;
    const changesExpiry = operations.some((operation) => operation.kind === "setExpiry");
    const savedVersions: number[] = [];
    results.forEach((result, index) => {
      const operation = operations[index] as Operation;
      const outcome = outcomes[index] as Outcome;
      const what = describeOperation(operation);
      if (result.errors !== undefined) {
        divergences.add(`${what}: unexpected errors ${JSON.stringify(result.errors)}`);
        return;
      }
      // A save-every-request refresh of a non-saving operation races the others' saves: it may lose.
      const allowed: CookieEffect[] = outcome.savedChange
        ? ["set"]
        : model.config.saveEveryRequest
          ? ["set", "untouched"]
          : ["untouched"];
      // With an expiry change among them, which policy a cookie was cut under depends on the interleaving.
      const cookieOutcome = changesExpiry ? { ...outcome, cookieMaxAge: undefined } : outcome;
      compareCookie(real, result.res, cookieOutcome, live.ref, model.nowMs, divergences, allowed);
      const answer = answerAt(result, 0) as SessionFields | PopFields | undefined;
      const session = (operation.kind === "pop" ? (answer as PopFields | undefined)?.session : answer) as
        | SessionFields
        | undefined;
      if (session === undefined || session === null) {
        divergences.add(`${what}: the answer has no session`);
        return;
      }
      compareId(real, live.ref, session.id, divergences);
      if (outcome.savedChange) savedVersions.push(session.version);
      checkSnapshot(session, { initial, final, operations, outcomes, base }, divergences.scoped(`${what}: `));
      switch (operation.kind) {
        case "set":
          divergences.expect(`${what}: its own entry`, session.data[operation.key], operation.value);
          break;
        case "update":
          for (const [key, value] of operation.values)
            divergences.expect(`${what}: entry ${key}`, session.data[key], value);
          break;
        case "pop": {
          const popped = answer as PopFields;
          divergences.expect(
            `${what}: found/value`,
            [popped.found, popped.value],
            [outcome.popped?.found, outcome.popped?.value],
          );
          divergences.expect(
            `${what}: has its key afterwards`,
            Object.hasOwn(session.data, operation.key),
            false,
          );
          break;
        }
        default:
          break;
      }
    });
    divergences.expect(
      "versions of the saving operations",
      savedVersions.sort((a, b) => a - b),
      Array.from({ length: saving }, (_, index) => base + index + 1),
    );
    // Then one read, compared with everything the model knows.
    const read: Operation = { kind: "read" };
    const result = await send(real, this.visitor, [read], this.probe);
    const outcome = model.applyRequest(this.visitor, [read]);
    verifyAnswer(model, real, this.visitor, [read], this.probe, result, outcome, divergences);
    compareJar(model, real, this.visitor, divergences);
    divergences.throwIfAny(describeModel(model, this.visitor));
  }

  toString(): string {
    return `v${this.visitor}.parallel[${this.operations.map(describeOperation).join(", ")}] [${describeProbe(this.probe)}]`;
  }
}

/** What a parallel step started from and ended with. */
interface ParallelStep {
  initial: ReadonlyMap<string, Json>;
  final: ReadonlyMap<string, Json>;
  operations: readonly Operation[];
  outcomes: readonly Outcome[];
  base: number;
}

/**
 * An answer given during a parallel step shows a state the session really had: every entry at its value before
 * or after the step (no torn entry, no half-applied update), and a version of base + the number of saving
 * operations whose effect it shows (an operation that leaves no visible trace, such as setting a value that was
 * already there, may count either way).
 */
function checkSnapshot(session: SessionFields, step: ParallelStep, divergences: Divergences): void {
  const stateIn = (data: ReadonlyMap<string, Json>, key: string) =>
    data.has(key) ? canonical(data.get(key)) : "(absent)";
  const shown = (key: string) =>
    Object.hasOwn(session.data, key) ? canonical(session.data[key]) : "(absent)";
  const keys = new Set([...step.initial.keys(), ...step.final.keys(), ...Object.keys(session.data)]);
  for (const key of keys) {
    const [before, after, now] = [stateIn(step.initial, key), stateIn(step.final, key), shown(key)];
    if (now !== before && now !== after)
      divergences.add(`entry ${key} is ${now}, neither ${before} (before) nor ${after} (after)`);
  }
  divergences.expect("keys", [...session.keys].sort(), Object.keys(session.data).sort());
  let visible = 0;
  let unknown = 0;
  step.operations.forEach((operation, index) => {
    if (!step.outcomes[index]?.savedChange) return;
    const seen = new Set(
      keysOf(operation).map((key) => {
        const [before, after] = [stateIn(step.initial, key), stateIn(step.final, key)];
        if (before === after) return "either";
        return shown(key) === after ? "after" : "before";
      }),
    );
    if (seen.has("after") && seen.has("before"))
      divergences.add(`${describeOperation(operation)} shows half applied`);
    if (seen.has("after")) visible++;
    else if (!seen.has("before")) unknown++;
  });
  const applied = session.version - step.base;
  if (applied < visible || applied > visible + unknown) {
    divergences.add(
      `version ${session.version}: shows ${visible} saved operations (and ${unknown} that may or may not be) over version ${step.base}`,
    );
  }
}

/** Moves the server's clock (and the model's) on by whole seconds. */
export class AdvanceCommand implements SessionCommand {
  constructor(readonly seconds: number) {}

  check(): boolean {
    return true;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    advanceBoth(model, real, this.seconds);
  }

  toString(): string {
    return `advance(${this.seconds}s)`;
  }
}

/** Moves the clock to just before, exactly to, or just past the expiry of the visitor's session. */
export class AdvanceToExpiryCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly deltaSeconds: -1 | 0 | 1,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    return model.liveSession(this.visitor) !== undefined;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const live = model.liveSession(this.visitor);
    if (live === undefined) throw new Error("AdvanceToExpiryCommand ran without a live session");
    const seconds = (live.expiresAtMs - model.nowMs) / 1000 + this.deltaSeconds;
    if (seconds > 0) advanceBoth(model, real, seconds);
  }

  toString(): string {
    const delta = this.deltaSeconds === 0 ? "" : this.deltaSeconds > 0 ? "+1s" : "-1s";
    return `advanceToExpiryOf(v${this.visitor})${delta}`;
  }
}

function advanceBoth(model: SessionModel, real: Real, seconds: number): void {
  if (!Number.isInteger(seconds)) throw new Error(`the clock only moves by whole seconds, not ${seconds}`);
  model.advance(seconds);
  real.server.clock.advance(seconds);
  if (real.server.clock.now() !== model.nowMs)
    throw new Error("the model's clock and the server's drifted apart");
}

/** The visitor presents a cookie the server issued earlier in this run: another visitor's, or an old one. */
export class PresentCookieCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly pick: number,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    return model.issued.length > 0;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const ref = model.issued[this.pick % model.issued.length] as number;
    const value = real.cookieOf.get(ref);
    if (value === undefined) throw new Error(`the server never set a cookie for key #${ref}`);
    clientOf(real, this.visitor).jar.set(real.cookie.name, value);
    model.presentCookie(this.visitor, ref);
  }

  toString(): string {
    return `v${this.visitor}.presentIssuedCookie(#${this.pick})`;
  }
}

/** How a forged cookie is made. */
export type Forgery = "tamperedSignature" | "unsigned" | "garbage";

/** The visitor presents a cookie value the server never issued. */
export class ForgeCookieCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly forgery: Forgery,
    readonly pick: number,
  ) {}

  check(): boolean {
    return true;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const issued = [...real.cookieOf.values()];
    const original = issued[this.pick % Math.max(1, issued.length)];
    let value = "not-a-session-cookie";
    if (original !== undefined && this.forgery === "tamperedSignature") {
      value = `${original.slice(0, -1)}${original.endsWith("A") ? "B" : "A"}`;
    } else if (original !== undefined && this.forgery === "unsigned") {
      value = original.slice(0, original.lastIndexOf("."));
    }
    clientOf(real, this.visitor).jar.set(real.cookie.name, value);
    model.presentForgedCookie(this.visitor);
  }

  toString(): string {
    return `v${this.visitor}.forgeCookie(${this.forgery}, #${this.pick})`;
  }
}

/** The visitor's cookies are cleared (a new browser profile). */
export class DropCookieCommand implements SessionCommand {
  constructor(readonly visitor: number) {}

  check(): boolean {
    return true;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    real.visitors[this.visitor] = real.server.client();
    model.dropCookie(this.visitor);
  }

  toString(): string {
    return `v${this.visitor}.clearCookies`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries

/** Session keys: a small alphabet so that operations collide, with a few unusual (but ordinary) keys. */
export const keyArbitrary: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom("a", "b", "c"), weight: 8 },
  { arbitrary: fc.constantFrom("_d", "ü", "__proto__"), weight: 2 },
);

/**
 * Keys inside JSON variables (updateSession's values, objects in values). Without `__proto__`: the server's body
 * parser refuses any JSON body holding that key with a bare HTTP 400 (see divergences.test.ts), so it is only
 * exercised where it travels as a String argument.
 */
export const jsonKeyArbitrary: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom("a", "b", "c"), weight: 8 },
  { arbitrary: fc.constantFrom("_d", "ü", "constructor", "__proto__"), weight: 2 },
);

const textArbitrary = fc.string({ unit: fc.constantFrom("x", "y", "é", "😀", " ", '"', "\\"), maxLength: 4 });

const scalarArbitrary: fc.Arbitrary<Json> = fc.oneof(
  { arbitrary: fc.integer({ min: -3, max: 1000 }), weight: 4 },
  { arbitrary: textArbitrary, weight: 4 },
  { arbitrary: fc.boolean(), weight: 2 },
  { arbitrary: fc.constant(null), weight: 2 },
  { arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }), weight: 1 },
);

/** A JSON object built with defineProperty semantics, so `__proto__` stays an own key. */
function objectOf(values: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return fc
    .uniqueArray(fc.tuple(jsonKeyArbitrary, values), { maxLength: 3, selector: ([key]) => key })
    .map((entries) => Object.fromEntries(entries) as Json);
}

const shallowArbitrary: fc.Arbitrary<Json> = fc.oneof(
  fc.array(scalarArbitrary, { maxLength: 3 }),
  objectOf(scalarArbitrary),
);

/** Small JSON values, nested at most three levels. */
export const valueArbitrary: fc.Arbitrary<Json> = fc.oneof(
  { arbitrary: scalarArbitrary, weight: 10 },
  { arbitrary: shallowArbitrary, weight: 4 },
  {
    arbitrary: fc.oneof(fc.array(shallowArbitrary, { maxLength: 2 }), objectOf(shallowArbitrary)),
    weight: 2,
  },
  {
    arbitrary: fc.array(fc.array(shallowArbitrary, { maxLength: 2 }), { minLength: 1, maxLength: 2 }),
    weight: 1,
  },
);

/** setSession takes `JSON!`: anything but null at the top. */
const storableArbitrary = valueArbitrary.filter((value) => value !== null);

function operationArbitraries(config: ModelConfig) {
  const age = config.cookieAgeSeconds;
  const { limits } = config;
  // Defaults and probe keys stay within the limits: the contract does not say whether defaults are checked, and a
  // refused probe would refuse every request.
  const defaultValue = fc.option(
    valueArbitrary.filter((value) => valueFits(limits, value)),
    { nil: undefined },
  );
  const probe: fc.Arbitrary<Probe> = fc.record({
    key: keyArbitrary.filter((key) => keyFits(limits, key)),
    default: defaultValue,
  });
  const set = fc.record({ kind: fc.constant("set" as const), key: keyArbitrary, value: storableArbitrary });
  const pop = fc.record({
    kind: fc.constant("pop" as const),
    key: keyArbitrary,
    default: defaultValue,
  });
  const update = (minLength: number) =>
    fc.record({
      kind: fc.constant("update" as const),
      values: fc.uniqueArray(fc.tuple(jsonKeyArbitrary, valueArbitrary), {
        minLength,
        maxLength: 3,
        selector: ([key]) => key,
      }),
    });
  const setExpiry = fc
    .record({
      kind: fc.constant("setExpiry" as const),
      seconds: fc.constantFrom(null, 0, 1, 2, 60, Math.max(1, age - 1), age, age + 1, 3600, 2_147_483_647),
      omitArgument: fc.boolean(),
    })
    .map((operation) => (operation.seconds === null ? operation : { ...operation, omitArgument: false }));
  const simple = (kind: "read" | "clear" | "flush" | "cycle") => fc.constant({ kind } as Operation);
  const invalid = fc.record({
    kind: fc.constant("invalid" as const),
    what: fc.constantFrom<InvalidKind>(
      "setEmptyKey",
      "setLongKey",
      "popEmptyKey",
      "updateWithEmptyKey",
      "negativeExpiry",
      "getEmptyKey",
    ),
  });
  const any: fc.Arbitrary<Operation> = fc.oneof(
    { arbitrary: set, weight: 6 },
    { arbitrary: simple("read"), weight: 3 },
    { arbitrary: pop, weight: 4 },
    { arbitrary: update(0), weight: 2 },
    { arbitrary: simple("clear"), weight: 1 },
    { arbitrary: simple("flush"), weight: 1 },
    { arbitrary: simple("cycle"), weight: 1 },
    { arbitrary: setExpiry, weight: 2 },
    { arbitrary: invalid, weight: 1 },
  );
  const parallel: fc.Arbitrary<Operation> = fc.oneof(
    { arbitrary: simple("read"), weight: 2 },
    { arbitrary: set, weight: 4 },
    { arbitrary: pop, weight: 3 },
    { arbitrary: update(1), weight: 2 },
    { arbitrary: setExpiry, weight: 1 },
  );
  // Fields of one mutation request: any mutation but a refused one (whose error would stop the rest).
  const mutation: fc.Arbitrary<Operation> = any.filter(
    (operation) => operation.kind !== "read" && operation.kind !== "invalid",
  );
  return { any, parallel, mutation, probe };
}

/** Every command a run draws from, weighted towards plain operations. */
export function sessionCommands(
  config: ModelConfig,
  visitors: number,
  maxCommands: number,
  /** The `replayPath` of a counterexample, with the seed and path of its failure: replays exactly those commands. */
  replayPath?: string,
): fc.Arbitrary<Iterable<SessionCommand>> {
  const age = config.cookieAgeSeconds;
  const visitor = fc.integer({ min: 0, max: visitors - 1 });
  const operations = operationArbitraries(config);
  const command: fc.Arbitrary<SessionCommand> = fc.oneof(
    {
      arbitrary: fc
        .tuple(visitor, operations.any, operations.probe)
        .map(([who, operation, probe]) => new RequestCommand(who, [operation], probe)),
      weight: 20,
    },
    {
      arbitrary: fc
        .tuple(visitor, fc.array(operations.mutation, { minLength: 2, maxLength: 3 }), operations.probe)
        .map(([who, fields, probe]) => new RequestCommand(who, fields, probe)),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(visitor, fc.array(operations.parallel, { minLength: 2, maxLength: 4 }), operations.probe)
        .map(([who, parallel, probe]) => new ParallelCommand(who, parallel, probe)),
      weight: 3,
    },
    {
      arbitrary: fc
        .oneof(
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: age + 10 }),
          fc.constantFrom(Math.max(1, age - 1), age, age + 1),
        )
        .map((seconds) => new AdvanceCommand(seconds)),
      weight: 3,
    },
    {
      arbitrary: fc
        .tuple(visitor, fc.constantFrom<-1 | 0 | 1>(-1, 0, 1))
        .map(([who, delta]) => new AdvanceToExpiryCommand(who, delta)),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(visitor, fc.nat(50)).map(([who, pick]) => new PresentCookieCommand(who, pick)),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(visitor, fc.constantFrom<Forgery>("tamperedSignature", "unsigned", "garbage"), fc.nat(50))
        .map(([who, forgery, pick]) => new ForgeCookieCommand(who, forgery, pick)),
      weight: 1,
    },
    { arbitrary: visitor.map((who) => new DropCookieCommand(who)), weight: 1 },
  );
  return fc.commands([command], {
    maxCommands,
    size: "max",
    ...(replayPath === undefined ? {} : { replayPath }),
  });
}
