import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { expectNoSetCookie } from "../helpers/cookies";
import { startTestServer, type TestServer } from "../helpers/server";

const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const open = (headers: Record<string, string> = {}) =>
  fetch(server.graphqlUrl, { headers: { accept: BROWSER_ACCEPT, ...headers } });

describe("GET /graphql from a browser", () => {
  test("serves the GraphiQL page with every asset inline, so it works offline", async () => {
    const res = await open({ "accept-encoding": "identity" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await res.text();
    expect(html).toContain("<title>sessionql</title>");
    expect(html).toContain("renderYogaGraphiQL");
    // Nothing is loaded from anywhere: no external scripts, stylesheets or icons.
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="(https?:)?\/\//i);
    expectNoSetCookie(res);
  });

  test("opens with the session operations as tabs, sending the cookie and the preflight header", async () => {
    const html = await (await open({ "accept-encoding": "identity" })).text();
    for (const operation of [
      "query Session",
      "mutation Set(",
      "popSession",
      "cycleSessionKey",
      "flushSession",
    ]) {
      expect(html).toContain(operation);
    }
    expect(html).toContain('"credentials":"same-origin"');
    expect(html).toContain('"apollo-require-preflight":"true"');
    expect(html).toContain('"endpoint":"/graphql"');
  });

  test("is compressed with brotli or gzip, whichever the browser takes", async () => {
    const identity = await (await open({ "accept-encoding": "identity" })).arrayBuffer();
    // fetch decompresses by itself, so the raw bodies are read through node's http client instead.
    const raw = async (encoding: string) => {
      const { request } = await import("node:http");
      return new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
        request(
          server.graphqlUrl,
          { headers: { accept: BROWSER_ACCEPT, "accept-encoding": encoding } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () =>
              resolve({ encoding: res.headers["content-encoding"], body: Buffer.concat(chunks) }),
            );
          },
        )
          .on("error", reject)
          .end();
      });
    };
    const br = await raw("gzip, deflate, br");
    expect(br.encoding).toBe("br");
    expect(br.body.length).toBeLessThan(identity.byteLength / 3);
    expect(brotliDecompressSync(br.body).equals(Buffer.from(identity))).toBe(true);
    const gz = await raw("gzip");
    expect(gz.encoding).toBe("gzip");
    expect(gunzipSync(gz.body).equals(Buffer.from(identity))).toBe(true);
  });

  test("revalidates with its ETag (304) and keeps the page to this server with a CSP", async () => {
    const first = await open();
    const etag = first.headers.get("etag") as string;
    expect(etag).toMatch(/^".+"$/);
    expect(first.headers.get("cache-control")).toBe("no-cache");
    expect(first.headers.get("content-security-policy")).toContain("connect-src 'self'");
    expect(first.headers.get("vary")).toMatch(/Accept/);
    const again = await open({ "if-none-match": etag });
    expect(again.status).toBe(304);
  });
});

describe("GraphQL over GET and POST is unchanged", () => {
  test("a GET asking for JSON runs the query", async () => {
    const res = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent("{ session { isEmpty } }")}`, {
      headers: {
        accept: "application/graphql-response+json, application/json",
        "apollo-require-preflight": "1",
      },
    });
    expect(res.status).toBe(200);
    await expect(res.json()).resolves.toEqual({ data: { session: { isEmpty: true } } });
  });

  test("a POST with an Accept that lists text/html still runs the operation", async () => {
    const res = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { accept: BROWSER_ACCEPT, "content-type": "application/json" },
      body: JSON.stringify({ query: "{ session { isEmpty } }" }),
    });
    expect(res.status).toBe(200);
    await expect(res.json()).resolves.toEqual({ data: { session: { isEmpty: true } } });
  });
});
