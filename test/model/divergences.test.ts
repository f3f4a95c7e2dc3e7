import { startTestServer, type TestServer } from "../helpers/server";

/**
 * Divergences between the server and CONTRACT.md that the session model found, each reduced to its smallest
 * reproduction and kept as a regression test once fixed.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const UPDATE = "mutation($values: JSONObject!) { updateSession(values: $values) { keys version } }";
const SET = 'mutation($value: JSON!) { setSession(key: "x", value: $value) { keys version } }';

// CONTRACT.md: "Keys beginning with `_` are ordinary keys". fastify's JSON body parser used to refuse any body
// holding a `__proto__` key (its prototype-poisoning guard) with a bare HTTP 400 and no GraphQL response, although
// the same key was stored fine as a String argument or a GraphQL literal. It now keeps such keys as data.
describe("a `__proto__` key inside JSON variables", () => {
  test('updateSession(values: {"__proto__": 1}) stores an ordinary key', async () => {
    const result = await server
      .client()
      .request<{ updateSession: { keys: string[]; version: number } }>(UPDATE, {
        values: JSON.parse('{"__proto__": 1}'),
      });
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    expect(result.data?.updateSession).toEqual({ keys: ["__proto__"], version: 1 });
  });

  test('setSession(value: {"__proto__": 1}) stores the value', async () => {
    const result = await server.client().request<{ setSession: { keys: string[]; version: number } }>(SET, {
      value: JSON.parse('{"__proto__": 1}'),
    });
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    expect(result.data?.setSession).toEqual({ keys: ["x"], version: 1 });
  });

  // The control: the same entry as a GraphQL literal, which the body parser never sees as a JSON key.
  test("the same entry as a GraphQL literal is stored as an ordinary key", async () => {
    const result = await server
      .client()
      .request<{ updateSession: { keys: string[]; version: number } }>(
        "mutation { updateSession(values: {__proto__: 1}) { keys version } }",
      );
    expect(result.errors).toBeUndefined();
    expect(result.data?.updateSession).toEqual({ keys: ["__proto__"], version: 1 });
  });
});

// CONTRACT.md: "`expiresIn` ≤ 0 → `BAD_USER_INPUT`", and bad input (a value over SESSION_MAX_VALUE_BYTES) →
// BAD_USER_INPUT with the session unchanged. setSessionDefault once checked its `expiresIn` and `value` only when
// it stored them, answering `found: true` for a key that already held a value; these found it.
describe("setSessionDefault of a key that already holds a value", () => {
  const SET_A = 'mutation { setSession(key: "a", value: 1) { version } }';
  const codesOf = (result: { errors?: Array<{ extensions?: { code?: string } }> }) =>
    (result.errors ?? []).map((error) => error.extensions?.code);

  test("refuses expiresIn: 0 as BAD_USER_INPUT, as for an absent key", async () => {
    const client = server.client();
    await client.request(SET_A);
    const result = await client.request(
      'mutation { setSessionDefault(key: "a", value: 2, expiresIn: 0) { found } }',
    );
    expect(codesOf(result)).toEqual(["BAD_USER_INPUT"]);
  });

  test("refuses a value over SESSION_MAX_VALUE_BYTES as BAD_USER_INPUT, as for an absent key", async () => {
    const client = server.client();
    await client.request(SET_A);
    const result = await client.request(
      'mutation($value: JSON!) { setSessionDefault(key: "a", value: $value) { found } }',
      { value: "x".repeat(70_000) },
    );
    expect(codesOf(result)).toEqual(["BAD_USER_INPUT"]);
  });

  // The controls: the same input for an absent key is refused.
  test("an absent key with expiresIn: 0 or an oversized value is refused", async () => {
    const client = server.client();
    const zero = await client.request(
      'mutation { setSessionDefault(key: "a", value: 2, expiresIn: 0) { found } }',
    );
    const large = await client.request(
      'mutation($value: JSON!) { setSessionDefault(key: "a", value: $value) { found } }',
      { value: "x".repeat(70_000) },
    );
    expect([codesOf(zero), codesOf(large)]).toEqual([["BAD_USER_INPUT"], ["BAD_USER_INPUT"]]);
  });
});
