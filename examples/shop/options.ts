import { parseCookie } from "cookie";
import type { SessionStore } from "sessionql";

/** How an example shop is started: the same settings for the Express, fastify and standalone shops. */
export interface ShopOptions {
  /** A SESSION_STORE URL or a store; memory:// unless given. */
  store?: string | SessionStore;
  /** Signing secrets (each at least 16 characters). */
  secrets: string[];
  port?: number;
  /** The subscriptions' port where they cannot share the HTTP server's (startStandaloneServer); 0 picks one. */
  wsPort?: number;
  host?: string;
  /** Page origins allowed to call with credentials (the SPA's, for one). */
  corsOrigins?: string[];
}

/** A shop that is listening. */
export interface RunningShop {
  /** The GraphQL endpoint. */
  url: string;
  /** The GraphQL-over-WebSocket endpoint, for subscriptions. */
  wsUrl: string;
  close(): Promise<void>;
}

/** The options from the environment, for `npm run example:*`; a missing secret gets a loud demo one. */
export function shopOptionsFromEnv(env: NodeJS.ProcessEnv, defaultPort: number): ShopOptions {
  return {
    store: env.SESSION_STORE ?? "memory://",
    secrets: (env.SESSION_SECRET ?? "demo-secret-change-me-0123456789").split(","),
    port: Number(env.PORT ?? defaultPort),
    host: env.HOST ?? "127.0.0.1",
    corsOrigins: (env.CORS_ORIGINS ?? "").split(",").filter((origin) => origin !== ""),
  };
}

/** The language a first visit is greeted in, from its Accept-Language header. */
export function localeOf(acceptLanguage: string | undefined): string {
  const first = acceptLanguage?.split(",")[0]?.trim().slice(0, 2).toLowerCase();
  return first !== undefined && /^[a-z]{2}$/.test(first) ? first : "en";
}

/** The attributes of the shop's own cookies (locale, currency); each framework sets them with its own API. */
export const SHOP_COOKIE = { path: "/", httpOnly: true, sameSite: "lax" as const };
/** How long the shop's own cookies last. */
export const SHOP_COOKIE_AGE_SECONDS = 365 * 24 * 3600;

/** A cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  return header === undefined ? undefined : parseCookie(header)[name];
}
