import type { Request } from "autocannon";
import { DEFAULTS } from "../src/config";

/** The workloads `npm run bench` knows, in the order it runs them. */
export const WORKLOAD_IDS = ["W1", "W2", "W3", "W4", "W5"] as const;
export type WorkloadId = (typeof WORKLOAD_IDS)[number];

/**
 * W1R, only in bench/scale.ts: W1 spread over the session pool, each request reading the next session, so a
 * store's cache cannot hold the one session every request reads.
 */
export type SpreadReadId = "W1R";

/** What each workload does, for the report. */
export const WORKLOAD_TITLES: Record<WorkloadId, string> = {
  W1: "read `{ session { data } }` with a cookie (one 5-key ~1 KB session)",
  W2: 'write `setSession(key: "counter", value: $n)` with a cookie (rotating over the session pool)',
  W3: "read `{ session { data } }` without a cookie (new visitor: no store access)",
  W4: "90% reads / 10% writes, rotating cookies over the session pool",
  W5:
    'hot session: every connection writes `setSession(key: "counter", value: $n)` with one cookie, the ' +
    "session's version read before and after each run: a rise short of the writes sent is a lost update",
};

/** A key every prepared session holds; a read is right only when its answer carries it. */
export const MARKER = "sessionql-bench-marker";

/** The five entries of every prepared session, about 1 KB as JSON. */
export const SESSION_DATA: Readonly<Record<string, unknown>> = sessionData(1024);

/** The cookie both servers read (sessionql's default SESSION_COOKIE_NAME). */
export const COOKIE_NAME = DEFAULTS.SESSION_COOKIE_NAME;

/** How long a session lives from its last save (sessionql's default SESSION_COOKIE_AGE). */
export const SESSION_AGE_MS = Number(DEFAULTS.SESSION_COOKIE_AGE) * 1000;

/** The GraphQL request bodies; the write's text is constant so Apollo's document cache serves it. */
export const READ_BODY = JSON.stringify({ query: "{ session { data } }" });
const VERSION_BODY = JSON.stringify({ query: "{ session { version } }" });
const WRITE_QUERY = 'mutation Write($n: JSON!) { setSession(key: "counter", value: $n) { version } }';
const writeBody = (n: number) => JSON.stringify({ query: WRITE_QUERY, variables: { n } });

/**
 * The sessions a run uses: one for W1, a pool for W2 and W4 (W5 writes its first); each a `sessionid=<key>`
 * header value, the key signed except on apollo-users.
 */
export interface Fixtures {
  readerCookie: string;
  poolCookies: readonly string[];
}

/**
 * Counts the responses of one run and the ones that were wrong, keeping the first wrong one for the report, and
 * the writes sent (W5 compares them with the session's version).
 */
export interface Tally {
  responses: number;
  wrong: number;
  firstWrong: string | undefined;
  writesSent: number;
}

/** The one session every W5 connection writes. */
export function hotCookie(fixtures: Fixtures): string {
  return fixtures.poolCookies[0] as string;
}

type Kind = "read" | "anonymous-read" | "write";
type Check = (status: number, body: string, kind: Kind) => void;

/** The autocannon request list of one workload; every response goes through `tally`. */
export function workloadRequests(id: WorkloadId | SpreadReadId, fixtures: Fixtures, tally: Tally): Request[] {
  const check: Check = (status, body, kind) => {
    tally.responses++;
    const problem = problemWith(status, body, kind);
    if (problem === undefined) return;
    tally.wrong++;
    tally.firstWrong ??= problem;
  };
  const base = { method: "POST" as const, path: "/graphql", body: READ_BODY };
  const headers = (cookie?: string) => ({
    "content-type": "application/json",
    ...(cookie === undefined ? {} : { cookie }),
  });
  const pool = fixtures.poolCookies;
  let sent = 0;
  // Consecutive requests take consecutive pool entries, so the 32 in flight always name distinct sessions and
  // the baseline (which has no per-session lock) never loses a version check to a concurrent write.
  const nextCookie = () => pool[sent % pool.length] as string;
  switch (id) {
    case "W1":
      return [
        { ...base, headers: headers(fixtures.readerCookie), onResponse: (s, b) => check(s, b, "read") },
      ];
    case "W1R":
      return [
        {
          ...base,
          setupRequest: (request) => {
            sent++;
            return { ...request, headers: headers(nextCookie()) };
          },
          onResponse: (s, b) => check(s, b, "read"),
        },
      ];
    case "W3":
      return [{ ...base, headers: headers(), onResponse: (s, b) => check(s, b, "anonymous-read") }];
    case "W2":
      return [
        {
          ...base,
          setupRequest: (request) => {
            sent++;
            return { ...request, headers: headers(nextCookie()), body: writeBody(sent) };
          },
          onResponse: (s, b) => check(s, b, "write"),
        },
      ];
    case "W4":
      return [
        {
          ...base,
          setupRequest: (request, context) => {
            sent++;
            const write = sent % 10 === 0;
            (context as { kind?: Kind }).kind = write ? "write" : "read";
            return { ...request, headers: headers(nextCookie()), body: write ? writeBody(sent) : READ_BODY };
          },
          onResponse: (s, b, context) => check(s, b, (context as { kind: Kind }).kind),
        },
      ];
    case "W5":
      return [
        {
          ...base,
          headers: headers(hotCookie(fixtures)),
          setupRequest: (request) => {
            sent++;
            tally.writesSent++;
            return { ...request, body: writeBody(sent) };
          },
          onResponse: (s, b) => check(s, b, "write"),
        },
      ];
  }
}

/** The `version` of the session `cookie` names, read through GraphQL; throws when the answer has none. */
export async function readVersion(url: string, cookie: string): Promise<number> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: VERSION_BODY,
  });
  const text = await response.text();
  let version: unknown;
  try {
    version = (JSON.parse(text) as { data?: { session?: { version?: unknown } } }).data?.session?.version;
  } catch {
    // not JSON: reported below
  }
  if (response.status !== 200 || typeof version !== "number") {
    throw new Error(
      `could not read the hot session's version: HTTP ${response.status} ${text.slice(0, 200)}`,
    );
  }
  return version;
}

/** Why the answer to a read with a prepared session's cookie is wrong, or undefined when it is right. */
export function readProblem(status: number, body: string): string | undefined {
  return problemWith(status, body, "read");
}

/** Why a response is wrong, or undefined when it is the answer the workload expects. */
function problemWith(status: number, body: string, kind: Kind): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${body.slice(0, 200)}`;
  let parsed: { data?: Record<string, unknown>; errors?: unknown };
  try {
    parsed = JSON.parse(body);
  } catch {
    return `not JSON: ${body.slice(0, 200)}`;
  }
  if (parsed.errors !== undefined || parsed.data === undefined) return `errors: ${body.slice(0, 200)}`;
  const data = parsed.data as {
    session?: { data?: Record<string, unknown> };
    setSession?: { version?: unknown };
  };
  const right =
    kind === "write"
      ? typeof data.setSession?.version === "number"
      : kind === "read"
        ? data.session?.data?.[MARKER] === true
        : data.session?.data !== undefined && Object.keys(data.session.data).length === 0;
  return right ? undefined : `unexpected ${kind} answer: ${body.slice(0, 200)}`;
}

/** Five entries (the marker, a user, a cart, preferences, recent pages) padded to `bytes` of JSON. */
function sessionData(bytes: number): Record<string, unknown> {
  const data: Record<string, unknown> = {
    [MARKER]: true,
    user: { id: 4211, name: "Ada Lovelace", email: "ada@example.test", roles: ["reader", "editor"] },
    cart: {
      currency: "EUR",
      items: [
        { sku: "BK-1843-NOTES", quantity: 1, priceCents: 2999 },
        { sku: "PC-ENGINE-02", quantity: 2, priceCents: 14950 },
      ],
    },
    preferences: { theme: "dark", language: "en-GB", timeZone: "Europe/London", newsletter: false },
    recent: "",
  };
  const room = bytes - JSON.stringify(data).length;
  data.recent = "/catalogue/analytical-engine?page=".repeat(Math.ceil(room / 34)).slice(0, Math.max(0, room));
  return data;
}
