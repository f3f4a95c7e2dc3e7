/** Stable codes for every failure the session core reports. */
export type SessionErrorCode =
  | "BAD_INPUT"
  | "STORE_UNAVAILABLE"
  | "SESSION_INTERRUPTED"
  | "CONFLICT"
  | "VERSION_CONFLICT"
  | "RATE_LIMITED";

/** A failure with a stable code that the GraphQL layer maps to `extensions.code`. */
export class SessionError extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that breaks a limit; raised before anything changes. */
export class BadInputError extends SessionError {
  constructor(message: string) {
    super("BAD_INPUT", message);
  }
}

/** The store could not be reached or failed; the driver's error is kept as `cause`, never shown. */
export class StoreUnavailableError extends SessionError {
  constructor(options?: ErrorOptions) {
    super("STORE_UNAVAILABLE", "The session store is unavailable; try again shortly.", options);
  }
}

/** The session was deleted by another request while this one changed it. */
export class SessionInterruptedError extends SessionError {
  constructor() {
    super("SESSION_INTERRUPTED", "The session was ended by another request while this one changed it.");
  }
}

/** Other writers kept winning the version check; nothing was saved. */
export class ConflictError extends SessionError {
  constructor() {
    super("CONFLICT", "The session is being changed by too many requests at once; try again.");
  }
}

/** A change asked for with `ifVersion` found the session at another version; nothing was changed. */
export class VersionConflictError extends SessionError {
  constructor(
    /** The session's version now (0: no session is stored). */
    readonly currentVersion: number,
  ) {
    super("VERSION_CONFLICT", `The session is at version ${currentVersion}; nothing was changed.`);
  }
}

/** This client has created too many sessions lately; nothing was saved. */
export class RateLimitedError extends SessionError {
  constructor() {
    super("RATE_LIMITED", "Too many new sessions from this client; try again later.");
  }
}

/**
 * The store cannot do what was asked (a Keyv store of the application's own keeps no index of users' sessions).
 * A mistake in the setup rather than a request's, so it has no code of its own and reads as an internal error.
 */
export class UnsupportedError extends Error {
  constructor(what: string) {
    super(
      `This session store cannot ${what}: use one of sessionql's stores (memory, sqlite, redis, postgres).`,
    );
    this.name = "UnsupportedError";
  }
}
