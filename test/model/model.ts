/**
 * An in-memory model of the session contract (CONTRACT.md) as clients see it: per visitor the cookie its jar
 * holds, per issued session key the stored record, and for every operation the answer and the cookie effect the
 * contract prescribes. It knows nothing of the server; keys are plain numbers ("refs") that the comparison maps
 * to the real ids and cookie values.
 */

/** A JSON value as the session stores it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The part of the configuration the model follows. */
export interface ModelConfig {
  /** SESSION_COOKIE_AGE. */
  cookieAgeSeconds: number;
  /** SESSION_EXPIRE_AT_BROWSER_CLOSE. */
  expireAtBrowserClose: boolean;
  /** SESSION_SAVE_EVERY_REQUEST. */
  saveEveryRequest: boolean;
  limits: Limits;
}

/** The input limits, named after their variables. */
export interface Limits {
  SESSION_MAX_KEY_LENGTH: number;
  SESSION_MAX_VALUE_BYTES: number;
  SESSION_MAX_BYTES: number;
  SESSION_MAX_DEPTH: number;
}

/** The contract's default limits. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  SESSION_MAX_KEY_LENGTH: 256,
  SESSION_MAX_VALUE_BYTES: 65_536,
  SESSION_MAX_BYTES: 262_144,
  SESSION_MAX_DEPTH: 32,
};

/** The contract's default SESSION_COOKIE_AGE (two weeks). */
export const DEFAULT_COOKIE_AGE_SECONDS = 1_209_600;

/** The model's configuration for a server started with `env` (every variable optional, as on the server). */
export function modelConfigFromEnv(env: Readonly<Record<string, string | undefined>>): ModelConfig {
  const limits = { ...DEFAULT_LIMITS };
  for (const name of Object.keys(limits) as Array<keyof Limits>)
    limits[name] = whole(env, name, limits[name]);
  return {
    cookieAgeSeconds: whole(env, "SESSION_COOKIE_AGE", DEFAULT_COOKIE_AGE_SECONDS),
    expireAtBrowserClose: flag(env, "SESSION_EXPIRE_AT_BROWSER_CLOSE"),
    saveEveryRequest: flag(env, "SESSION_SAVE_EVERY_REQUEST"),
    limits,
  };
}

function whole(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(value))
    throw new Error(`the model reads ${name} as a whole number, got ${value}`);
  return Number(value);
}

function flag(env: Readonly<Record<string, string | undefined>>, name: string): boolean {
  const value = env[name];
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new Error(`the model reads ${name} as true or false only, got ${value}`);
}

/** A request that the server must refuse with BAD_USER_INPUT, leaving the session as it was. */
export type InvalidKind =
  | "setEmptyKey"
  | "setLongKey"
  | "popEmptyKey"
  | "updateWithEmptyKey"
  | "negativeExpiry"
  | "getEmptyKey";

/** One GraphQL operation of one visitor. */
export type Operation =
  | { kind: "read" }
  | { kind: "set"; key: string; value: Json }
  /** `default: undefined` leaves the argument out; `null` sends it as null. */
  | { kind: "pop"; key: string; default: Json | undefined }
  | { kind: "update"; values: ReadonlyArray<readonly [string, Json]> }
  | { kind: "clear" }
  | { kind: "flush" }
  | { kind: "cycle" }
  /** `omitArgument` sends `setSessionExpiry` with no `seconds` at all (seconds is then null). */
  | { kind: "setExpiry"; seconds: number | null; omitArgument: boolean }
  | { kind: "invalid"; what: InvalidKind };

/** What a visitor's jar holds: nothing, a session key the server issued (its ref), or a value it never issued. */
export type JarCookie = number | "forged" | undefined;

/** What a response does to the session cookie. */
export type CookieEffect = "set" | "expired" | "untouched";

/** The session fields a response shows. */
export interface ExpectedView {
  /** The session key's ref, undefined when nothing is stored (then `id` is null). */
  ref: number | undefined;
  data: ReadonlyMap<string, Json>;
  isEmpty: boolean;
  version: number;
  expireAtBrowserClose: boolean;
  expiryAge: number;
  /** ms since the epoch, null for a browser-close session. */
  expiresAtMs: number | null;
}

/** What the contract says one operation (one field of a request) answers. */
export interface StepOutcome {
  /** The session in the answer; undefined when the operation is refused. */
  view: ExpectedView | undefined;
  popped: { found: boolean; value: Json } | undefined;
  /** Whether a change was saved, raising `version` by one. */
  savedChange: boolean;
}

/** What the contract says one request answers and does to the cookie. */
export interface RequestOutcome {
  steps: StepOutcome[];
  /** A refusal: BAD_USER_INPUT, whose message names one of `limits` (and its number); nothing changed. */
  error: { code: "BAD_USER_INPUT"; limits: Array<keyof Limits> } | undefined;
  cookie: CookieEffect;
  /** For a set cookie: its Max-Age, or null when it is a browser-session cookie (no Max-Age, no Expires). */
  cookieMaxAge: number | null | undefined;
}

/** A request with a single operation. */
export type Outcome = StepOutcome & Omit<RequestOutcome, "steps">;

/** A stored session that has not expired. */
export interface LiveSession {
  ref: number;
  data: ReadonlyMap<string, Json>;
  version: number;
  expiresAtMs: number;
}

interface StoredSession {
  readonly data: ReadonlyMap<string, Json>;
  readonly expirySeconds: number | undefined;
  readonly version: number;
  readonly expiresAtMs: number;
}

/** The session one request works on. */
interface Working {
  ref: number | undefined;
  data: Map<string, Json>;
  /** The chosen expiry: > 0 seconds, 0 for browser close, undefined for the default policy. */
  expirySeconds: number | undefined;
  version: number;
  expiresAtMs: number | undefined;
}

/** The operations that may run in parallel on one session, on distinct keys. */
export const PARALLEL_KINDS: ReadonlySet<Operation["kind"]> = new Set([
  "read",
  "set",
  "pop",
  "update",
  "setExpiry",
]);

/** Every visitor's cookie, every stored session, and the clock, as the contract describes them. */
export class SessionModel {
  /** What each visitor's jar holds. */
  readonly jars: JarCookie[];
  /** Every session key a cookie carried to a visitor in this run, in order (their refs). */
  readonly issued: number[] = [];
  private readonly records = new Map<number, StoredSession>();
  private nextRef = 1;

  constructor(
    readonly config: ModelConfig,
    /** The server's clock, ms since the epoch. */
    public nowMs: number,
    visitors: number,
  ) {
    this.jars = Array.from({ length: visitors }, () => undefined);
  }

  /** Moves the clock on. */
  advance(seconds: number): void {
    this.nowMs += seconds * 1000;
  }

  /** The live session the visitor's cookie names, if any. */
  liveSession(visitor: number): LiveSession | undefined {
    const cookie = this.jars[visitor];
    if (typeof cookie !== "number") return undefined;
    const record = this.records.get(cookie);
    if (record === undefined || record.expiresAtMs <= this.nowMs) return undefined;
    return { ref: cookie, data: record.data, version: record.version, expiresAtMs: record.expiresAtMs };
  }

  /** The visitor now presents the cookie the server issued for `ref` (another visitor's, or an old one). */
  presentCookie(visitor: number, ref: number): void {
    this.jars[visitor] = ref;
  }

  /** The visitor now presents a cookie value the server never issued. */
  presentForgedCookie(visitor: number): void {
    this.jars[visitor] = "forged";
  }

  /** The visitor's jar is emptied (cookies cleared). */
  dropCookie(visitor: number): void {
    this.jars[visitor] = undefined;
  }

  /** Applies one operation of `visitor` and says what the server must answer. */
  apply(visitor: number, operation: Operation): Outcome {
    const request = this.applyRequest(visitor, [operation]);
    const [step] = request.steps;
    return {
      ...(step as StepOutcome),
      error: request.error,
      cookie: request.cookie,
      cookieMaxAge: request.cookieMaxAge,
    };
  }

  /**
   * Applies one request of `visitor` whose mutation fields run one after the other on the same session (GraphQL
   * runs a mutation's top-level fields serially); the cookie is decided once, after the last of them.
   */
  applyRequest(visitor: number, operations: readonly Operation[]): RequestOutcome {
    const arrivedWithCookie = this.jars[visitor] !== undefined;
    const session = this.load(visitor);
    // A save or a delete reached the store during this request (Django's "saved this request").
    let wrote = false;
    let error: RequestOutcome["error"];
    const steps: StepOutcome[] = [];
    for (const operation of operations) {
      const refused = refusal(this.config.limits, session.data, operation);
      if (refused !== undefined) {
        // GraphQL stops a mutation's serial fields at a failed non-null one; the model leaves that to GraphQL.
        if (operations.length > 1) throw new Error("the model takes a refused operation only on its own");
        error = { code: "BAD_USER_INPUT", limits: refused };
        steps.push({ view: undefined, popped: undefined, savedChange: false });
        continue;
      }
      const versionBefore = session.version;
      const { popped, wrote: wroteNow } = this.change(session, operation);
      wrote ||= wroteNow;
      steps.push({ view: this.view(session), popped, savedChange: session.version === versionBefore + 1 });
    }
    // The answer is resolved before the response step that SESSION_SAVE_EVERY_REQUEST adds.
    let refreshed = false;
    if (this.config.saveEveryRequest && !wrote && session.ref !== undefined) {
      // Re-saved to restart its expiry, without changing `version`.
      session.expiresAtMs = this.nowMs + this.ageSeconds(session.expirySeconds) * 1000;
      this.records.set(session.ref, snapshot(session));
      refreshed = true;
    }

    let cookie: CookieEffect = "untouched";
    let cookieMaxAge: number | null | undefined;
    if ((wrote || refreshed) && session.ref !== undefined) {
      cookie = "set";
      cookieMaxAge = this.browserClose(session.expirySeconds) ? null : this.ageSeconds(session.expirySeconds);
      this.jars[visitor] = session.ref;
      if (!this.issued.includes(session.ref)) this.issued.push(session.ref);
    } else if (arrivedWithCookie && session.ref === undefined) {
      // An emptied, flushed, stale or forged session cookie is expired by any request that touched the session.
      cookie = "expired";
      this.jars[visitor] = undefined;
    }
    return { steps, error, cookie, cookieMaxAge };
  }

  /** Whether every operation of one request would be accepted, none refused as bad input. */
  acceptsAll(visitor: number, operations: readonly Operation[]): boolean {
    const trial = this.clone();
    const session = trial.load(visitor);
    for (const operation of operations) {
      if (refusal(this.config.limits, session.data, operation) !== undefined) return false;
      trial.change(session, operation);
    }
    return true;
  }

  /** A copy to try requests on. */
  clone(): SessionModel {
    const copy = new SessionModel(this.config, this.nowMs, this.jars.length);
    copy.jars.splice(0, copy.jars.length, ...this.jars);
    copy.issued.push(...this.issued);
    for (const [ref, record] of this.records) copy.records.set(ref, record);
    copy.nextRef = this.nextRef;
    return copy;
  }

  /** One operation on the request's session; says whether it wrote to the store. */
  private change(session: Working, operation: Operation): { popped: StepOutcome["popped"]; wrote: boolean } {
    let modified = false;
    let popped: StepOutcome["popped"];
    switch (operation.kind) {
      case "read":
      case "invalid":
        break;
      case "set":
        session.data.set(operation.key, operation.value);
        modified = true;
        break;
      case "pop":
        if (session.data.has(operation.key)) {
          popped = { found: true, value: session.data.get(operation.key) as Json };
          session.data.delete(operation.key);
          modified = true;
        } else {
          // "popSession of an absent key → found: false, value = default (null when none given), nothing saved."
          popped = { found: false, value: operation.default ?? null };
        }
        break;
      case "update":
        // Like dict.update: marks the session modified even when `values` is empty.
        for (const [key, value] of operation.values) session.data.set(key, value);
        modified = true;
        break;
      case "clear":
        // As in Django, the chosen expiry lives among the entries and goes with them.
        session.data.clear();
        session.expirySeconds = undefined;
        modified = true;
        break;
      case "setExpiry":
        // As in Django, going back to the default policy when it already is the default changes nothing.
        if (!(operation.seconds === null && session.expirySeconds === undefined)) {
          session.expirySeconds = operation.seconds ?? undefined;
          modified = true;
        }
        break;
      case "flush":
        // The record goes whatever it holds; the old key reads nothing afterwards.
        if (session.ref !== undefined) this.records.delete(session.ref);
        Object.assign(session, blank());
        return { popped, wrote: true };
      case "cycle":
        // Only a stored session has a key to cycle; the data moves to a new key and the old one dies.
        if (session.ref === undefined) return { popped, wrote: false };
        this.records.delete(session.ref);
        session.ref = this.issue();
        this.save(session);
        return { popped, wrote: true };
    }
    if (modified) this.persist(session);
    return { popped, wrote: modified };
  }

  /**
   * Applies operations that ran in parallel on one live, non-empty session, on distinct keys and never emptying
   * it: any order gives the same result, so they are applied in the order given.
   */
  applyParallel(visitor: number, operations: readonly Operation[]): Outcome[] {
    const live = this.liveSession(visitor);
    if (live === undefined || live.data.size === 0) {
      throw new Error("the model runs parallel operations only on a live session that holds data");
    }
    if (parallelizable(operations, live.data, this.config.limits).length !== operations.length) {
      throw new Error("these operations may not run in parallel");
    }
    const outcomes = operations.map((operation) => this.apply(visitor, operation));
    if (this.liveSession(visitor)?.ref !== live.ref)
      throw new Error("a parallel step changed the session key");
    return outcomes;
  }

  /** The session the visitor's cookie names, or a blank one when it names no live session. */
  private load(visitor: number): Working {
    const cookie = this.jars[visitor];
    if (typeof cookie !== "number") return blank();
    const record = this.records.get(cookie);
    if (record === undefined) return blank();
    if (record.expiresAtMs <= this.nowMs) {
      // Expired: it reads as no session, whatever the store still holds.
      this.records.delete(cookie);
      return blank();
    }
    return {
      ref: cookie,
      data: new Map(record.data),
      expirySeconds: record.expirySeconds,
      version: record.version,
      expiresAtMs: record.expiresAtMs,
    };
  }

  /** A change: saved under its key (a fresh one when nothing was stored), or deleted once nothing is left. */
  private persist(session: Working): void {
    if (session.data.size === 0 && session.expirySeconds === undefined) {
      if (session.ref !== undefined) this.records.delete(session.ref);
      Object.assign(session, blank());
      return;
    }
    session.ref ??= this.issue();
    this.save(session);
  }

  /** Stores the session under its ref with the next version; expiry counts from now. */
  private save(session: Working): void {
    session.version += 1;
    session.expiresAtMs = this.nowMs + this.ageSeconds(session.expirySeconds) * 1000;
    this.records.set(session.ref as number, snapshot(session));
  }

  private issue(): number {
    return this.nextRef++;
  }

  private view(session: Working): ExpectedView {
    const browserClose = this.browserClose(session.expirySeconds);
    const age = this.ageSeconds(session.expirySeconds);
    let expiryAge = age;
    if (browserClose) expiryAge = this.config.cookieAgeSeconds;
    else if (session.expiresAtMs !== undefined) {
      expiryAge = Math.max(0, Math.round((session.expiresAtMs - this.nowMs) / 1000));
    }
    return {
      ref: session.ref,
      data: new Map(session.data),
      isEmpty: session.data.size === 0,
      version: session.version,
      expireAtBrowserClose: browserClose,
      expiryAge,
      expiresAtMs: browserClose ? null : (session.expiresAtMs ?? this.nowMs + age * 1000),
    };
  }

  private browserClose(expirySeconds: number | undefined): boolean {
    return expirySeconds === undefined ? this.config.expireAtBrowserClose : expirySeconds === 0;
  }

  /** The lifetime a save starts: the chosen seconds, else the cookie age (also for browser close). */
  private ageSeconds(expirySeconds: number | undefined): number {
    return expirySeconds !== undefined && expirySeconds > 0 ? expirySeconds : this.config.cookieAgeSeconds;
  }
}

/**
 * Chooses, from `operations`, ones whose parallel run has one outcome whatever the interleaving: reads, data
 * operations and at most one expiry change, on distinct keys, none refused on its own, the session never emptied
 * and never over SESSION_MAX_BYTES whichever of them have run. Deterministic, so a shrunk run replays the same
 * step.
 */
export function parallelizable(
  operations: readonly Operation[],
  live: ReadonlyMap<string, Json>,
  limits: Limits,
): Operation[] {
  const kept: Operation[] = [];
  const touched = new Set<string>();
  let expiryChange = false;
  for (const operation of operations) {
    if (!PARALLEL_KINDS.has(operation.kind)) continue;
    const keys = keysOf(operation);
    if (keys.some((key) => touched.has(key))) continue;
    if (refusal(limits, new Map(), operation)?.some((limit) => limit !== "SESSION_MAX_BYTES")) continue;
    if (operation.kind === "setExpiry") {
      if (expiryChange) continue;
      expiryChange = true;
    }
    for (const key of keys) touched.add(key);
    kept.push(operation);
  }
  const popped = () =>
    new Set(kept.flatMap((operation) => (operation.kind === "pop" ? [operation.key] : [])));
  const canEmpty = () => [...live.keys()].every((key) => popped().has(key));
  const lastDataOperation = () => kept.findLastIndex((operation) => keysOf(operation).length > 0);
  while (canEmpty() || !everySubsetFits(kept, live, limits.SESSION_MAX_BYTES)) {
    kept.splice(lastDataOperation(), 1);
  }
  return kept;
}

function everySubsetFits(
  operations: readonly Operation[],
  live: ReadonlyMap<string, Json>,
  maxBytes: number,
): boolean {
  for (let subset = 0; subset < 1 << operations.length; subset++) {
    const data = new Map(live);
    operations.forEach((operation, index) => {
      if ((subset & (1 << index)) === 0) return;
      if (operation.kind === "set") data.set(operation.key, operation.value);
      if (operation.kind === "update") for (const [key, value] of operation.values) data.set(key, value);
      if (operation.kind === "pop") data.delete(operation.key);
    });
    if (sessionBytes(data) > maxBytes) return false;
  }
  return true;
}

/**
 * Whether the contract refuses `operation` on a session holding `data` as bad input, and if so the limits its
 * message may name: keys are checked wherever one is taken, each value for depth and size, and the whole
 * session's size after the change. (Defaults of get and popSession are left alone: the contract does not say
 * whether they are limited, and the generated ones stay within every limit.)
 */
export function refusal(
  limits: Limits,
  data: ReadonlyMap<string, Json>,
  operation: Operation,
): Array<keyof Limits> | undefined {
  if (operation.kind === "invalid")
    return operation.what === "negativeExpiry" ? [] : ["SESSION_MAX_KEY_LENGTH"];
  const violated = new Set<keyof Limits>();
  const entries: Array<readonly [string, Json]> =
    operation.kind === "set"
      ? [[operation.key, operation.value]]
      : operation.kind === "update"
        ? [...operation.values]
        : [];
  for (const key of keysOf(operation)) {
    if (!keyFits(limits, key)) violated.add("SESSION_MAX_KEY_LENGTH");
  }
  for (const [, value] of entries) {
    if (jsonDepth(value) > limits.SESSION_MAX_DEPTH) violated.add("SESSION_MAX_DEPTH");
    if (jsonBytes(value) > limits.SESSION_MAX_VALUE_BYTES) violated.add("SESSION_MAX_VALUE_BYTES");
  }
  if (violated.size === 0 && entries.length > 0) {
    const after = new Map(data);
    for (const [key, value] of entries) after.set(key, value);
    if (sessionBytes(after) > limits.SESSION_MAX_BYTES) violated.add("SESSION_MAX_BYTES");
  }
  return violated.size === 0 ? undefined : [...violated];
}

/** A key is 1 to SESSION_MAX_KEY_LENGTH characters (code points). */
export function keyFits(limits: Limits, key: string): boolean {
  const length = [...key].length;
  return length >= 1 && length <= limits.SESSION_MAX_KEY_LENGTH;
}

/** A value within the depth and byte limits of one value. */
export function valueFits(limits: Limits, value: Json): boolean {
  return jsonDepth(value) <= limits.SESSION_MAX_DEPTH && jsonBytes(value) <= limits.SESSION_MAX_VALUE_BYTES;
}

/** The UTF-8 length of a value's JSON text. */
export function jsonBytes(value: Json): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}

/** The size of a session: that of the JSON text of its whole `data` object. */
export function sessionBytes(data: ReadonlyMap<string, Json>): number {
  return jsonBytes(Object.fromEntries(data));
}

/** A scalar is 0, `[]` or `{}` is 1, each level of nesting adds 1. */
export function jsonDepth(value: Json): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(jsonDepth));
}

/** The data keys an operation touches. */
export function keysOf(operation: Operation): string[] {
  switch (operation.kind) {
    case "set":
    case "pop":
      return [operation.key];
    case "update":
      return operation.values.map(([key]) => key);
    default:
      return [];
  }
}

function blank(): Working {
  return { ref: undefined, data: new Map(), expirySeconds: undefined, version: 0, expiresAtMs: undefined };
}

function snapshot(session: Working): StoredSession {
  return {
    data: new Map(session.data),
    expirySeconds: session.expirySeconds,
    version: session.version,
    expiresAtMs: session.expiresAtMs as number,
  };
}
