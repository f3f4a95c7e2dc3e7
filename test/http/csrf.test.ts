import { expectNoSetCookie, expectSessionCookie } from "../helpers/cookies";
import { type GraphQLClient, recordCount, startTestServer, type TestServer } from "../helpers/server";

const READ = "{ session { id data version } }";
const SET = 'mutation { setSession(key: "planted", value: "by an attacker") { version } }';
const CSRF_REFUSAL = /Cross-Site Request Forgery/;

/** The bodies a page on another site can make a browser send without a preflight. */
const simpleBodies: Array<[string, () => { body: RequestInit["body"]; headers: Record<string, string> }]> = [
  [
    "a text/plain body",
    () => ({ body: JSON.stringify({ query: SET }), headers: { "content-type": "text/plain" } }),
  ],
  [
    "an application/x-www-form-urlencoded body",
    () => ({
      body: new URLSearchParams({ query: SET }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    }),
  ],
  [
    "a multipart/form-data body",
    () => {
      // fetch writes the multipart content type itself, boundary included.
      const form = new FormData();
      form.set("operations", JSON.stringify({ query: SET }));
      form.set("map", "{}");
      return { body: form, headers: {} };
    },
  ],
  // A byte body is the one kind fetch sends with no content type at all.
  [
    "a body with no content type",
    () => ({ body: new TextEncoder().encode(JSON.stringify({ query: SET })), headers: {} }),
  ],
];

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

/** A visitor whose session holds `{ kept: "yes" }`, and how that session reads. */
async function visitorWithSession(): Promise<{ visitor: GraphQLClient; before: unknown }> {
  const visitor = server.client();
  expectSessionCookie(
    (await visitor.request('mutation { setSession(key: "kept", value: "yes") { version } }')).res,
  );
  return { visitor, before: (await visitor.request(READ)).data };
}

/** Sends a raw request to /graphql with the visitor's cookie, as a page on another site could make a browser do. */
function send(visitor: GraphQLClient, init: RequestInit & { headers?: Record<string, string> }, search = "") {
  const cookie = visitor.jar.header();
  return fetch(`${server.graphqlUrl}${search}`, {
    ...init,
    headers: { ...(cookie ? { cookie } : {}), ...init.headers },
  });
}

/** Asserts, through a proper JSON POST, that the session reads as it did and no cookie was issued. */
async function expectUnchanged(visitor: GraphQLClient, before: unknown, res: Response): Promise<void> {
  expectNoSetCookie(res);
  const after = await visitor.request(READ);
  expect(after.data).toEqual(before);
  expectNoSetCookie(after.res);
}

const getSearch = (query: string) => `?query=${encodeURIComponent(query)}`;

describe("CSRF prevention", () => {
  describe.each(simpleBodies)("when a mutation comes as %s without a preflight header", (_, make) => {
    test("it gets 400 and changes nothing", async () => {
      const { visitor, before } = await visitorWithSession();
      const res = await send(visitor, { method: "POST", ...make() });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(CSRF_REFUSAL);
      await expectUnchanged(visitor, before, res);
    });

    test("a visitor without a session gets no cookie", async () => {
      const visitor = server.client();
      const res = await send(visitor, { method: "POST", ...make() });
      expect(res.status).toBe(400);
      expectNoSetCookie(res);
      expect(await visitor.data()).toEqual({});
      expect(await recordCount(server)).toBe(0);
    });
  });

  describe.each([
    ["apollo-require-preflight", "true"],
    ["x-apollo-operation-name", "X"],
  ])("when a non-JSON body carries %s", (header, value) => {
    test.each(simpleBodies)("%s passes the CSRF check but changes nothing", async (_, make) => {
      const { visitor, before } = await visitorWithSession();
      const request = make();
      const res = await send(visitor, {
        method: "POST",
        body: request.body,
        headers: { ...request.headers, [header]: value },
      });
      expect(await res.text()).not.toMatch(CSRF_REFUSAL);
      await expectUnchanged(visitor, before, res);
    });
  });

  describe("when a mutation is posted as JSON", () => {
    test("it runs and sets the cookie", async () => {
      const { visitor } = await visitorWithSession();
      const result = await visitor.request(SET);
      expect(result.status).toBe(200);
      expect(result.data).toEqual({ setSession: { version: 2 } });
      expectSessionCookie(result.res);
      expect(await visitor.data()).toEqual({ kept: "yes", planted: "by an attacker" });
    });
  });

  describe("when a query comes over GET", () => {
    test("without a preflight header it gets 400", async () => {
      const { visitor } = await visitorWithSession();
      const res = await send(visitor, { method: "GET" }, getSearch(READ));
      expect(res.status).toBe(400);
      const body = (await res.json()) as { data?: unknown };
      expect(body.data).toBeUndefined();
      expectNoSetCookie(res);
    });

    test("with apollo-require-preflight it answers 200 with the session", async () => {
      const { visitor, before } = await visitorWithSession();
      const res = await send(
        visitor,
        { method: "GET", headers: { "apollo-require-preflight": "true" } },
        getSearch(READ),
      );
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: unknown }).data).toEqual(before);
      expectNoSetCookie(res);
    });

    test("with an empty preflight header it gets 400", async () => {
      const { visitor } = await visitorWithSession();
      const res = await send(
        visitor,
        { method: "GET", headers: { "apollo-require-preflight": "" } },
        getSearch(READ),
      );
      expect(res.status).toBe(400);
    });

    test("with a content type other than JSON and no preflight header it gets 400 before running", async () => {
      const { visitor } = await visitorWithSession();
      const res = await send(
        visitor,
        { method: "GET", headers: { "content-type": "application/xml" } },
        getSearch(READ),
      );
      expect(res.status).toBe(400);
      expect(((await res.json()) as { data?: unknown }).data).toBeUndefined();
      expectNoSetCookie(res);
    });
  });

  describe("when a mutation comes over GET", () => {
    test("with a preflight header it gets 405 and changes nothing", async () => {
      const { visitor, before } = await visitorWithSession();
      const res = await send(
        visitor,
        { method: "GET", headers: { "apollo-require-preflight": "true" } },
        getSearch(SET),
      );
      expect(res.status).toBe(405);
      await expectUnchanged(visitor, before, res);
    });

    test("without a preflight header it gets 400 and changes nothing", async () => {
      const { visitor, before } = await visitorWithSession();
      const res = await send(visitor, { method: "GET" }, getSearch(SET));
      expect(res.status).toBe(400);
      await expectUnchanged(visitor, before, res);
    });
  });

  describe("when a mutation is posted with another non-JSON content type", () => {
    test("it gets 400 and changes nothing", async () => {
      const { visitor, before } = await visitorWithSession();
      const res = await send(visitor, {
        method: "POST",
        body: SET,
        headers: { "content-type": "application/graphql" },
      });
      expect(res.status).toBe(400);
      await expectUnchanged(visitor, before, res);
    });
  });
});
