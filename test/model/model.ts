/**
 * An in-memory model of the session contract (CONTRACT.md) as clients see it: per visitor the cookie its jar
 * holds, per issued session key the stored record (and the user it is logged in as), and for every operation
 * the answer and the cookie effect the contract prescribes. It knows nothing of the server; keys are plain numbers ("refs") that the comparison maps
 * to the real ids and cookie values.
 */
import {
  DEFAULT_LIMITS,
  guardOf,
  type Json,
  keysOf,
  type Limits,
  type Operation,
  refusal,
  resolveGuard,
  sessionBytes,
  UNTOUCHING_REFUSALS,
} from "./operations";

/** The part of the configuration the model follows. */
export interface ModelConfig {
  /** SESSION_COOKIE_AGE. */
  cookieAgeSeconds: number;
  /** SESSION_EXPIRE_AT_BROWSER_CLOSE. */
  expireAtBrowserClose: boolean;
  /** SESSION_SAVE_EVERY_REQUEST. */
  saveEveryRequest: boolean;
  /** SESSION_ABSOLUTE_AGE; undefined when unset. */
  absoluteAgeSeconds: number | undefined;
  limits: Limits;
}

/** The contract's default SESSION_COOKIE_AGE (two weeks). */
export const DEFAULT_COOKIE_AGE_SECONDS = 1_209_600;

/** The model's configuration for a server started with `env` (every variable optional, as on the server). */
export function modelConfigFromEnv(env: Readonly<Record<string, string | undefined>>): ModelConfig {
  const limits = { ...DEFAULT_LIMITS };
  for (const name of Object.keys(limits) as Array<keyof Limits>)
    limits[name] = whole(env, name, limits[name]);
  const absolute = env.SESSION_ABSOLUTE_AGE;
  return {
    cookieAgeSeconds: whole(env, "SESSION_COOKIE_AGE", DEFAULT_COOKIE_AGE_SECONDS),
    expireAtBrowserClose: flag(env, "SESSION_EXPIRE_AT_BROWSER_CLOSE"),
    saveEveryRequest: flag(env, "SESSION_SAVE_EVERY_REQUEST"),
    absoluteAgeSeconds: absolute ? whole(env, "SESSION_ABSOLUTE_AGE", 0) : undefined,
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

/** What a visitor's jar holds: nothing, a session key the server issued (its ref), or a value it never issued. */
export type JarCookie = number | "forged" | undefined;

/** What a response does to the session cookie. */
export type CookieEffect = "set" | "expired" | "untouched";

/** The session fields a response shows. */
export interface ExpectedView {
  /** The session key's ref, undefined when nothing is stored (then `id` is null). */
  ref: number | undefined;
  data: ReadonlyMap<string, Json>;
  /** When each entry set with `expiresIn` ends (ms since the epoch); `keyExpiresAt` of any other key is null. */
  entryExpiresAtMs: ReadonlyMap<string, number>;
  isEmpty: boolean;
  version: number;
  expireAtBrowserClose: boolean;
  expiryAge: number;
  /** ms since the epoch, null for a browser-close session. */
  expiresAtMs: number | null;
  /** ms since the epoch, null while nothing is stored. */
  createdAtMs: number | null;
}

/** What the contract says one operation (one field of a request) answers. */
export interface StepOutcome {
  /** The session in the answer; undefined when the operation is refused. */
  view: ExpectedView | undefined;
  /** popSession's and setSessionDefault's `found` and `value`. */
  lookup: { found: boolean; value: Json } | undefined;
  /** Whether a change was saved, raising `version` by one. */
  savedChange: boolean;
  /** The `ifVersion` the operation is sent with (its guard resolved), undefined for none. */
  ifVersion: number | undefined;
}

/**
 * A refusal, after which nothing changed: BAD_USER_INPUT, whose message names one of `limits` (and its number),
 * or VERSION_CONFLICT with the version the session was at.
 */
export type RequestError =
  | { code: "BAD_USER_INPUT"; limits: Array<keyof Limits> }
  | { code: "VERSION_CONFLICT"; version: number };

/** What the contract says one request answers and does to the cookie. */
export interface RequestOutcome {
  steps: StepOutcome[];
  error: RequestError | undefined;
  /** Whether the operation read or changed the session (the response then varies on Cookie). */
  touched: boolean;
  cookie: CookieEffect;
  /** For a set cookie: its Max-Age, or null when it is a browser-session cookie (no Max-Age, no Expires). */
  cookieMaxAge: number | null | undefined;
}

/** A request with a single operation. */
export type Outcome = StepOutcome & Omit<RequestOutcome, "steps">;

/** A stored session that has not expired, as a reader sees it (entries whose time has passed left out). */
export interface LiveSession {
  ref: number;
  data: ReadonlyMap<string, Json>;
  entryExpiresAtMs: ReadonlyMap<string, number>;
  version: number;
  expiresAtMs: number;
  /** The user it is logged in as. */
  userId: string | undefined;
}

/** One session of a user, as `mySessions` lists it. */
export interface ListedSession {
  ref: number;
  /** Whether it is the caller's own. */
  current: boolean;
  createdAtMs: number;
  /** Its last save. */
  lastSeenAtMs: number;
  /** null for a browser-close session. */
  expiresAtMs: number | null;
  userAgent: string | null;
}

/** What the contract says one request of a user operation (login, mySessions, a revoke) answers. */
export interface UserOutcome<T> extends Omit<RequestOutcome, "steps" | "error"> {
  answer: T;
  /** A refusal on the arguments alone (an id too long to name a session). */
  error: { code: "BAD_USER_INPUT" } | undefined;
  /** The session key's ref once the request is done, undefined when nothing is stored. */
  ref: number | undefined;
  /** The user the session was logged in as when the request read it (what `me` answers). */
  userId: string | null;
}

/** The most of a User-Agent a login keeps. */
export const MAX_USER_AGENT_LENGTH = 256;

/** The expiry state a session record carries besides its data. */
interface Policy {
  /** The chosen expiry: > 0 seconds, 0 for browser close, undefined for the default policy. */
  expirySeconds: number | undefined;
  /** A fixed end set with `at` (ms since the epoch), which saves do not move. */
  fixedExpiresAtMs: number | undefined;
}

/** Who a session is logged in as: bookkeeping outside its data, which no GraphQL field shows as an entry. */
interface Login {
  userId: string | undefined;
  userAgent: string | undefined;
}

interface StoredSession extends Readonly<Policy>, Readonly<Login> {
  readonly data: ReadonlyMap<string, Json>;
  readonly entryExpiresAtMs: ReadonlyMap<string, number>;
  readonly version: number;
  readonly expiresAtMs: number;
  readonly createdAtMs: number;
  /** Its last save (a save-every-request refresh included). */
  readonly savedAtMs: number;
}

/** The session one request works on. */
interface Working extends Policy, Login {
  ref: number | undefined;
  data: Map<string, Json>;
  entryExpiresAtMs: Map<string, number>;
  version: number;
  expiresAtMs: number | undefined;
  createdAtMs: number | undefined;
  savedAtMs: number | undefined;
}

/** The operations that may run in parallel on one session, on distinct keys. */
export const PARALLEL_KINDS: ReadonlySet<Operation["kind"]> = new Set([
  "read",
  "set",
  "setDefault",
  "pop",
  "update",
  "setExpiry",
  "setExpiryAt",
]);

/** The operations that change the expiry policy (at most one of them runs in a parallel step). */
export const EXPIRY_KINDS: ReadonlySet<Operation["kind"]> = new Set(["setExpiry", "setExpiryAt"]);

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
    const live = this.readable(cookie, record);
    return {
      ref: cookie,
      data: live.data,
      entryExpiresAtMs: live.entryExpiresAtMs,
      version: record.version,
      expiresAtMs: record.expiresAtMs,
      userId: record.userId,
    };
  }

  /** The refs of every stored session that has not expired (of `userId` only, when given), in the order issued. */
  liveRefs(userId?: string): number[] {
    return [...this.records]
      .filter(([, record]) => record.expiresAtMs > this.nowMs)
      .filter(([, record]) => userId === undefined || record.userId === userId)
      .map(([ref]) => ref)
      .sort((a, b) => a - b);
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
    const { steps, ...request } = this.applyRequest(visitor, [operation]);
    return { ...(steps[0] as StepOutcome), ...request };
  }

  /**
   * Applies one request of `visitor` whose mutation fields run one after the other on the same session (GraphQL
   * runs a mutation's top-level fields serially); the cookie is decided once, after the last of them.
   */
  applyRequest(visitor: number, operations: readonly Operation[]): RequestOutcome {
    const [only] = operations;
    if (operations.length === 1 && only?.kind === "invalid" && UNTOUCHING_REFUSALS.has(only.what)) {
      // Refused on its arguments alone: the session is never read, so neither the cookie nor the record moves.
      const step = { view: undefined, lookup: undefined, savedChange: false, ifVersion: undefined };
      const error = { code: "BAD_USER_INPUT" as const, limits: [] };
      return { steps: [step], error, touched: false, cookie: "untouched", cookieMaxAge: undefined };
    }
    const arrivedWithCookie = this.jars[visitor] !== undefined;
    const session = this.load(visitor);
    // A save or a delete reached the store during this request (Django's "saved this request").
    let wrote = false;
    let error: RequestError | undefined;
    const steps: StepOutcome[] = [];
    for (const operation of operations) {
      const refused = refusal(this.config.limits, session.data, operation);
      const ifVersion = resolveGuard(guardOf(operation), session.version);
      const conflict = ifVersion !== undefined && ifVersion !== session.version;
      if (refused !== undefined || conflict) {
        // GraphQL stops a mutation's serial fields at a failed non-null one; the model leaves that to GraphQL.
        if (operations.length > 1) throw new Error("the model takes a refused operation only on its own");
        if (refused !== undefined && conflict)
          throw new Error("the contract does not say which of two refusals wins");
        error =
          refused !== undefined
            ? { code: "BAD_USER_INPUT", limits: refused }
            : { code: "VERSION_CONFLICT", version: session.version };
        steps.push({ view: undefined, lookup: undefined, savedChange: false, ifVersion });
        continue;
      }
      const versionBefore = session.version;
      const { lookup, wrote: wroteNow } = this.change(session, operation);
      wrote ||= wroteNow;
      const savedChange = session.version === versionBefore + 1;
      steps.push({ view: this.view(session), lookup, savedChange, ifVersion });
    }
    if (error?.code === "VERSION_CONFLICT") {
      // "changes nothing and sets no cookie": not even a stale cookie is expired, nor an expiry refreshed.
      return { steps, error, touched: true, cookie: "untouched", cookieMaxAge: undefined };
    }
    return { steps, error, ...this.respond(visitor, session, wrote, arrivedWithCookie) };
  }

  /**
   * The end of a request that touched the session, once its answer is resolved: the response step that
   * SESSION_SAVE_EVERY_REQUEST adds, then the cookie. `wrote`: a save or a delete of this session reached the
   * store during the request.
   */
  private respond(
    visitor: number,
    session: Working,
    wrote: boolean,
    arrivedWithCookie: boolean,
  ): Omit<RequestOutcome, "steps" | "error"> {
    let refreshed = false;
    if (this.config.saveEveryRequest && !wrote && session.ref !== undefined) {
      // Re-saved to restart its expiry (a fixed or absolute end stays), without changing `version`.
      session.expiresAtMs = this.endIfSavedNow(session);
      session.savedAtMs = this.nowMs;
      this.records.set(session.ref, snapshot(session));
      refreshed = true;
    }

    let cookie: CookieEffect = "untouched";
    let cookieMaxAge: number | null | undefined;
    if ((wrote || refreshed) && session.ref !== undefined) {
      cookie = "set";
      cookieMaxAge = this.browserClose(session) ? null : this.secondsLeft(session.expiresAtMs as number);
      this.jars[visitor] = session.ref;
      if (!this.issued.includes(session.ref)) this.issued.push(session.ref);
    } else if (arrivedWithCookie && session.ref === undefined) {
      // An emptied, flushed, stale or forged session cookie is expired by any request that touched the session.
      cookie = "expired";
      this.jars[visitor] = undefined;
    }
    return { touched: true, cookie, cookieMaxAge };
  }

  /**
   * A request whose resolver logs the visitor's session in as `userId` (`context.session.login`), as Django's
   * `login()`: a session of another user is flushed first (its record goes, and the login starts a new session:
   * version from 0, a new createdAt), then the session is saved under a new key with the user recorded.
   * The answer is the new key's ref.
   */
  login(visitor: number, userId: string, userAgent: string | undefined): UserOutcome<number> {
    return this.userRequest(visitor, (session) => {
      if (session.userId !== undefined && session.userId !== userId) {
        if (session.ref !== undefined) this.records.delete(session.ref);
        Object.assign(session, blank());
      }
      session.userId = userId;
      session.userAgent = userAgent?.slice(0, MAX_USER_AGENT_LENGTH);
      // Against session fixation the key is cycled, even for a session never stored.
      if (session.ref !== undefined) this.records.delete(session.ref);
      session.ref = this.issue();
      this.save(session);
      return { answer: session.ref, wrote: true };
    });
  }

  /** `mySessions`: every live session of the caller's user, newest first (by createdAt); [] when not logged in. */
  mySessions(visitor: number): UserOutcome<ListedSession[]> {
    return this.userRequest(visitor, (session) => ({
      answer: session.userId === undefined ? [] : this.sessionsOf(session.userId, session.ref),
      wrote: false,
    }));
  }

  /**
   * `revokeSession(id)` of the session `target` (a ref, or an id that names no session, or one over 64
   * characters, refused before the session is read): true when it is a live session of the caller's user, and
   * then it ends; one's own session ends as a logout does. False when not logged in.
   */
  revokeSession(visitor: number, target: number | "unknown" | "overlong"): UserOutcome<boolean> {
    if (target === "overlong") {
      const refused = { code: "BAD_USER_INPUT" as const };
      return {
        answer: false,
        error: refused,
        touched: false,
        cookie: "untouched",
        cookieMaxAge: undefined,
        ref: undefined,
        userId: null,
      };
    }
    return this.userRequest(visitor, (session) => {
      if (session.userId === undefined) return { answer: false, wrote: false };
      if (target === session.ref) {
        this.records.delete(target);
        Object.assign(session, blank());
        return { answer: true, wrote: true };
      }
      const record = target === "unknown" ? undefined : this.records.get(target);
      if (record === undefined || !this.isLiveOf(record, session.userId))
        return { answer: false, wrote: false };
      this.records.delete(target as number);
      return { answer: true, wrote: false };
    });
  }

  /** `revokeOtherSessions`: ends every live session of the caller's user but its own; how many (0 when not logged in). */
  revokeOtherSessions(visitor: number): UserOutcome<number> {
    return this.userRequest(visitor, (session) => {
      const { userId } = session;
      if (userId === undefined) return { answer: 0, wrote: false };
      const ending = [...this.records].filter(
        ([ref, record]) => ref !== session.ref && this.isLiveOf(record, userId),
      );
      for (const [ref] of ending) this.records.delete(ref);
      return { answer: ending.length, wrote: false };
    });
  }

  /** A request that reads the visitor's session (to learn its user) and then does `act`, which says whether it wrote that session. */
  private userRequest<T>(
    visitor: number,
    act: (session: Working) => { answer: T; wrote: boolean },
  ): UserOutcome<T> {
    const arrivedWithCookie = this.jars[visitor] !== undefined;
    const session = this.load(visitor);
    const userId = session.userId ?? null;
    const { answer, wrote } = act(session);
    const response = this.respond(visitor, session, wrote, arrivedWithCookie);
    return { answer, error: undefined, ...response, ref: session.ref, userId };
  }

  private isLiveOf(record: StoredSession, userId: string): boolean {
    return record.userId === userId && record.expiresAtMs > this.nowMs;
  }

  /** The live sessions of `userId`, newest first, as the store holds them (before a refresh of this request). */
  private sessionsOf(userId: string, currentRef: number | undefined): ListedSession[] {
    return [...this.records]
      .filter(([, record]) => this.isLiveOf(record, userId))
      .sort(([, a], [, b]) => b.createdAtMs - a.createdAtMs)
      .map(([ref, record]) => ({
        ref,
        current: ref === currentRef,
        createdAtMs: record.createdAtMs,
        lastSeenAtMs: record.savedAtMs,
        expiresAtMs: this.browserClose(record) ? null : record.expiresAtMs,
        userAgent: record.userAgent ?? null,
      }));
  }

  /**
   * Whether the contract decides what this request answers: a single operation unless it is both bad input and
   * a version conflict (the contract does not say which wins), or arguments refused on their own sent with a
   * cookie (whether the session is read before they are refused is not said); several fields only when each is
   * accepted.
   */
  decides(visitor: number, operations: readonly Operation[]): boolean {
    const [only] = operations;
    if (only?.kind === "invalid" && UNTOUCHING_REFUSALS.has(only.what))
      return this.jars[visitor] === undefined;
    const trial = this.clone();
    const session = trial.load(visitor);
    for (const operation of operations) {
      const refused = refusal(this.config.limits, session.data, operation) !== undefined;
      const ifVersion = resolveGuard(guardOf(operation), session.version);
      const conflict = ifVersion !== undefined && ifVersion !== session.version;
      if (operations.length === 1) return !(refused && conflict);
      if (refused || conflict) return false;
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
  private change(session: Working, operation: Operation): { lookup: StepOutcome["lookup"]; wrote: boolean } {
    let modified = false;
    let lookup: StepOutcome["lookup"];
    switch (operation.kind) {
      case "read":
      case "invalid":
        break;
      case "set":
        this.store(session, operation.key, operation.value, operation.expiresIn);
        modified = true;
        break;
      case "setDefault":
        // Django's setdefault: a present key is left alone and nothing is saved.
        if (session.data.has(operation.key)) {
          lookup = { found: true, value: session.data.get(operation.key) as Json };
        } else {
          this.store(session, operation.key, operation.value, operation.expiresIn);
          lookup = { found: false, value: operation.value };
          modified = true;
        }
        break;
      case "pop":
        if (session.data.has(operation.key)) {
          lookup = { found: true, value: session.data.get(operation.key) as Json };
          session.data.delete(operation.key);
          session.entryExpiresAtMs.delete(operation.key);
          modified = true;
        } else {
          // "popSession of an absent key → found: false, value = default (null when none given), nothing saved."
          lookup = { found: false, value: operation.default ?? null };
        }
        break;
      case "update":
        // Like dict.update: marks the session modified even when `values` is empty; its entries never expire.
        for (const [key, value] of operation.values) this.store(session, key, value, undefined);
        modified = true;
        break;
      case "clear":
        // As in Django, the chosen expiry lives among the entries and goes with them (a fixed end too), and so
        // does the login: clearing a session logs it out.
        empty(session);
        modified = true;
        break;
      case "setExpiry":
        // As in Django, going back to the default policy when it already is the default changes nothing.
        if (!(operation.seconds === null && isDefaultPolicy(session))) {
          session.expirySeconds = operation.seconds ?? undefined;
          session.fixedExpiresAtMs = undefined;
          modified = true;
        }
        break;
      case "setExpiryAt":
        session.expirySeconds = undefined;
        session.fixedExpiresAtMs = this.nowMs + operation.inSeconds * 1000;
        modified = true;
        break;
      case "flush":
        // The record goes whatever it holds; the old key reads nothing afterwards.
        if (session.ref !== undefined) this.records.delete(session.ref);
        Object.assign(session, blank());
        return { lookup, wrote: true };
      case "cycle":
        // Only a stored session has a key to cycle; the data (with its entries' expiries and its createdAt)
        // moves to a new key and the old one dies.
        if (session.ref === undefined) return { lookup, wrote: false };
        this.records.delete(session.ref);
        session.ref = this.issue();
        this.save(session);
        return { lookup, wrote: true };
    }
    if (modified) this.persist(session);
    return { lookup, wrote: modified };
  }

  /** Stores an entry; with `expiresIn` it ends by itself, without it any earlier expiry of the key goes. */
  private store(session: Working, key: string, value: Json, expiresIn: number | undefined): void {
    session.data.set(key, value);
    if (expiresIn === undefined) session.entryExpiresAtMs.delete(key);
    else session.entryExpiresAtMs.set(key, this.nowMs + expiresIn * 1000);
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
    // The record stays as stored (entries past their time included) until the next save writes it.
    return { ...this.readable(cookie, record), ref: cookie };
  }

  /** A stored session as a reader sees it: an entry lives while now < its end, then it is gone for everyone. */
  private readable(ref: number, record: StoredSession): Working {
    const data = new Map(record.data);
    const entryExpiresAtMs = new Map(record.entryExpiresAtMs);
    for (const [key, endMs] of record.entryExpiresAtMs) {
      if (endMs > this.nowMs) continue;
      data.delete(key);
      entryExpiresAtMs.delete(key);
    }
    return {
      ref,
      data,
      entryExpiresAtMs,
      expirySeconds: record.expirySeconds,
      fixedExpiresAtMs: record.fixedExpiresAtMs,
      userId: record.userId,
      userAgent: record.userAgent,
      version: record.version,
      expiresAtMs: record.expiresAtMs,
      createdAtMs: record.createdAtMs,
      savedAtMs: record.savedAtMs,
    };
  }

  /**
   * A change: saved under its key (a fresh one when nothing was stored), or deleted once nothing is left — no
   * live entry, the default policy and no login (entries past their time count as nothing).
   */
  private persist(session: Working): void {
    if (session.data.size === 0 && isDefaultPolicy(session) && session.userId === undefined) {
      if (session.ref !== undefined) this.records.delete(session.ref);
      Object.assign(session, blank());
      return;
    }
    session.ref ??= this.issue();
    this.save(session);
  }

  /** Stores the session under its ref with the next version; the first save sets createdAt. */
  private save(session: Working): void {
    session.version += 1;
    session.createdAtMs ??= this.nowMs;
    session.savedAtMs = this.nowMs;
    session.expiresAtMs = this.endIfSavedNow(session);
    this.records.set(session.ref as number, snapshot(session));
  }

  /**
   * When a save now would have the session end: the fixed end, else the chosen seconds (the cookie age for the
   * default policy and for browser close) from now; never after createdAt + SESSION_ABSOLUTE_AGE.
   */
  private endIfSavedNow(session: Policy & { createdAtMs: number | undefined }): number {
    const seconds =
      session.expirySeconds !== undefined && session.expirySeconds > 0
        ? session.expirySeconds
        : this.config.cookieAgeSeconds;
    const end = session.fixedExpiresAtMs ?? this.nowMs + seconds * 1000;
    const absolute = this.config.absoluteAgeSeconds;
    if (absolute === undefined) return end;
    return Math.min(end, (session.createdAtMs ?? this.nowMs) + absolute * 1000);
  }

  private issue(): number {
    return this.nextRef++;
  }

  private view(session: Working): ExpectedView {
    const browserClose = this.browserClose(session);
    // A session never stored shows the end a save now would give it.
    const expiresAtMs = session.expiresAtMs ?? this.endIfSavedNow(session);
    return {
      ref: session.ref,
      data: new Map(session.data),
      entryExpiresAtMs: new Map(session.entryExpiresAtMs),
      isEmpty: session.data.size === 0,
      version: session.version,
      expireAtBrowserClose: browserClose,
      expiryAge: browserClose ? this.config.cookieAgeSeconds : this.secondsLeft(expiresAtMs),
      expiresAtMs: browserClose ? null : expiresAtMs,
      createdAtMs: session.createdAtMs ?? null,
    };
  }

  /** A fixed end is never a browser-close session; otherwise seconds 0, or the setting for the default policy. */
  private browserClose(session: Policy): boolean {
    if (session.fixedExpiresAtMs !== undefined) return false;
    return session.expirySeconds === undefined
      ? this.config.expireAtBrowserClose
      : session.expirySeconds === 0;
  }

  /** Whole seconds from now to `endMs`, rounded, never below 0. */
  private secondsLeft(endMs: number): number {
    return Math.max(0, Math.round((endMs - this.nowMs) / 1000));
  }
}

/**
 * Chooses, from `operations`, ones whose parallel run has one outcome whatever the interleaving: reads, data
 * operations and at most one expiry change, on distinct keys, without `ifVersion`, none refused on its own, the
 * session never emptied and never over SESSION_MAX_BYTES whichever of them have run. Deterministic, so a shrunk
 * run replays the same step.
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
    if (!PARALLEL_KINDS.has(operation.kind) || guardOf(operation) !== undefined) continue;
    const keys = keysOf(operation);
    if (keys.some((key) => touched.has(key))) continue;
    if (refusal(limits, new Map(), operation)?.some((limit) => limit !== "SESSION_MAX_BYTES")) continue;
    if (EXPIRY_KINDS.has(operation.kind)) {
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
      if (operation.kind === "setDefault" && !data.has(operation.key))
        data.set(operation.key, operation.value);
      if (operation.kind === "update") for (const [key, value] of operation.values) data.set(key, value);
      if (operation.kind === "pop") data.delete(operation.key);
    });
    if (sessionBytes(data) > maxBytes) return false;
  }
  return true;
}

function defaultPolicy(): Policy {
  return { expirySeconds: undefined, fixedExpiresAtMs: undefined };
}

function isDefaultPolicy(session: Policy): boolean {
  return session.expirySeconds === undefined && session.fixedExpiresAtMs === undefined;
}

function blank(): Working {
  return {
    ref: undefined,
    data: new Map(),
    entryExpiresAtMs: new Map(),
    ...defaultPolicy(),
    userId: undefined,
    userAgent: undefined,
    version: 0,
    expiresAtMs: undefined,
    createdAtMs: undefined,
    savedAtMs: undefined,
  };
}

/** Django's `clear()`: the entries go, and with them the chosen expiry and the login; key and version stay. */
function empty(session: Working): void {
  session.data.clear();
  session.entryExpiresAtMs.clear();
  Object.assign(session, defaultPolicy(), { userId: undefined, userAgent: undefined });
}

function snapshot(session: Working): StoredSession {
  return {
    data: new Map(session.data),
    entryExpiresAtMs: new Map(session.entryExpiresAtMs),
    expirySeconds: session.expirySeconds,
    fixedExpiresAtMs: session.fixedExpiresAtMs,
    userId: session.userId,
    userAgent: session.userAgent,
    version: session.version,
    expiresAtMs: session.expiresAtMs as number,
    createdAtMs: session.createdAtMs as number,
    savedAtMs: session.savedAtMs as number,
  };
}
