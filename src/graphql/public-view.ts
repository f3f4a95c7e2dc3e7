import type { RequestSession } from "../http/request-session";
import { BadInputError } from "../session/errors";
import { shownKey } from "../session/limits";
import type { SessionData } from "../session/store";
import { asGraphQLError, sessionGraphQLError } from "./errors";

/*
 * What the session operations, which a browser can call, may see of a session: everything but the keys under
 * `privateKeyPrefix`, which belong to the application's own code (a user id, a role). Reading a private key
 * through GraphQL finds nothing there; naming one in a mutation is refused before anything changes.
 */

/** Whether `key` is one only the application may use. */
function isPrivate(request: RequestSession, key: string): boolean {
  const prefix = request.layer.privateKeyPrefix;
  return prefix !== undefined && key.startsWith(prefix);
}

/** Throws BAD_USER_INPUT when any of `keys` is private. */
export function refusePrivateKeys(request: RequestSession, keys: Iterable<string>): void {
  const prefix = request.layer.privateKeyPrefix;
  if (prefix === undefined) return;
  for (const key of keys) {
    if (key.startsWith(prefix)) {
      throw sessionGraphQLError(
        new BadInputError(
          `keys starting with "${prefix}" are kept for the application, got "${shownKey(key)}"`,
        ),
      );
    }
  }
}

/** Every public entry. */
export function publicItems(request: RequestSession): SessionData {
  const items = request.session.items();
  if (request.layer.privateKeyPrefix === undefined) return items;
  for (const key in items) if (isPrivate(request, key)) delete items[key];
  return items;
}

/** Every public key, in insertion order. */
export function publicKeys(request: RequestSession): string[] {
  const keys = request.session.keys();
  if (request.layer.privateKeyPrefix === undefined) return keys;
  return keys.filter((key) => !isPrivate(request, key));
}

/** The value under a public `key`, else `defaultValue`; the key and default are checked against the limits. */
export function publicGet(request: RequestSession, key: string, defaultValue: unknown): unknown {
  const value = coded(() => request.session.get(key, defaultValue));
  return isPrivate(request, key) ? defaultValue : value;
}

/** Whether a public `key` holds a value. */
export function publicHas(request: RequestSession, key: string): boolean {
  return coded(() => request.session.has(key)) && !isPrivate(request, key);
}

/** When a public `key`'s entry ends by itself; null for a private key, as for one with no expiry. */
export function publicKeyExpiresAt(request: RequestSession, key: string): Date | null {
  const at = coded(() => request.session.keyExpiresAt(key));
  return isPrivate(request, key) ? null : at;
}

/** Runs a synchronous check, throwing a session error as the coded GraphQL error a client reads. */
function coded<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw asGraphQLError(error);
  }
}
