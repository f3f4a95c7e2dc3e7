import { startTestServer, type TestServer } from "../helpers/server";

const ALLOWED = "http://allowed.test";
const OTHER_ALLOWED = "http://other.test";
const EVIL = "http://evil.test";
const READ = "{ session { version } }";

/** The actual request a page at `origin` sends with credentials. */
function crossOriginPost(server: TestServer, origin: string): Promise<Response> {
  return fetch(server.graphqlUrl, {
    method: "POST",
    headers: { origin, "content-type": "application/json", "apollo-require-preflight": "true" },
    body: JSON.stringify({ query: READ }),
  });
}

/** The preflight a browser sends before that request. */
function preflight(server: TestServer, origin: string): Promise<Response> {
  return fetch(server.graphqlUrl, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,apollo-require-preflight",
    },
  });
}

/** A comma-separated header as a lower-case list. */
function listOf(res: Response, name: string): string[] {
  return (res.headers.get(name) ?? "")
    .split(",")
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item.length > 0);
}

describe("when CORS_ORIGINS lists origins", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer({ env: { CORS_ORIGINS: `${ALLOWED},${OTHER_ALLOWED}` } });
  });
  afterEach(() => server.close());

  describe.each([ALLOWED, OTHER_ALLOWED])("a request from %s", (origin) => {
    test("gets its origin echoed, never *, with credentials allowed", async () => {
      const res = await crossOriginPost(server, origin);
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    });

    test("gets its preflight answered 204 with the methods and headers it needs", async () => {
      const res = await preflight(server, origin);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("access-control-allow-credentials")).toBe("true");
      expect(listOf(res, "access-control-allow-methods")).toEqual(
        expect.arrayContaining(["get", "post", "options"]),
      );
      expect(listOf(res, "access-control-allow-headers")).toEqual(
        expect.arrayContaining(["content-type", "apollo-require-preflight", "x-apollo-operation-name"]),
      );
    });
  });

  describe.each([
    ["an unlisted origin", EVIL],
    ["a listed host under another scheme", "https://allowed.test"],
    ["a listed host on another port", "http://allowed.test:8080"],
    ["a host that merely starts with a listed one", "http://allowed.test.evil.test"],
    ["the opaque origin null", "null"],
  ])("a request from %s", (_, origin) => {
    test("gets no Access-Control-Allow-Origin on the actual request", async () => {
      const res = await crossOriginPost(server, origin);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    });

    test("gets no Access-Control-Allow-Origin on its preflight", async () => {
      const res = await preflight(server, origin);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    });

    test("is not told that credentials are allowed", async () => {
      // Harmless without Allow-Origin, but a listed-only header is what the contract describes.
      expect(
        (await crossOriginPost(server, origin)).headers.get("access-control-allow-credentials"),
      ).toBeNull();
      expect((await preflight(server, origin)).headers.get("access-control-allow-credentials")).toBeNull();
    });
  });

  test("a same-origin request without an Origin header gets no wildcard", async () => {
    const res = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: READ }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).not.toBe("*");
  });
});

describe("when CORS_ORIGINS is unset", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(() => server.close());

  test.each([ALLOWED, EVIL])("a request from %s gets no Access-Control-Allow-Origin", async (origin) => {
    const res = await crossOriginPost(server, origin);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  test.each([ALLOWED, EVIL])("a preflight from %s gets no Access-Control-Allow-Origin", async (origin) => {
    const res = await preflight(server, origin);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });
});
