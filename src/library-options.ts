import { ConfigError, type CookieConfig, type LimitsConfig, loadConfig } from "./config";
import type { SessionEvent } from "./session/service";
import type { Clock } from "./session/session";
import type { SessionStore } from "./session/store";
import { isSupportedStoreUrl } from "./stores/index";

/** A Keyv instance, as far as sessionql needs to recognise one (any Keyv 5, the application's own copy too). */
export interface KeyvLike {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
  delete(key: string): Promise<boolean>;
  opts: unknown;
}

/** What `createSessions()` takes: the store and secrets, and the server's settings in camelCase. */
export interface SessionsOptions {
  /** A SESSION_STORE URL (`memory://`, `sqlite://…`, `redis://…`, `redis+cluster://…`, `postgres://…`), a SessionStore, or a Keyv instance. */
  store: string | SessionStore | KeyvLike;
  /** Signing secrets, each at least 16 characters: the first signs cookies, all verify (rotation). */
  secrets: readonly string[];
  /** The session cookie (SESSION_COOKIE_*). */
  cookie?: Partial<CookieConfig>;
  /** SESSION_EXPIRE_AT_BROWSER_CLOSE. */
  expireAtBrowserClose?: boolean;
  /** SESSION_SAVE_EVERY_REQUEST. */
  saveEveryRequest?: boolean;
  /** SESSION_ABSOLUTE_AGE: seconds after a session's createdAt when it ends however active it is. */
  absoluteAgeSeconds?: number;
  /** SESSION_ENCRYPTION_KEYS: 32-byte keys in base64; the first seals session data at rest, all open it. */
  encryptionKeys?: readonly string[];
  /** SESSION_HEADER: a header name that turns on the header transport for clients without cookies. */
  header?: string;
  /** The input limits (SESSION_MAX_KEY_LENGTH, SESSION_MAX_VALUE_BYTES, SESSION_MAX_BYTES, SESSION_MAX_DEPTH). */
  limits?: { maxKeyLength?: number; maxValueBytes?: number; maxBytes?: number; maxDepth?: number };
  /** SESSION_CREATE_RATE: new sessions one client address may create per window; off unless given. */
  createRate?: { limit: number; windowSeconds: number };
  /** SESSION_SWEEP_INTERVAL [300]: how often expired sessions are purged; 0 runs no sweeper (purge by cron). */
  sweepIntervalSeconds?: number;
  /** Keys starting with it are reachable only through `context.session`, never through the session operations. */
  privateKeyPrefix?: string;
  /** A login past this many live sessions of one user ends that user's least recently used ones; no limit unless given. */
  maxSessionsPerUser?: number;
  /** The source of the current time (tests move it); the wall clock otherwise. */
  clock?: Clock;
  /** Told of sessions created, cycled, flushed, emptied, conflicts and refusals (for metrics); must not throw. */
  onEvent?: (event: SessionEvent) => void;
  /** Told of each sweep's outcome (for logs and metrics); must not throw. */
  onSweep?: (outcome: { removed: number } | { error: unknown }) => void;
  /** Told when a sealed record opens with none of the encryption keys (it then reads as no session). */
  onUnreadable?: (error: unknown) => void;
  /** Told when a saved change could not be passed on to live subscribers (the change itself is saved). */
  onChangeNotSent?: (error: unknown) => void;
}

/** The options checked and completed with the server's defaults. */
export interface SessionSettings {
  readonly store: string | SessionStore | KeyvLike;
  readonly secrets: readonly string[];
  readonly cookie: CookieConfig;
  readonly expireAtBrowserClose: boolean;
  readonly saveEveryRequest: boolean;
  readonly absoluteAgeSeconds: number | undefined;
  readonly encryptionKeys: readonly string[];
  readonly header: string | undefined;
  readonly limits: LimitsConfig;
  readonly createRate: { readonly limit: number; readonly windowSeconds: number };
  readonly sweepIntervalSeconds: number;
  readonly privateKeyPrefix: string | undefined;
  readonly maxSessionsPerUser: number | undefined;
}

/** Each option the server also reads from the environment, and that variable: one set of rules and defaults. */
const VARIABLES = {
  "cookie.name": "SESSION_COOKIE_NAME",
  "cookie.ageSeconds": "SESSION_COOKIE_AGE",
  "cookie.domain": "SESSION_COOKIE_DOMAIN",
  "cookie.path": "SESSION_COOKIE_PATH",
  "cookie.secure": "SESSION_COOKIE_SECURE",
  "cookie.httpOnly": "SESSION_COOKIE_HTTPONLY",
  "cookie.sameSite": "SESSION_COOKIE_SAMESITE",
  expireAtBrowserClose: "SESSION_EXPIRE_AT_BROWSER_CLOSE",
  saveEveryRequest: "SESSION_SAVE_EVERY_REQUEST",
  absoluteAgeSeconds: "SESSION_ABSOLUTE_AGE",
  encryptionKeys: "SESSION_ENCRYPTION_KEYS",
  header: "SESSION_HEADER",
  "limits.maxKeyLength": "SESSION_MAX_KEY_LENGTH",
  "limits.maxValueBytes": "SESSION_MAX_VALUE_BYTES",
  "limits.maxBytes": "SESSION_MAX_BYTES",
  "limits.maxDepth": "SESSION_MAX_DEPTH",
  createRate: "SESSION_CREATE_RATE",
  sweepIntervalSeconds: "SESSION_SWEEP_INTERVAL",
} as const;

/** The most `maxSessionsPerUser` may be: a login lists the user's sessions, so the bound keeps that listing small. */
const MAX_SESSIONS_PER_USER = 10_000;

const TOP_LEVEL = new Set([
  "store",
  "secrets",
  "cookie",
  "limits",
  "privateKeyPrefix",
  "maxSessionsPerUser",
  "clock",
  "onEvent",
  "onSweep",
  "onUnreadable",
  "onChangeNotSent",
  ...Object.keys(VARIABLES).filter((option) => !option.includes(".")),
]);
const NESTED = new Set(Object.keys(VARIABLES).filter((option) => option.includes(".")));

/**
 * Checks the options by the server's own rules (the same limits and defaults as its environment variables) and
 * throws one ConfigError naming every bad option and what is allowed.
 */
export function checkSessionsOptions(options: SessionsOptions): SessionSettings {
  const problems: string[] = [];
  const given = options as unknown as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!TOP_LEVEL.has(name)) problems.push(`unknown option "${name}"`);
  }
  for (const group of ["cookie", "limits"] as const) {
    for (const name of Object.keys(given[group] ?? {})) {
      if (!NESTED.has(`${group}.${name}`)) problems.push(`unknown option "${group}.${name}"`);
    }
  }
  checkStore(options.store, problems);
  const secrets = Array.isArray(options.secrets) ? options.secrets : [];
  if (secrets.length === 0 || secrets.some((secret) => typeof secret !== "string" || secret.length < 16)) {
    problems.push("secrets must be a non-empty array of strings of at least 16 characters (the first signs)");
  }
  const prefix = options.privateKeyPrefix;
  if (prefix !== undefined && (typeof prefix !== "string" || prefix.length < 1 || prefix.length > 64)) {
    problems.push(`privateKeyPrefix must be a string of 1–64 characters, got ${JSON.stringify(prefix)}`);
  }
  const { maxSessionsPerUser } = options;
  if (
    maxSessionsPerUser !== undefined &&
    (!Number.isSafeInteger(maxSessionsPerUser) ||
      maxSessionsPerUser < 1 ||
      maxSessionsPerUser > MAX_SESSIONS_PER_USER)
  ) {
    problems.push(
      `maxSessionsPerUser must be a whole number from 1 to ${MAX_SESSIONS_PER_USER}, got ${JSON.stringify(maxSessionsPerUser)}`,
    );
  }
  const sweepOff = options.sweepIntervalSeconds === 0;

  let config: ReturnType<typeof loadConfig> | undefined;
  try {
    config = loadConfig(
      asEnvironment({
        ...options,
        sweepIntervalSeconds: sweepOff ? undefined : options.sweepIntervalSeconds,
      }),
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map(inOptionWords));
  }
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  return {
    store: options.store,
    secrets: [...secrets],
    cookie: config.cookie,
    expireAtBrowserClose: config.expireAtBrowserClose,
    saveEveryRequest: config.saveEveryRequest,
    absoluteAgeSeconds: config.absoluteAgeSeconds,
    encryptionKeys: config.encryptionKeys,
    header: config.sessionHeader,
    limits: config.limits,
    createRate: config.sessionCreateRate,
    sweepIntervalSeconds: sweepOff ? 0 : config.sweepIntervalSeconds,
    privateKeyPrefix: prefix,
    maxSessionsPerUser,
  };
}

function checkStore(store: unknown, problems: string[]): void {
  if (typeof store === "string") {
    if (!isSupportedStoreUrl(store)) {
      problems.push(
        `store must be a URL such as memory://, sqlite://<path>, redis://host:port, redis+cluster://h1:p1,h2:p2 or postgres://…, got "${store}"`,
      );
    }
    return;
  }
  if (!isSessionStore(store) && !isKeyv(store)) {
    problems.push("store must be a store URL, a SessionStore or a Keyv instance");
  }
}

/** Whether `store` implements the SessionStore port. */
export function isSessionStore(store: unknown): store is SessionStore {
  const candidate = store as Partial<SessionStore> | undefined;
  return (
    typeof candidate?.load === "function" &&
    typeof candidate.save === "function" &&
    typeof candidate.clearExpired === "function"
  );
}

/** Whether `store` is a Keyv instance (duck-typed, so the application's own copy of Keyv counts). */
export function isKeyv(store: unknown): store is KeyvLike {
  const candidate = store as Partial<KeyvLike> | undefined;
  return typeof candidate?.get === "function" && typeof candidate.set === "function" && "opts" in candidate;
}

/** The options as the environment variables the server reads, so both are checked by one set of rules. */
function asEnvironment(options: SessionsOptions): Record<string, string> {
  const env: Record<string, string> = {};
  const given = options as unknown as Record<string, unknown>;
  for (const [option, variable] of Object.entries(VARIABLES)) {
    const [group, name] = option.split(".") as [string, string | undefined];
    const value =
      name === undefined ? given[group] : (given[group] as Record<string, unknown> | undefined)?.[name];
    if (value === undefined) continue;
    env[variable] =
      option === "createRate" && typeof value === "object" && value !== null
        ? rateText(value as { limit: unknown; windowSeconds: unknown })
        : Array.isArray(value)
          ? value.join(",")
          : String(value);
  }
  return env;
}

function rateText(rate: { limit: unknown; windowSeconds: unknown }): string {
  return rate.limit === 0 ? "0" : `${rate.limit}/${rate.windowSeconds}`;
}

/** A problem as the server words it, with each variable's name replaced by the option's. */
function inOptionWords(problem: string): string {
  let text = problem;
  for (const [option, variable] of Object.entries(VARIABLES)) {
    text = text.replace(new RegExp(`\\b${variable}\\b`, "g"), option);
  }
  return text;
}
