/**
 * The operations the session model drives, and the contract's input rules for them (CONTRACT.md, "Precise
 * rules"): which requests are refused as bad input, and what an `ifVersion` names.
 */

/** A JSON value as the session stores it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

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

/** A request that the server must refuse with BAD_USER_INPUT, leaving the session as it was. */
export type InvalidKind =
  | "setEmptyKey"
  | "setLongKey"
  | "popEmptyKey"
  | "updateWithEmptyKey"
  | "negativeExpiry"
  | "getEmptyKey"
  | "setDefaultEmptyKey"
  | "keyExpiresAtEmptyKey"
  | "expiresInZero"
  | "expiresInNegative"
  | "setDefaultExpiresInZero"
  | "expiryAtNow"
  | "expiryAtPast"
  | "expiryAtAndSeconds";

/** The refused requests whose message names SESSION_MAX_KEY_LENGTH (a key is checked wherever one is taken). */
const KEY_REFUSALS: ReadonlySet<InvalidKind> = new Set([
  "setEmptyKey",
  "setLongKey",
  "popEmptyKey",
  "updateWithEmptyKey",
  "getEmptyKey",
  "setDefaultEmptyKey",
  "keyExpiresAtEmptyKey",
]);

/**
 * The refused requests whose arguments contradict each other on their own: refused before the session is read,
 * so they touch no session (no cookie effect, no save-every-request refresh).
 */
export const UNTOUCHING_REFUSALS: ReadonlySet<InvalidKind> = new Set(["expiryAtAndSeconds"]);

/**
 * Which version a mutation's `ifVersion` names, chosen relative to the stored version when it runs (0 while
 * nothing is stored): that one (it applies), the one before it (1 while nothing is stored), the one after it,
 * or 0 ("only while no session is stored").
 */
export type VersionGuard = "current" | "previous" | "next" | "zero";

/** What a mutation may carry besides its own arguments. */
interface Guarded {
  ifVersion?: VersionGuard;
}

/** One GraphQL operation of one visitor. */
export type Operation =
  | { kind: "read" }
  /** `expiresIn` undefined leaves the argument out. */
  | ({ kind: "set"; key: string; value: Json; expiresIn?: number } & Guarded)
  | ({ kind: "setDefault"; key: string; value: Json; expiresIn?: number } & Guarded)
  /** `default: undefined` leaves the argument out; `null` sends it as null. */
  | ({ kind: "pop"; key: string; default: Json | undefined } & Guarded)
  | ({ kind: "update"; values: ReadonlyArray<readonly [string, Json]> } & Guarded)
  | ({ kind: "clear" } & Guarded)
  | ({ kind: "flush" } & Guarded)
  | ({ kind: "cycle" } & Guarded)
  /** `omitArgument` sends `setSessionExpiry` with no `seconds` at all (seconds is then null). */
  | ({ kind: "setExpiry"; seconds: number | null; omitArgument: boolean } & Guarded)
  /** `setSessionExpiry(at:)` with a moment `inSeconds` (≥ 1) after the one the request runs at. */
  | ({ kind: "setExpiryAt"; inSeconds: number } & Guarded)
  | { kind: "invalid"; what: InvalidKind };

/** The `ifVersion` a guard names for a session at `version`; undefined for no guard. */
export function resolveGuard(guard: VersionGuard | undefined, version: number): number | undefined {
  switch (guard) {
    case undefined:
      return undefined;
    case "current":
      return version;
    case "previous":
      return version > 0 ? version - 1 : 1;
    case "next":
      return version + 1;
    case "zero":
      return 0;
  }
}

/** The guard of an operation, if it has one. */
export function guardOf(operation: Operation): VersionGuard | undefined {
  return "ifVersion" in operation ? operation.ifVersion : undefined;
}

/**
 * Whether the contract refuses `operation` on a session holding `data` as bad input, and if so the limits its
 * message may name: keys are checked wherever one is taken, each value for depth and size, and the whole
 * session's size after the change. (Defaults of get and popSession are left alone: the contract does not say
 * whether they are limited, and the generated ones stay within every limit. setSessionDefault's value is
 * generated within the limits of one value: for a present key the server does not check it, see
 * divergences.test.ts.)
 */
export function refusal(
  limits: Limits,
  data: ReadonlyMap<string, Json>,
  operation: Operation,
): Array<keyof Limits> | undefined {
  if (operation.kind === "invalid") return KEY_REFUSALS.has(operation.what) ? ["SESSION_MAX_KEY_LENGTH"] : [];
  const violated = new Set<keyof Limits>();
  for (const key of keysOf(operation)) {
    if (!keyFits(limits, key)) violated.add("SESSION_MAX_KEY_LENGTH");
  }
  // setSessionDefault of a present key stores nothing, so nothing can outgrow a limit.
  const stores = operation.kind !== "setDefault" || !data.has(operation.key);
  const entries = stores ? entriesOf(operation) : [];
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

/** The entries an operation would store. */
export function entriesOf(operation: Operation): Array<readonly [string, Json]> {
  switch (operation.kind) {
    case "set":
    case "setDefault":
      return [[operation.key, operation.value]];
    case "update":
      return [...operation.values];
    default:
      return [];
  }
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
    case "setDefault":
    case "pop":
      return [operation.key];
    case "update":
      return operation.values.map(([key]) => key);
    default:
      return [];
  }
}
