import { type Audit, type AuditResult, serverAudits } from "graphql-http";
import { startTestServer, type TestServer } from "../helpers/server";

/** An audit of graphql-http that sessionql does not pass, and why. */
interface KnownDeviation {
  id: string;
  name: string;
  /** graphql-http's verdict: `warn` for a failed SHOULD, `notice` for a failed MAY. */
  status: "warn" | "notice";
  /** What sessionql answers: the HTTP status and `errors[0].extensions.code`. */
  answer: string;
  why: string;
}

/**
 * Every audit that does not end in `ok`. An audit that starts to fail, or one listed here that starts to pass,
 * fails its test, so this list (which the README repeats) stays true. No MUST audit may appear here.
 */
const KNOWN_DEVIATIONS: readonly KnownDeviation[] = [
  {
    id: "5A70",
    name: "MAY accept application/x-www-form-urlencoded formatted GET requests",
    status: "notice",
    answer: "400 BAD_REQUEST",
    why: "CSRF prevention: a GET without a preflight header is what another site can send, so Apollo refuses it",
  },
  {
    id: "D6D5",
    name: "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/graphql-response+json",
    status: "notice",
    answer: "400 BAD_REQUEST",
    why: "CSRF prevention refuses a GET without a preflight header; with one, the same request succeeds",
  },
  {
    id: "6A70",
    name: "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting application/json",
    status: "notice",
    answer: "400 BAD_REQUEST",
    why: "CSRF prevention refuses a GET without a preflight header; with one, the same request succeeds",
  },
  {
    id: "572B",
    name: "SHOULD use 200 status code on document parsing failure when accepting application/json",
    status: "warn",
    answer: "400 GRAPHQL_PARSE_FAILED",
    why: "Apollo answers every request error with 400 whatever the Accept header; the body is a GraphQL error",
  },
  {
    id: "FDE2",
    name: "SHOULD use 200 status code on document validation failure when accepting application/json",
    status: "warn",
    answer: "400 GRAPHQL_PARSE_FAILED",
    why: "the audit's field name starts with a digit, so graphql-js fails to parse it; a validation error is 400 too",
  },
  {
    id: "7B9B",
    name: "SHOULD use a status code of 200 on variable coercion failure when accepting application/json",
    status: "warn",
    answer: "400 GRAPHQL_VALIDATION_FAILED",
    why: "the audit's $id is unused, so validation fails first; Apollo 5 answers real coercion errors 400 too",
  },
];

/** The GET audits that pass once the request carries Apollo's preflight header. */
const CSRF_REFUSED = ["5A70", "D6D5", "6A70"];

/** Adds the header that Apollo's CSRF prevention asks of requests a browser would not preflight. */
const preflightedFetch: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set("apollo-require-preflight", "true");
  return fetch(input, { ...init, headers });
};

// The audits only ever read `__typename` or get refused, so one server serves them all.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const audits = serverAudits({ url: () => server.graphqlUrl });

/** An audit's verdict together with what the server answered, so a failing test shows why. */
async function outcome(result: AuditResult): Promise<Record<string, unknown>> {
  if (result.status === "ok") return { status: "ok" };
  const { response } = result;
  const body = response.bodyUsed ? "(read by the audit)" : await response.text();
  const code = /"code":"([A-Z_]+)"/.exec(body)?.[1] ?? "no code";
  return { status: result.status, answer: `${response.status} ${code}`, reason: result.reason, body };
}

describe("graphql-http server audits", () => {
  test.each(audits)("$id $name", async (audit: Audit) => {
    const known = KNOWN_DEVIATIONS.find((deviation) => deviation.id === audit.id);
    const expected = known ? { status: known.status, answer: known.answer } : { status: "ok" };
    expect(await outcome(await audit.fn())).toMatchObject(expected);
  });

  test("every known deviation names an existing audit, and none of them is a MUST", () => {
    const names = new Map(audits.map((audit) => [audit.id, audit.name]));
    for (const deviation of KNOWN_DEVIATIONS) {
      expect([deviation.id, names.get(deviation.id)]).toEqual([deviation.id, deviation.name]);
      expect(deviation.name).not.toMatch(/^MUST /);
    }
  });
});

describe("when the client sends Apollo's preflight header", () => {
  test.each(CSRF_REFUSED)("audit %s passes", async (id) => {
    const audit = serverAudits({ url: () => server.graphqlUrl, fetchFn: preflightedFetch }).find(
      (candidate) => candidate.id === id,
    );
    expect(audit).toBeDefined();
    expect(await outcome(await (audit as Audit).fn())).toEqual({ status: "ok" });
  });
});
