import { CookieJar, expectCookieCleared, expectNoSetCookie, expectSessionCookie } from "../helpers/cookies";
import { type GraphQLClient, startTestServer, type TestServer } from "../helpers/server";

// Mirrors Django's SessionTestsMixin, asked through GraphQL over HTTP.
const SESSION = "id data keys version isEmpty";
const READ = `{ session { ${SESSION} } }`;
const SET = `mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { ${SESSION} } }`;
const POP = `mutation($key: String!, $default: JSON) {
  popSession(key: $key, default: $default) { found value session { ${SESSION} } }
}`;
const UPDATE = `mutation($values: JSONObject!) { updateSession(values: $values) { ${SESSION} } }`;

interface SessionView {
  id: string | null;
  data: Record<string, unknown>;
  keys: string[];
  version: number;
  isEmpty: boolean;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** A new visitor who has stored `values` (one save). */
async function visitorWith(values: Record<string, unknown>): Promise<GraphQLClient> {
  const visitor = server.client();
  expectSessionCookie((await visitor.request(UPDATE, { values })).res);
  return visitor;
}

async function read(visitor: GraphQLClient): Promise<SessionView> {
  const { data } = await visitor.request<{ session: SessionView }>(READ);
  return data?.session as SessionView;
}

/** A visitor presenting a copy of `visitor`'s cookie as it is now. */
function replayOf(visitor: GraphQLClient): GraphQLClient {
  const jar = new CookieJar();
  jar.set("sessionid", visitor.jar.get() as string);
  return server.client(jar);
}

describe("when a new visitor reads", () => {
  test("nothing is created: version 0, id null, no data, no cookie", async () => {
    const visitor = server.client();
    const { res, data } = await visitor.request<{ session: SessionView }>(READ);
    expect(data?.session).toEqual({ id: null, data: {}, keys: [], version: 0, isEmpty: true });
    expectNoSetCookie(res);
    expect((await visitor.request(READ)).data).toEqual(data);
  });
});

describe("get, has and keys", () => {
  test("a value set is read back with the cookie", async () => {
    const visitor = server.client();
    const value = { nested: [1, "two", { three: true }], unicode: "žluťoučký 🐴" };
    const set = await visitor.request(SET, { key: "a", value });
    expectSessionCookie(set.res);
    const { data } = await visitor.request('{ session { get(key: "a") } }');
    expect(data).toEqual({ session: { get: value } });
    expect(await visitor.data()).toEqual({ a: value });
  });

  test("get answers the default for an absent key and the value for a present one", async () => {
    const visitor = await visitorWith({ present: "stored" });
    const { data } = await visitor.request(`{ session {
      absent: get(key: "absent", default: {fallback: 1})
      noDefault: get(key: "absent")
      present: get(key: "present", default: "unused")
    } }`);
    expect(data).toEqual({ session: { absent: { fallback: 1 }, noDefault: null, present: "stored" } });
  });

  test("has tells whether a key is present, whatever its value", async () => {
    const visitor = await visitorWith({ zero: 0, falsy: false, empty: "" });
    const { data } = await visitor.request(
      '{ session { zero: has(key: "zero") falsy: has(key: "falsy") empty: has(key: "empty") no: has(key: "no") } }',
    );
    expect(data).toEqual({ session: { zero: true, falsy: true, empty: true, no: false } });
  });

  test("keys lists every key in insertion order", async () => {
    const visitor = await visitorWith({ b: 1, a: 2 });
    await visitor.request(SET, { key: "c", value: 3 });
    expect((await read(visitor)).keys).toEqual(["b", "a", "c"]);
  });
});

describe("popSession", () => {
  test("popping a present key returns its value, removes it and saves", async () => {
    const visitor = await visitorWith({ a: { v: 1 }, b: 2 });
    const { res, data } = await visitor.request(POP, { key: "a" });
    expect(data?.popSession).toMatchObject({
      found: true,
      value: { v: 1 },
      session: { data: { b: 2 }, version: 2 },
    });
    expectSessionCookie(res);
  });

  test("popping an absent key answers found false and null, and saves nothing", async () => {
    const visitor = await visitorWith({ a: 1 });
    const { res, data } = await visitor.request(POP, { key: "absent" });
    expect(data?.popSession).toMatchObject({
      found: false,
      value: null,
      session: { data: { a: 1 }, version: 1 },
    });
    expectNoSetCookie(res);
    expect((await read(visitor)).version).toBe(1);
  });

  test("popping an absent key with a default answers the default", async () => {
    const visitor = await visitorWith({ a: 1 });
    const { res, data } = await visitor.request(POP, { key: "absent", default: ["d", 1] });
    expect(data?.popSession).toMatchObject({ found: false, value: ["d", 1], session: { version: 1 } });
    expectNoSetCookie(res);
  });

  test("a default is ignored when the key is present", async () => {
    const visitor = await visitorWith({ a: 1, b: 2 });
    const { data } = await visitor.request(POP, { key: "a", default: "unused" });
    expect(data?.popSession).toMatchObject({ found: true, value: 1 });
  });

  test("a new visitor popping an absent key gets no cookie and no session", async () => {
    const { res, data } = await server.client().request(POP, { key: "absent", default: 5 });
    expect(data?.popSession).toMatchObject({ found: false, value: 5, session: { id: null, version: 0 } });
    expectNoSetCookie(res);
  });
});

describe("updateSession", () => {
  test("stores every entry with one save, overwriting existing keys", async () => {
    const visitor = await visitorWith({ a: 1, keep: true });
    const { data } = await visitor.request<{ updateSession: SessionView }>(UPDATE, {
      values: { a: 10, b: 20, c: [30] },
    });
    expect(data?.updateSession).toMatchObject({ data: { a: 10, keep: true, b: 20, c: [30] }, version: 2 });
  });
});

describe("clearSession", () => {
  test("empties the session, deletes the record and expires the cookie", async () => {
    const visitor = await visitorWith({ a: 1, b: 2 });
    const replay = replayOf(visitor);
    const { res, data } = await visitor.request<{ clearSession: SessionView }>(
      `mutation { clearSession { ${SESSION} } }`,
    );
    expect(data?.clearSession).toEqual({ id: null, data: {}, keys: [], version: 0, isEmpty: true });
    expectCookieCleared(res);
    expect(await read(replay)).toMatchObject({ id: null, data: {}, version: 0 });
  });
});

describe("flushSession", () => {
  test("deletes the record and expires the cookie", async () => {
    const visitor = await visitorWith({ user: 42 });
    const { res, data } = await visitor.request<{ flushSession: SessionView }>(
      `mutation { flushSession { ${SESSION} } }`,
    );
    expect(data?.flushSession).toEqual({ id: null, data: {}, keys: [], version: 0, isEmpty: true });
    expectCookieCleared(res);
    expect(visitor.jar.get()).toBeUndefined();
  });

  test("the old cookie reads nothing afterwards", async () => {
    const visitor = await visitorWith({ user: 42 });
    const replay = replayOf(visitor);
    await visitor.request("mutation { flushSession { version } }");
    const { res, data } = await replay.request<{ session: SessionView }>(READ);
    expect(data?.session).toMatchObject({ id: null, data: {}, version: 0 });
    expectCookieCleared(res);
  });
});

describe("cycleSessionKey", () => {
  test("keeps the data under a new cookie and a new id, one version up", async () => {
    const visitor = await visitorWith({ cart: [1, 2] });
    const before = await read(visitor);
    const oldCookie = visitor.jar.get();
    const { res, data } = await visitor.request<{ cycleSessionKey: SessionView }>(
      `mutation { cycleSessionKey { ${SESSION} } }`,
    );
    const cycled = data?.cycleSessionKey as SessionView;
    expect(cycled).toMatchObject({ data: { cart: [1, 2] }, version: before.version + 1 });
    expect(cycled.id).not.toBe(before.id);
    expect(expectSessionCookie(res).value).not.toBe(oldCookie);
    expect(await read(visitor)).toEqual(cycled);
  });

  test("the old cookie reads nothing afterwards", async () => {
    const visitor = await visitorWith({ cart: [1, 2] });
    const replay = replayOf(visitor);
    await visitor.request("mutation { cycleSessionKey { version } }");
    expect(await read(replay)).toMatchObject({ id: null, data: {}, version: 0 });
  });
});

describe("the public id", () => {
  test("is null before the first save, then stable across reads and saves, and never the cookie", async () => {
    const visitor = server.client();
    expect((await read(visitor)).id).toBeNull();
    const { data } = await visitor.request<{ setSession: SessionView }>(SET, { key: "a", value: 1 });
    const id = data?.setSession.id as string;
    expect(id).toEqual(expect.any(String));
    expect((await read(visitor)).id).toBe(id);
    expect(
      (await visitor.request<{ setSession: SessionView }>(SET, { key: "b", value: 2 })).data?.setSession.id,
    ).toBe(id);
    const cookie = visitor.jar.get() as string;
    expect(cookie).not.toContain(id);
    expect(id).not.toContain(cookie.slice(0, cookie.lastIndexOf(".")));
  });
});

describe("bookkeeping and keys beginning with _", () => {
  test("data and keys never show bookkeeping", async () => {
    const visitor = await visitorWith({ a: 1 });
    await visitor.request("mutation { setSessionExpiry(seconds: 600) { version } }");
    const session = await read(visitor);
    expect(session.data).toEqual({ a: 1 });
    expect(session.keys).toEqual(["a"]);
  });

  test("a custom expiry alone shows no keys", async () => {
    const visitor = server.client();
    await visitor.request("mutation { setSessionExpiry(seconds: 600) { version } }");
    expect(await read(visitor)).toMatchObject({ data: {}, keys: [], isEmpty: true, version: 1 });
  });

  test.each(["_session_expiry", "_auth_user_id", "_", "__proto__", "constructor"])(
    "%s is an ordinary key",
    async (key) => {
      const visitor = server.client();
      await visitor.request(SET, { key, value: { held: key } });
      const { data } = await visitor.request<{ session: SessionView & { get: unknown; has: boolean } }>(
        `query($key: String!) { session { ${SESSION} get(key: $key) has(key: $key) } }`,
        { key },
      );
      expect(data?.session).toMatchObject({ keys: [key], get: { held: key }, has: true, isEmpty: false });
      expect(Object.entries(data?.session.data ?? {})).toEqual([[key, { held: key }]]);
      const popped = await visitor.request(POP, { key });
      expect(popped.data?.popSession).toMatchObject({ found: true, value: { held: key } });
    },
  );

  test("a key named like Django's expiry entry does not change the expiry", async () => {
    const visitor = server.client();
    const { data } = await visitor.request(
      `mutation { updateSession(values: {_session_expiry: 0, _session_expire_at_browser_close: true}) {
        expireAtBrowserClose expiryAge
      } }`,
    );
    expect(data).toEqual({ updateSession: { expireAtBrowserClose: false, expiryAge: 1209600 } });
  });
});

describe("version", () => {
  test("rises by exactly one per saving mutation, and reads leave it alone", async () => {
    const visitor = server.client();
    const steps: Array<[string, Record<string, unknown>?]> = [
      [SET, { key: "a", value: 1 }],
      [UPDATE, { values: { b: 2, c: 3, d: 4 } }],
      [POP, { key: "b" }],
      ["mutation { setSessionExpiry(seconds: 600) { version } }"],
      ["mutation { cycleSessionKey { version } }"],
    ];
    for (const [index, [query, variables]] of steps.entries()) {
      await visitor.request(query, variables);
      expect((await read(visitor)).version).toBe(index + 1);
      expect((await read(visitor)).version).toBe(index + 1);
    }
  });

  test("a document with several mutation fields saves once per field", async () => {
    const visitor = server.client();
    const { data } = await visitor.request(`mutation {
      first: setSession(key: "a", value: 1) { version }
      second: setSession(key: "b", value: 2) { version }
      third: updateSession(values: {c: 3, d: 4}) { version }
      absent: popSession(key: "zzz") { session { version } }
    }`);
    expect(data).toEqual({
      first: { version: 1 },
      second: { version: 2 },
      third: { version: 3 },
      absent: { session: { version: 3 } },
    });
    expect(await read(visitor)).toMatchObject({ data: { a: 1, b: 2, c: 3, d: 4 }, version: 3 });
  });
});
