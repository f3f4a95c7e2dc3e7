import { resolve } from "node:path";
import type { Clock } from "../session/session";
import type { SessionStore } from "../session/store";
import { createMemoryStore } from "./memory";
import { createPostgresStore } from "./postgres";
import { createRedisStore } from "./redis";
import { createSqliteStore } from "./sqlite";

/** The store URL schemes this build can open. */
export const STORE_SCHEMES = [
  "memory:",
  "sqlite:",
  "redis:",
  "rediss:",
  "redis+cluster:",
  "postgres:",
  "postgresql:",
] as const;

/** Opens the store a URL names; the only place that switches on the scheme. */
export function createStore(url: string, clock?: Clock): SessionStore {
  const scheme = schemeOf(url);
  switch (scheme) {
    case "memory:":
      return createMemoryStore(clock);
    case "sqlite:":
      return createSqliteStore(sqliteFilePath(url) as string, clock);
    case "redis:":
    case "rediss:":
    case "redis+cluster:":
      return createRedisStore(url, clock);
    case "postgres:":
    case "postgresql:":
      return createPostgresStore(url, clock);
    default:
      throw new Error(`unsupported session store scheme "${scheme}"; use one of ${STORE_SCHEMES.join(", ")}`);
  }
}

/** Whether `url` names a store this build can open. */
export function isSupportedStoreUrl(url: string): boolean {
  const scheme = schemeOf(url);
  if (scheme === "sqlite:") return sqliteFilePath(url) !== undefined;
  return (STORE_SCHEMES as readonly string[]).includes(scheme);
}

/** The absolute file path of a `sqlite://<path>` URL, or undefined for another scheme or an empty path. */
export function sqliteFilePath(url: string): string | undefined {
  const prefix = "sqlite://";
  if (!url.startsWith(prefix) || url.length === prefix.length) return undefined;
  // `sqlite://./data/x.sqlite` is relative to the working directory, `sqlite:///var/x.sqlite` absolute.
  return resolve(decodeURIComponent(url.slice(prefix.length)));
}

function schemeOf(url: string): string {
  const colon = url.indexOf(":");
  return colon < 0 ? "" : url.slice(0, colon + 1).toLowerCase();
}
