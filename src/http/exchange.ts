/** A request's headers as Node gives them: names in lower case. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * One request and its response, as a web framework holds them: all the session layer needs to read the session
 * from a request and write it back on the framework's own response. Each integration implements it once.
 */
export interface HttpExchange {
  readonly requestHeaders: RequestHeaders;
  /** The client's address as the framework decides it (its trust-proxy setting counts). */
  clientAddress(): string;
  /** Whether the request came over HTTPS, directly or through a proxy the framework trusts. */
  isHttps(): boolean;
  /** Adds Set-Cookie headers to the response, keeping every one already there. */
  appendSetCookies(values: readonly string[]): void;
  /** Sets a single-valued response header. */
  setHeader(name: string, value: string): void;
  /** A response header already set, as one string; undefined when absent. */
  getHeader(name: string): string | undefined;
}

/** A header value of Node's or a framework's response as one string (arrays joined as HTTP joins them). */
export function headerText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value.join(", ") : String(value);
}
