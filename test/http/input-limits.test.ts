import { expectNoSetCookie, expectSessionCookie } from "../helpers/cookies";
import {
  type GraphQLClient,
  type GraphQLResult,
  recordCount,
  startTestServer,
  type TestServer,
} from "../helpers/server";

const READ = "{ session { id data version } }";
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";
const POP = "mutation($key: String!) { popSession(key: $key) { found } }";
const UPDATE = "mutation($values: JSONObject!) { updateSession(values: $values) { version } }";
const GET = "query($key: String!) { session { get(key: $key) } }";
const HAS = "query($key: String!) { session { has(key: $key) } }";
const EXPIRY = "mutation($seconds: Int) { setSessionExpiry(seconds: $seconds) { version } }";
const MIB = 1024 * 1024;

/** A string whose JSON text is exactly `bytes` bytes of UTF-8. */
const jsonOfBytes = (bytes: number): string => "x".repeat(bytes - 2);

/** A scalar wrapped in `levels` alternating arrays and objects: depth `levels`. */
function nested(levels: number): unknown {
  let value: unknown = 0;
  for (let level = 0; level < levels; level++) value = level % 2 === 0 ? [value] : { inner: value };
  return value;
}

/** The key message of the contract, word for word. */
const keyMessage = (limit: number, got: number) =>
  `key must be 1–${limit} characters (SESSION_MAX_KEY_LENGTH), got ${got}`;

/** A visitor whose session holds `{ kept: "yes" }` at version 1. */
async function visitorWithSession(server: TestServer): Promise<GraphQLClient> {
  const visitor = server.client();
  expectSessionCookie((await visitor.request(SET, { key: "kept", value: "yes" })).res);
  return visitor;
}

/**
 * Sends one refused operation and checks the whole contract of a refusal: BAD_USER_INPUT only, no
 * Set-Cookie, and the session read back exactly as before (same id, data and version).
 */
async function expectRefused(
  visitor: GraphQLClient,
  query: string,
  variables: Record<string, unknown>,
): Promise<string> {
  const before = await visitor.request(READ);
  const cookieBefore = visitor.jar.get();
  const refused: GraphQLResult = await visitor.request(query, variables);
  expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
  expectNoSetCookie(refused.res);
  const after = await visitor.request(READ);
  expect(after.data).toEqual(before.data);
  expect(visitor.jar.get()).toBe(cookieBefore);
  return refused.errors?.[0]?.message ?? "";
}

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

type KeyOperation = [string, string, (key: string) => Record<string, unknown>];
const keyOperations: KeyOperation[] = [
  ["setSession", SET, (key) => ({ key, value: 1 })],
  ["popSession", POP, (key) => ({ key })],
  ["updateSession", UPDATE, (key) => ({ values: { [key]: 1 } })],
  ["the get field", GET, (key) => ({ key })],
  ["the has field", HAS, (key) => ({ key })],
];
const badKeys: Array<[string, string, number]> = [
  ["an empty key", "", 0],
  ["a key of 257 characters", "k".repeat(257), 257],
  ["a key of 257 emoji", "😀".repeat(257), 257],
];

describe.each(keyOperations)("when %s is given a bad key", (_operation, query, variables) => {
  test.each(badKeys)("%s is refused naming the limit, and the session is unchanged", async (_, key, got) => {
    const visitor = await visitorWithSession(server);
    expect(await expectRefused(visitor, query, variables(key))).toBe(keyMessage(256, got));
  });

  test("a visitor without a session still has no record and no cookie", async () => {
    const visitor = server.client();
    expect(await expectRefused(visitor, query, variables("k".repeat(257)))).toBe(keyMessage(256, 257));
    expect(visitor.jar.get()).toBeUndefined();
    expect(await recordCount(server)).toBe(0);
  });
});

describe("when a key is at the length limit", () => {
  test.each([
    ["256 characters", "k".repeat(256)],
    ["256 emoji, each one character", "😀".repeat(256)],
  ])("a key of %s is stored, read and removed", async (_, key) => {
    const visitor = server.client();
    expect((await visitor.request(SET, { key, value: 1 })).errors).toBeUndefined();
    expect((await visitor.request(UPDATE, { values: { [key]: 2 } })).errors).toBeUndefined();
    expect((await visitor.request(GET, { key })).data).toEqual({ session: { get: 2 } });
    expect((await visitor.request(HAS, { key })).data).toEqual({ session: { has: true } });
    expect((await visitor.request(POP, { key })).data).toEqual({ popSession: { found: true } });
  });
});

describe("when a value is over SESSION_MAX_VALUE_BYTES", () => {
  test("setSession refuses it naming the variable and the limit", async () => {
    const visitor = await visitorWithSession(server);
    const message = await expectRefused(visitor, SET, { key: "big", value: jsonOfBytes(65537) });
    expect(message).toContain("SESSION_MAX_VALUE_BYTES");
    expect(message).toContain("65536");
  });

  test("size counts UTF-8 bytes, not characters", async () => {
    const visitor = await visitorWithSession(server);
    // 32768 two-byte characters plus the quotes: 32770 characters but 65538 bytes.
    const message = await expectRefused(visitor, SET, { key: "big", value: "é".repeat(32768) });
    expect(message).toContain("SESSION_MAX_VALUE_BYTES");
  });

  test("updateSession stores none of the entries when one of them is too big", async () => {
    const visitor = await visitorWithSession(server);
    const values = { small: 1, big: jsonOfBytes(65537), other: "fine" };
    expect(await expectRefused(visitor, UPDATE, { values })).toContain("SESSION_MAX_VALUE_BYTES");
  });

  test("a visitor without a session still has no record and no cookie", async () => {
    const visitor = server.client();
    await expectRefused(visitor, SET, { key: "big", value: jsonOfBytes(65537) });
    expect(visitor.jar.get()).toBeUndefined();
    expect(await recordCount(server)).toBe(0);
  });
});

describe("when a value is exactly SESSION_MAX_VALUE_BYTES", () => {
  test.each([
    ["ASCII characters", jsonOfBytes(65536)],
    ["two-byte characters", "é".repeat(32767)],
  ])("a value of %s is stored and read back", async (_, value) => {
    const visitor = server.client();
    expect((await visitor.request(SET, { key: "big", value })).errors).toBeUndefined();
    expect(await visitor.data()).toEqual({ big: value });
  });
});

describe("when the session would grow over SESSION_MAX_BYTES", () => {
  const chunk = jsonOfBytes(60000);

  test("a value within its own limit is refused once the whole session is too big", async () => {
    const visitor = await visitorWithSession(server);
    for (const key of ["a", "b", "c", "d"]) {
      expect((await visitor.request(SET, { key, value: chunk })).errors).toBeUndefined();
    }
    const message = await expectRefused(visitor, SET, { key: "e", value: chunk });
    expect(message).toContain("SESSION_MAX_BYTES");
    expect(message).toContain("262144");
    expect((await visitor.request(READ)).data).toMatchObject({ session: { version: 5 } });
  });

  test("updateSession with several values each within the limit stores none of them", async () => {
    const visitor = await visitorWithSession(server);
    const values = { a: chunk, b: chunk, c: chunk, d: chunk, e: chunk };
    const message = await expectRefused(visitor, UPDATE, { values });
    expect(message).toContain("SESSION_MAX_BYTES");
    expect(message).toContain("262144");
  });
});

describe("when a value is nested deeper than SESSION_MAX_DEPTH", () => {
  test("setSession refuses it naming the variable and the limit", async () => {
    const visitor = await visitorWithSession(server);
    const message = await expectRefused(visitor, SET, { key: "deep", value: nested(33) });
    expect(message).toContain("SESSION_MAX_DEPTH");
    expect(message).toMatch(/\b32\b/);
  });

  test("updateSession stores none of the entries when one of them is too deep", async () => {
    const visitor = await visitorWithSession(server);
    const values = { shallow: [1], deep: nested(33), flat: "fine" };
    expect(await expectRefused(visitor, UPDATE, { values })).toContain("SESSION_MAX_DEPTH");
  });

  test("a value exactly SESSION_MAX_DEPTH deep is stored and read back", async () => {
    const visitor = server.client();
    expect((await visitor.request(SET, { key: "deep", value: nested(32) })).errors).toBeUndefined();
    expect(await visitor.data()).toEqual({ deep: nested(32) });
  });
});

describe("when setSessionExpiry is given negative seconds", () => {
  test("it is refused and the session is unchanged", async () => {
    const visitor = await visitorWithSession(server);
    expect(await expectRefused(visitor, EXPIRY, { seconds: -1 })).toContain("seconds");
  });

  test("a visitor without a session still has no record and no cookie", async () => {
    const visitor = server.client();
    await expectRefused(visitor, EXPIRY, { seconds: -60 });
    expect(visitor.jar.get()).toBeUndefined();
    expect(await recordCount(server)).toBe(0);
  });
});

describe("when the limits are configured", () => {
  let small: TestServer;
  beforeEach(async () => {
    small = await startTestServer({
      env: {
        SESSION_MAX_KEY_LENGTH: "4",
        SESSION_MAX_VALUE_BYTES: "16",
        SESSION_MAX_BYTES: "40",
        SESSION_MAX_DEPTH: "3",
      },
    });
  });
  afterEach(() => small.close());

  test("a key of 4 characters is stored and one of 5 is refused with the configured number", async () => {
    const visitor = small.client();
    expect((await visitor.request(SET, { key: "abcd", value: 1 })).errors).toBeUndefined();
    expect(await expectRefused(visitor, SET, { key: "abcde", value: 1 })).toBe(keyMessage(4, 5));
  });

  test("a value of 16 bytes is stored and one of 17 is refused with the configured number", async () => {
    const visitor = small.client();
    expect((await visitor.request(SET, { key: "a", value: jsonOfBytes(16) })).errors).toBeUndefined();
    const message = await expectRefused(visitor, SET, { key: "b", value: jsonOfBytes(17) });
    expect(message).toContain("SESSION_MAX_VALUE_BYTES");
    expect(message).toMatch(/\b16\b/);
  });

  test("a value 3 deep is stored and one 4 deep is refused with the configured number", async () => {
    const visitor = small.client();
    expect((await visitor.request(SET, { key: "a", value: nested(3) })).errors).toBeUndefined();
    const message = await expectRefused(visitor, SET, { key: "b", value: nested(4) });
    expect(message).toContain("SESSION_MAX_DEPTH");
    expect(message).toMatch(/\b3\b/);
  });

  test("a session of exactly 40 bytes is stored and one more entry is refused", async () => {
    const values = { a: jsonOfBytes(14), b: jsonOfBytes(15) };
    expect(Buffer.byteLength(JSON.stringify(values))).toBe(40);
    const visitor = small.client();
    expect((await visitor.request(UPDATE, { values })).errors).toBeUndefined();
    const message = await expectRefused(visitor, SET, { key: "c", value: 1 });
    expect(message).toContain("SESSION_MAX_BYTES");
    expect(message).toMatch(/\b40\b/);
  });
});

/** Posts a setSession whose JSON body is about `bodyBytes` long, with the visitor's cookie. */
function postLargeBody(target: TestServer, visitor: GraphQLClient, bodyBytes: number): Promise<Response> {
  const cookie = visitor.jar.header();
  return fetch(target.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ query: SET, variables: { key: "big", value: jsonOfBytes(bodyBytes) } }),
  });
}

describe("when the request body is over the HTTP body limit", () => {
  test("a body over 1 MiB gets 413 and changes nothing", async () => {
    const visitor = await visitorWithSession(server);
    const before = await visitor.request(READ);
    const res = await postLargeBody(server, visitor, MIB + 1024);
    expect(res.status).toBe(413);
    expectNoSetCookie(res);
    expect((await visitor.request(READ)).data).toEqual(before.data);
  });

  test("a value just over SESSION_MAX_VALUE_BYTES gets BAD_USER_INPUT, not 413", async () => {
    const visitor = await visitorWithSession(server);
    const refused = await visitor.request(SET, { key: "big", value: jsonOfBytes(65537) });
    expect(refused.status).toBe(200);
    expect(refused.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  describe("and SESSION_MAX_BYTES is large", () => {
    let large: TestServer;
    beforeEach(async () => {
      large = await startTestServer({ env: { SESSION_MAX_BYTES: String(512 * 1024) } });
    });
    afterEach(() => large.close());

    test("the body limit grows to four times SESSION_MAX_BYTES", async () => {
      const visitor = await visitorWithSession(large);
      const before = await visitor.request(READ);
      const underLimit = await postLargeBody(large, visitor, 1.5 * MIB);
      expect(underLimit.status).toBe(200);
      const body = (await underLimit.json()) as Pick<GraphQLResult, "errors">;
      expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      const overLimit = await postLargeBody(large, visitor, 2 * MIB + 1024);
      expect(overLimit.status).toBe(413);
      expectNoSetCookie(overLimit);
      expect((await visitor.request(READ)).data).toEqual(before.data);
    });
  });
});
