import { request } from "node:http";
import { startTestServer, type TestServer } from "../helpers/server";

const MIB = 1024 * 1024;
const UPLOAD_BYTES = 5 * MIB;
const CHUNK = Buffer.alloc(64 * 1024, "x");
const ATTEMPTS = 20;

/**
 * Streams `bytes` of body in chunks and resolves to the status it read back, once the whole upload has gone out or
 * the server has closed the connection cleanly; a reset or EPIPE at any point, even after the answer, rejects.
 */
function upload(url: string, bytes: number, withLength: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answer: { status: number; body: string } | undefined;
    let uploaded = false;
    const settle = () => {
      if (answer !== undefined && uploaded) resolve(answer);
    };
    const req = request(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(withLength ? { "content-length": String(bytes) } : { "transfer-encoding": "chunked" }),
        },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => {
          answer = { status: res.statusCode ?? 0, body };
          settle();
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.on("close", () => {
      uploaded = true;
      settle();
    });
    let sent = 0;
    const writeMore = () => {
      while (sent < bytes) {
        const piece = CHUNK.subarray(0, Math.min(CHUNK.length, bytes - sent));
        sent += piece.length;
        if (!req.write(piece)) {
          req.once("drain", writeMore);
          return;
        }
      }
      req.end();
    };
    writeMore();
  });
}

describe("Oversized bodies: a body over the limit", () => {
  let server: TestServer;

  beforeAll(async () => {
    // SESSION_MAX_BYTES small enough that the body limit is its floor, 1 MiB.
    server = await startTestServer({ env: { SESSION_MAX_BYTES: "65536" } });
  });
  afterAll(() => server.close());

  test.each([
    ["with a Content-Length", true],
    ["sent chunked", false],
  ])(
    "%s gets a 413 the client reads, twenty times in a row, with no reset",
    async (_name, withLength) => {
      const outcomes: string[] = [];
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        try {
          const { status, body } = await upload(server.graphqlUrl, UPLOAD_BYTES, withLength);
          outcomes.push(`${status} ${JSON.parse(body).message}`);
        } catch (error) {
          outcomes.push(`failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        }
      }
      expect(outcomes).toEqual(Array.from({ length: ATTEMPTS }, () => "413 Request body is too large"));
    },
    60_000,
  );

  test("and a body under it still reaches GraphQL", async () => {
    const result = await server.client().request("{ session { isEmpty } }");
    expect(result.data).toEqual({ session: { isEmpty: true } });
  });
});
