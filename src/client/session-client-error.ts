/** A request of the session client that failed: the server answered with a GraphQL error, or with no usable answer. */
export class SessionClientError extends Error {
  /** The GraphQL error code (`extensions.code`, e.g. "BAD_USER_INPUT"); undefined when the answer carried none. */
  readonly code: string | undefined;
  /** The HTTP status of the answer. */
  readonly status: number;
  /** For VERSION_CONFLICT, the session's version now (`extensions.version`): read again, then retry or tell the user. */
  readonly version: number | undefined;

  constructor(
    message: string,
    details: { code?: string | undefined; status: number; version?: number | undefined },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = details.code;
    this.status = details.status;
    this.version = details.version;
  }
}
