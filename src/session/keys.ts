import { createHmac, randomBytes } from "node:crypto";

/** 24 random bytes: 192 bits, above the 128 the contract asks for. */
const SESSION_KEY_BYTES = 24;
const WELL_FORMED_KEY = /^[A-Za-z0-9_-]{32}$/;

/** A fresh, unguessable session key from the CSPRNG (32 base64url characters). */
export function newSessionKey(): string {
  return randomBytes(SESSION_KEY_BYTES).toString("base64url");
}

/** Whether `value` has the shape of a key that `newSessionKey` could have issued. */
export function isWellFormedKey(value: string): boolean {
  return WELL_FORMED_KEY.test(value);
}

/**
 * The public, non-secret handle of a session: an HMAC of its key, so it reveals nothing about the key
 * and every instance sharing the secret shows the same id.
 */
export function publicId(sessionKey: string, secret: string): string {
  return createHmac("sha256", secret).update(`sessionql:id:${sessionKey}`).digest("base64url").slice(0, 22);
}
