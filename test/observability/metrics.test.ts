import { ManualClock } from "../helpers/clock";
import { startTestServer, type TestServer } from "../helpers/server";

const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one series, or 0 when it has not been written yet. */
function seriesValue(text: string, series: string): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

test("/metrics counts requests and errors by root field, in Prometheus's text format", async () => {
  server = await startTestServer();
  const visitor = server.client();
  await visitor.request(SET, { key: "a", value: 1 });
  await visitor.request("{ session { data } }");
  await visitor.request(SET, { key: "k".repeat(300), value: 1 });
  const text = await scrape();
  expect(seriesValue(text, 'sessionql_graphql_requests_total{operation="setSession",outcome="ok"}')).toBe(1);
  expect(seriesValue(text, 'sessionql_graphql_requests_total{operation="session",outcome="ok"}')).toBe(1);
  expect(
    seriesValue(text, 'sessionql_graphql_errors_total{operation="setSession",code="BAD_USER_INPUT"}'),
  ).toBe(1);
  expect(text).toMatch(/^sessionql_process_cpu_seconds_total /m);
});

test("session events, store latency, conflicts and rate-limit hits are counted", async () => {
  server = await startTestServer({ env: { SESSION_CREATE_RATE: "2/60" }, clock: new ManualClock() });
  const visitor = server.client();
  await visitor.request(SET, { key: "a", value: 1 });
  await Promise.all(Array.from({ length: 10 }, (_, i) => visitor.request(SET, { key: `k${i}`, value: i })));
  await visitor.request("mutation { cycleSessionKey { id } }");
  await visitor.request("mutation { flushSession { isEmpty } }");
  await server.client().request(SET, { key: "a", value: 1 });
  const refused = await server.client().request(SET, { key: "a", value: 1 });
  expect(refused.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");

  const text = await scrape();
  expect(seriesValue(text, 'sessionql_sessions_total{event="created"}')).toBe(2);
  expect(seriesValue(text, 'sessionql_sessions_total{event="cycled"}')).toBe(1);
  expect(seriesValue(text, 'sessionql_sessions_total{event="flushed"}')).toBe(1);
  expect(seriesValue(text, "sessionql_rate_limited_total")).toBe(1);
  expect(seriesValue(text, "sessionql_version_conflicts_total")).toBeGreaterThanOrEqual(0);
  expect(
    seriesValue(text, 'sessionql_store_call_duration_seconds_count{method="save",outcome="ok"}'),
  ).toBeGreaterThan(10);
  expect(
    seriesValue(text, 'sessionql_graphql_errors_total{operation="setSession",code="RATE_LIMITED"}'),
  ).toBe(1);
});

test("a swept expired session is counted as expired", async () => {
  server = await startTestServer({ clock: new ManualClock() });
  await server.client().request(SET, { key: "a", value: 1 });
  server.clock.advance(1209600 + 1);
  // The sweeper runs on its interval; sweepNow runs the same sweep at once.
  const removed = await server.server.sweepNow();
  expect(removed).toBe(1);
  expect(seriesValue(await scrape(), 'sessionql_sessions_total{event="expired"}')).toBe(1);
});

test("every response carries a request id: the caller's when it is a plain token, else a fresh one", async () => {
  server = await startTestServer();
  const given = await fetch(`${server.url}/healthz`, { headers: { "x-request-id": "trace-123" } });
  expect(given.headers.get("x-request-id")).toBe("trace-123");
  const odd = await fetch(`${server.url}/healthz`, { headers: { "x-request-id": "a b\tc" } });
  expect(odd.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
});
