/** Comparing the server's answers and cookies with what the model says, collecting every difference. */
import { parseSetCookie, type SetCookie } from "cookie";
import { setCookiesOf } from "../helpers/cookies";
import type { GraphQLResult } from "../helpers/server";
import { answerAt, type LookupFields, type Probe, type SessionFields, sessionOf } from "./documents";
import type { CookieEffect, ExpectedView, RequestOutcome, SessionModel, StepOutcome } from "./model";
import type { Operation } from "./operations";
import { clientOf, type Real } from "./real";

/** Collects every difference of one step, then fails with all of them at once. */
export class Divergences {
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

/** A DateTimeISO field as ms since the epoch (null stays null; anything unparsable shows as itself). */
function instant(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return text;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : ms;
}

/** Every field of a Session answer against the model's view of it. */
export function compareSession(
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
  divergences.expect("expiresAt", instant(actual.expiresAt), expected.expiresAtMs);
  divergences.expect("createdAt", instant(actual.createdAt), expected.createdAtMs);
  const has = expected.data.has(probe.key);
  const key = JSON.stringify(probe.key);
  divergences.expect(
    `get(${key}, ${canonical(probe.default)})`,
    actual.probe,
    has ? expected.data.get(probe.key) : (probe.default ?? null),
  );
  divergences.expect(`has(${key})`, actual.probeHas, has);
  divergences.expect(
    `keyExpiresAt(${key})`,
    instant(actual.probeExpiresAt),
    expected.entryExpiresAtMs.get(probe.key) ?? null,
  );
}

/** `id` is null exactly when nothing is stored, the same for one key, and different for different keys. */
export function compareId(
  real: Real,
  ref: number | undefined,
  id: string | null,
  divergences: Divergences,
): void {
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

/**
 * The response's Vary (when the operation touched the session) and Set-Cookie against the model: the effect,
 * the attributes, Max-Age and Expires, and a new key's cookie value never being an old one's.
 */
export function compareCookie(
  real: Real,
  res: Response,
  outcome: Pick<RequestOutcome, "cookie" | "cookieMaxAge" | "touched">,
  ref: number | undefined,
  nowMs: number,
  divergences: Divergences,
  allowed: readonly CookieEffect[] = [outcome.cookie],
): void {
  const vary = (res.headers.get("vary") ?? "").toLowerCase().split(/\s*,\s*/);
  if (outcome.touched && !vary.includes("cookie"))
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
    compareCookieAge(cookie, outcome.cookieMaxAge, nowMs, divergences);
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

/** Max-Age as the model says, and Expires that many seconds from now (HTTP dates drop the milliseconds). */
function compareCookieAge(
  cookie: SetCookie,
  maxAge: number | null | undefined,
  nowMs: number,
  divergences: Divergences,
): void {
  // Not known (a parallel step that changes the expiry policy): only the value is checked.
  if (maxAge === undefined) return;
  if (maxAge === null) {
    divergences.expect(
      "browser-session cookie (Max-Age, Expires)",
      [cookie.maxAge, cookie.expires],
      [undefined, undefined],
    );
    return;
  }
  divergences.expect("cookie Max-Age", cookie.maxAge, maxAge);
  const expires = cookie.expires?.getTime();
  const due = nowMs + maxAge * 1000;
  if (expires === undefined || expires > due || expires <= due - 1000) {
    divergences.add(
      `cookie Expires: expected ${new Date(due).toUTCString()}, got ${cookie.expires?.toUTCString()}`,
    );
  }
}

/** The visitor's real jar holds a session cookie exactly when the model says it does. */
export function compareJar(model: SessionModel, real: Real, visitor: number, divergences: Divergences): void {
  const held = clientOf(real, visitor).jar.get(real.cookie.name) !== undefined;
  const expected = model.jars[visitor] !== undefined;
  if (held !== expected)
    divergences.add(`jar: expected ${expected ? "a" : "no"} session cookie, has ${held ? "one" : "none"}`);
}

/** What the model holds for the visitor, for a failure report. */
export function describeModel(model: SessionModel, visitor: number): () => string {
  return () => {
    const live = model.liveSession(visitor);
    const session = live
      ? `key #${live.ref} v${live.version}${live.userId === undefined ? "" : ` of ${JSON.stringify(live.userId)}`} ${canonical(Object.fromEntries(live.data))}` +
        ` expiring entries ${canonical(Object.fromEntries(live.entryExpiresAtMs))}, ends ${live.expiresAtMs}`
      : "none";
    return `  model: visitor ${visitor} holds ${String(model.jars[visitor])}, live session ${session}, now ${model.nowMs}`;
  };
}

/** An operation as a failure report shows it. */
export function describeOperation(operation: Operation): string {
  const guard =
    "ifVersion" in operation && operation.ifVersion !== undefined ? operation.ifVersion : undefined;
  const guarded = (text: string) => (guard === undefined ? text : `${text}{ifVersion: ${guard}}`);
  const expiresIn = (seconds: number | undefined) => (seconds === undefined ? "" : `, expiresIn: ${seconds}`);
  switch (operation.kind) {
    case "read":
      return "session";
    case "set":
      return guarded(
        `setSession(${JSON.stringify(operation.key)}, ${JSON.stringify(operation.value)}${expiresIn(operation.expiresIn)})`,
      );
    case "setDefault":
      return guarded(
        `setSessionDefault(${JSON.stringify(operation.key)}, ${JSON.stringify(operation.value)}${expiresIn(operation.expiresIn)})`,
      );
    case "pop":
      return guarded(
        `popSession(${JSON.stringify(operation.key)}${operation.default === undefined ? "" : `, default: ${JSON.stringify(operation.default)}`})`,
      );
    case "update":
      return guarded(`updateSession(${JSON.stringify(Object.fromEntries(operation.values))})`);
    case "clear":
      return guarded("clearSession");
    case "flush":
      return guarded("flushSession");
    case "cycle":
      return guarded("cycleSessionKey");
    case "setExpiry":
      return guarded(
        operation.omitArgument ? "setSessionExpiry()" : `setSessionExpiry(${operation.seconds})`,
      );
    case "setExpiryAt":
      return guarded(`setSessionExpiry(at: now+${operation.inSeconds}s)`);
    case "invalid":
      return `invalid:${operation.what}`;
  }
}

/** A probe as a failure report shows it. */
export function describeProbe(probe: Probe): string {
  return `probe ${JSON.stringify(probe.key)}${probe.default === undefined ? "" : `/${JSON.stringify(probe.default)}`}`;
}

/** One request's answer, field by field, and its cookie against the model's outcome. */
export function verifyAnswer(
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
    compareError(model, result, outcome.error, divergences);
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
    if (operation.kind === "pop" || operation.kind === "setDefault") {
      const lookup = answer as LookupFields | undefined;
      scoped.expect(
        `${operation.kind === "pop" ? "popSession" : "setSessionDefault"} found/value`,
        [lookup?.found, lookup?.value],
        [step.lookup?.found, step.lookup?.value],
      );
    }
    compareSession(real, step.view as ExpectedView, sessionOf(operation, answer), probe, scoped);
  });
}

/** A refusal: its one error's code, the limit its message names, or the version a conflict reports. */
function compareError(
  model: SessionModel,
  result: GraphQLResult,
  expected: NonNullable<RequestOutcome["error"]>,
  divergences: Divergences,
): void {
  const errors = result.errors ?? [];
  divergences.expect(
    "error codes",
    errors.map((error) => error.extensions?.code),
    [expected.code],
  );
  if (expected.code === "VERSION_CONFLICT") {
    const extensions = errors[0]?.extensions as { version?: unknown } | undefined;
    divergences.expect("VERSION_CONFLICT extensions.version", extensions?.version, expected.version);
    return;
  }
  // "Messages for bad input name both the limit's variable and its number."
  const message = errors[0]?.message ?? "";
  const { limits } = model.config;
  const named = expected.limits;
  if (
    named.length > 0 &&
    !named.some((name) => message.includes(name) && message.includes(String(limits[name])))
  ) {
    divergences.add(
      `error message: expected to name ${named.join(" or ")} and its number, got ${JSON.stringify(message)}`,
    );
  }
}
