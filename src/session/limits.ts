import { BadInputError } from "./errors";

/** The input limits of the contract, each named after its configuration variable. */
export interface SessionLimits {
  maxKeyLength: number;
  maxValueBytes: number;
  maxSessionBytes: number;
  maxDepth: number;
}

/** Throws unless `key` is 1 to `maxKeyLength` characters long. */
export function checkKey(key: string, limits: SessionLimits): void {
  const length = codePointLength(key);
  if (length < 1 || length > limits.maxKeyLength) {
    throw new BadInputError(
      `key must be 1–${limits.maxKeyLength} characters (SESSION_MAX_KEY_LENGTH), got ${length}`,
    );
  }
}

/** Throws unless `value` is within the depth and byte limits; returns its JSON size in bytes. */
export function checkValue(value: unknown, limits: SessionLimits, what = "value"): number {
  const depth = jsonDepth(value);
  if (depth > limits.maxDepth) {
    throw new BadInputError(
      `${what} must be nested at most ${limits.maxDepth} levels deep (SESSION_MAX_DEPTH), got ${depth}`,
    );
  }
  const bytes = jsonBytes(value);
  if (bytes > limits.maxValueBytes) {
    throw new BadInputError(
      `${what} must be at most ${limits.maxValueBytes} bytes of JSON (SESSION_MAX_VALUE_BYTES), got ${bytes}`,
    );
  }
  return bytes;
}

/** Throws unless the whole session's JSON fits in `maxSessionBytes`; returns its size in bytes. */
export function checkSessionSize(data: Record<string, unknown>, limits: SessionLimits): number {
  const bytes = jsonBytes(data);
  if (bytes > limits.maxSessionBytes) {
    throw new BadInputError(
      `session must be at most ${limits.maxSessionBytes} bytes of JSON (SESSION_MAX_BYTES), got ${bytes}`,
    );
  }
  return bytes;
}

/** A key as a message quotes it: cut after 40 characters, so a huge key cannot make a huge message. */
export function shownKey(key: string): string {
  return key.length > 40 ? `${key.slice(0, 40)}…` : key;
}

/** Characters as a user counts them: code points, not UTF-16 units. */
function codePointLength(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    length++;
  }
  return length;
}

/** The UTF-8 length of a value's JSON text. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "null", "utf8");
}

/**
 * Nesting depth: a scalar is 0, `[]` or `{}` is 1, each level adds 1.
 * Iterative, because hostile input may be nested far deeper than the call stack allows.
 */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (current === null || typeof current !== "object") {
      deepest = Math.max(deepest, depth);
      continue;
    }
    deepest = Math.max(deepest, depth + 1);
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (child !== null && typeof child === "object") pending.push([child, depth + 1]);
    }
  }
  return deepest;
}
