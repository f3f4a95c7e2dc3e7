import { isIP } from "node:net";

/** Everything sessionql reads from its environment, validated once. */
export interface Config {
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  readonly storeUrl: string;
  /** Signing secrets: the first signs, all verify. Empty when none was configured. */
  readonly secrets: readonly string[];
  readonly cookie: CookieConfig;
  /** The request/response header that may carry the session instead of the cookie (non-browser clients); off when undefined. */
  readonly sessionHeader: string | undefined;
  readonly expireAtBrowserClose: boolean;
  readonly saveEveryRequest: boolean;
  readonly limits: LimitsConfig;
  readonly corsOrigins: readonly string[];
  /**
   * Which proxies decide the client address and protocol (X-Forwarded-For, X-Forwarded-Proto): none (false), every
   * hop (true), the N nearest hops, or the listed addresses and CIDR ranges.
   */
  readonly trustProxy: TrustProxy;
  readonly sweepIntervalSeconds: number;
  readonly logLevel: string;
  readonly graphql: GraphQLConfig;
  /** Seconds after a session's createdAt when it ends whatever its activity; undefined for no absolute timeout. */
  readonly absoluteAgeSeconds: number | undefined;
  /** AES-256-GCM keys in base64 (the first seals, all open); empty when data is stored in clear. */
  readonly encryptionKeys: readonly string[];
  /** New sessions one client address may create per window; 0 turns the limit off. */
  readonly sessionCreateRate: { readonly limit: number; readonly windowSeconds: number };
  /** How long in-flight operations get to finish after SIGTERM/SIGINT before the process exits anyway. */
  readonly shutdownGraceSeconds: number;
  /** Server processes sharing the port (node:cluster); 1 serves from this process alone. */
  readonly workers: number;
}

/** TRUST_PROXY: none, every hop, a hop count, or trusted addresses and CIDR ranges. */
export type TrustProxy = boolean | number | readonly string[];

/** Limits on GraphQL documents, enforced while parsing and validating, before anything runs. */
export interface GraphQLConfig {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxCost: number;
  readonly maxDirectives: number;
  readonly maxTokens: number;
  readonly introspection: boolean;
  /** Requests that carry an array of operations; off unless enabled. */
  readonly batching: boolean;
}

/** The session cookie, named as Django names its settings. */
export interface CookieConfig {
  readonly name: string;
  readonly ageSeconds: number;
  readonly domain: string | undefined;
  readonly path: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite: "Lax" | "Strict" | "None";
}

/** The input limits. */
export interface LimitsConfig {
  readonly maxKeyLength: number;
  readonly maxValueBytes: number;
  readonly maxSessionBytes: number;
  readonly maxDepth: number;
}

/** Every configuration problem found at start, listed in one message. */
export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** The defaults, one table, as the README shows them. */
export const DEFAULTS = {
  PORT: "4000",
  HOST: "127.0.0.1",
  SESSION_STORE: "sqlite://./data/sessions.sqlite",
  SESSION_COOKIE_NAME: "sessionid",
  SESSION_COOKIE_AGE: "1209600",
  SESSION_COOKIE_PATH: "/",
  SESSION_COOKIE_SECURE: "false",
  SESSION_COOKIE_HTTPONLY: "true",
  SESSION_COOKIE_SAMESITE: "Lax",
  SESSION_EXPIRE_AT_BROWSER_CLOSE: "false",
  SESSION_SAVE_EVERY_REQUEST: "false",
  SESSION_MAX_KEY_LENGTH: "256",
  SESSION_MAX_VALUE_BYTES: "65536",
  SESSION_MAX_BYTES: "262144",
  SESSION_MAX_DEPTH: "32",
  SESSION_SWEEP_INTERVAL: "300",
  TRUST_PROXY: "false",
  LOG_LEVEL: "info",
  GRAPHQL_MAX_DEPTH: "10",
  GRAPHQL_MAX_ALIASES: "15",
  GRAPHQL_MAX_COST: "1000",
  GRAPHQL_MAX_DIRECTIVES: "10",
  GRAPHQL_MAX_TOKENS: "1000",
  GRAPHQL_BATCHING: "false",
  SESSION_CREATE_RATE: "0",
  SHUTDOWN_GRACE_SECONDS: "10",
  SESSIONQL_WORKERS: "1",
} as const;

type Env = Readonly<Record<string, string | undefined>>;

const STORE_URL =
  /^(memory:\/\/|sqlite:\/\/.+|redis:\/\/.+|rediss:\/\/.+|redis\+cluster:\/\/.+|postgres(ql)?:\/\/.+)$/;
// Cookie names are RFC 6265 tokens; paths and domains must not smuggle attribute separators.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_ATTRIBUTE = /^[\x21-\x3a\x3c-\x7e]+$/;
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Reads and checks every variable; returns a frozen Config or throws one ConfigError listing every problem. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = new Reader(env, problems);
  const production = env.NODE_ENV === "production";

  const secrets = (env.SESSION_SECRET ?? "")
    .split(",")
    .map((secret) => secret.trim())
    .filter((secret) => secret.length > 0);
  if (production && secrets.length === 0) {
    problems.push(
      "SESSION_SECRET is required when NODE_ENV=production (comma-separated; the first signs cookies)",
    );
  }
  if (secrets.some((secret) => secret.length < 16)) {
    problems.push("SESSION_SECRET: every secret must be at least 16 characters long");
  }

  const cookie: CookieConfig = {
    name: read.matching("SESSION_COOKIE_NAME", COOKIE_NAME, "a cookie-name token such as sessionid"),
    ageSeconds: read.integer("SESSION_COOKIE_AGE", 1, 10 * 365 * 24 * 3600),
    domain: env.SESSION_COOKIE_DOMAIN
      ? read.matching("SESSION_COOKIE_DOMAIN", COOKIE_ATTRIBUTE, "a domain without spaces or ';'")
      : undefined,
    path: read.matching("SESSION_COOKIE_PATH", /^\/[\x21-\x3a\x3c-\x7e]*$/, "a path starting with '/'"),
    secure: read.boolean("SESSION_COOKIE_SECURE"),
    httpOnly: read.boolean("SESSION_COOKIE_HTTPONLY"),
    sameSite: read.oneOf("SESSION_COOKIE_SAMESITE", ["Lax", "Strict", "None"]) as CookieConfig["sameSite"],
  };
  if (cookie.sameSite === "None" && !cookie.secure) {
    problems.push(
      "SESSION_COOKIE_SAMESITE=None needs SESSION_COOKIE_SECURE=true (browsers drop it otherwise)",
    );
  }

  const sessionHeader = env.SESSION_HEADER
    ? read.matching("SESSION_HEADER", HEADER_NAME, "an HTTP header name such as X-Session-Token")
    : undefined;
  if (sessionHeader !== undefined && RESERVED_HEADERS.has(sessionHeader.toLowerCase())) {
    problems.push(`SESSION_HEADER must not be ${sessionHeader}, which HTTP or the cookie already uses`);
  }

  const maxValueBytes = read.integer("SESSION_MAX_VALUE_BYTES", 1, 16 * 1024 * 1024);
  const maxSessionBytes = read.integer("SESSION_MAX_BYTES", 2, 64 * 1024 * 1024);
  const corsOrigins = (env.CORS_ORIGINS ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  for (const origin of corsOrigins) {
    if (!isOrigin(origin))
      problems.push(`CORS_ORIGINS: "${origin}" is not an origin like https://app.example.com`);
  }

  const config: Config = {
    production,
    port: read.integer("PORT", 0, 65535),
    host: read.matching("HOST", /^[A-Za-z0-9.:[\]-]+$/, "a host name or IP address"),
    storeUrl: read.matching(
      "SESSION_STORE",
      STORE_URL,
      "memory://, sqlite://<path>, redis://host:port[/db], rediss://…, redis+cluster://h1:p1,h2:p2 or postgres://…",
    ),
    secrets,
    cookie,
    sessionHeader,
    expireAtBrowserClose: read.boolean("SESSION_EXPIRE_AT_BROWSER_CLOSE"),
    saveEveryRequest: read.boolean("SESSION_SAVE_EVERY_REQUEST"),
    limits: {
      maxKeyLength: read.integer("SESSION_MAX_KEY_LENGTH", 1, 4096),
      maxValueBytes,
      maxSessionBytes,
      maxDepth: read.integer("SESSION_MAX_DEPTH", 1, 1000),
    },
    corsOrigins,
    trustProxy: read.trustProxy("TRUST_PROXY"),
    sweepIntervalSeconds: read.integer("SESSION_SWEEP_INTERVAL", 1, 7 * 24 * 3600),
    logLevel: read.oneOf("LOG_LEVEL", LOG_LEVELS),
    graphql: readGraphQLConfig(read, env, production),
    absoluteAgeSeconds: env.SESSION_ABSOLUTE_AGE
      ? read.integer("SESSION_ABSOLUTE_AGE", 1, 10 * 365 * 24 * 3600)
      : undefined,
    encryptionKeys: read.encryptionKeys("SESSION_ENCRYPTION_KEYS"),
    sessionCreateRate: read.rate("SESSION_CREATE_RATE"),
    shutdownGraceSeconds: read.integer("SHUTDOWN_GRACE_SECONDS", 1, 3600),
    workers: read.integer("SESSIONQL_WORKERS", 1, 64),
  };
  if (config.workers > 1 && config.storeUrl.startsWith("memory:")) {
    problems.push(
      `SESSIONQL_WORKERS=${config.workers} needs a store the workers can share; memory:// lives inside one process (use sqlite://, redis:// or postgres://)`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** Variables with no default: absent means the feature is off. */
type OptionalVariable =
  | "SESSION_COOKIE_DOMAIN"
  | "SESSION_HEADER"
  | "GRAPHQL_INTROSPECTION"
  | "SESSION_ABSOLUTE_AGE"
  | "SESSION_ENCRYPTION_KEYS";

/** An HTTP field name (RFC 9110 token), at most 64 characters. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
/** Headers the session must never be read from or written to: the cookie's own, and those HTTP itself manages. */
const RESERVED_HEADERS = new Set([
  "cookie",
  "set-cookie",
  "authorization",
  "content-type",
  "content-length",
  "host",
  "origin",
  "vary",
  "connection",
  "transfer-encoding",
]);

/** Reads one variable at a time, recording problems instead of stopping at the first. */
class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  private raw(name: keyof typeof DEFAULTS | OptionalVariable): string {
    const value = this.env[name];
    return value === undefined || value === ""
      ? ((DEFAULTS as Record<string, string>)[name] ?? "")
      : value.trim();
  }

  integer(name: keyof typeof DEFAULTS | OptionalVariable, min: number, max: number): number {
    const text = this.raw(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
      return min;
    }
    return value;
  }

  /** `<count>/<seconds>`, or 0 for no limit. */
  rate(name: keyof typeof DEFAULTS): { limit: number; windowSeconds: number } {
    const text = this.raw(name);
    if (text === "0") return { limit: 0, windowSeconds: 1 };
    const match = /^(\d{1,7})\/(\d{1,6})$/.exec(text);
    const limit = Number(match?.[1]);
    const windowSeconds = Number(match?.[2]);
    if (!match || limit < 1 || windowSeconds < 1) {
      this.problems.push(
        `${name} must be <count>/<seconds> such as 100/60, or 0 for no limit, got "${text}"`,
      );
      return { limit: 0, windowSeconds: 1 };
    }
    return { limit, windowSeconds };
  }

  /** `false`, `true`, a hop count, or comma-separated addresses and CIDR ranges (proxy-addr's names too). */
  trustProxy(name: keyof typeof DEFAULTS): TrustProxy {
    const text = this.raw(name).toLowerCase();
    if (["true", "yes", "on"].includes(text)) return true;
    if (["false", "no", "off"].includes(text)) return false;
    if (/^\d+$/.test(text)) {
      const hops = Number(text);
      if (hops <= 64) return hops === 0 ? false : hops;
    }
    const entries = text.split(",").map((entry) => entry.trim());
    const bad = entries.filter((entry) => !isProxyAddress(entry));
    if (bad.length > 0) {
      this.problems.push(
        `${name} must be true, false, a hop count from 0 to 64, or comma-separated addresses and CIDR ranges such as 10.0.0.0/8, got "${bad.join(", ")}"`,
      );
      return false;
    }
    return entries;
  }

  /** Comma-separated 32-byte keys in base64; none when unset. */
  encryptionKeys(name: OptionalVariable): string[] {
    const text = this.env[name]?.trim() ?? "";
    if (text === "") return [];
    const keys = text.split(",").map((key) => key.trim());
    keys.forEach((key, index) => {
      if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(key) || Buffer.from(key, "base64").length !== 32) {
        this.problems.push(
          `${name}: key ${index + 1} must be 32 random bytes in base64 (openssl rand -base64 32), got ${key.length} characters`,
        );
      }
    });
    return keys;
  }

  boolean(name: keyof typeof DEFAULTS | OptionalVariable): boolean {
    const text = this.raw(name).toLowerCase();
    if (["true", "1", "yes", "on"].includes(text)) return true;
    if (["false", "0", "no", "off"].includes(text)) return false;
    this.problems.push(`${name} must be true or false, got "${text}"`);
    return false;
  }

  oneOf(name: keyof typeof DEFAULTS, allowed: readonly string[]): string {
    const text = this.raw(name);
    const match = allowed.find((option) => option.toLowerCase() === text.toLowerCase());
    if (match === undefined)
      this.problems.push(`${name} must be one of ${allowed.join(", ")}, got "${text}"`);
    return match ?? (allowed[0] as string);
  }

  matching(name: keyof typeof DEFAULTS | OptionalVariable, pattern: RegExp, allowed: string): string {
    const text = this.raw(name);
    if (!pattern.test(text)) this.problems.push(`${name} must be ${allowed}, got "${text}"`);
    return text;
  }
}

/** An IP address, a CIDR range, or one of proxy-addr's names for address ranges. */
function isProxyAddress(entry: string): boolean {
  if (["loopback", "linklocal", "uniquelocal"].includes(entry)) return true;
  const [address, prefix, extra] = entry.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === text;
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The GRAPHQL_* variables: limits on documents, introspection and batching. */
function readGraphQLConfig(read: Reader, env: Env, production: boolean): GraphQLConfig {
  return {
    maxDepth: read.integer("GRAPHQL_MAX_DEPTH", 1, 100),
    maxAliases: read.integer("GRAPHQL_MAX_ALIASES", 0, 1000),
    maxCost: read.integer("GRAPHQL_MAX_COST", 1, 1_000_000),
    maxDirectives: read.integer("GRAPHQL_MAX_DIRECTIVES", 0, 1000),
    maxTokens: read.integer("GRAPHQL_MAX_TOKENS", 50, 1_000_000),
    // Production hides the schema unless asked: clients there use the committed schema.graphql.
    introspection: env.GRAPHQL_INTROSPECTION ? read.boolean("GRAPHQL_INTROSPECTION") : !production,
    batching: read.boolean("GRAPHQL_BATCHING"),
  };
}

/** The GraphQL settings of a server started with no GRAPHQL_* variables, for a library user who gives none. */
export const DEFAULT_GRAPHQL_CONFIG: GraphQLConfig = Object.freeze(
  readGraphQLConfig(new Reader({}, []), {}, false),
);
