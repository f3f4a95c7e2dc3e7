import { parseSetCookie } from "cookie";
import { loadConfig } from "../../src/config";
import { setCookiesOf } from "../helpers/cookies";
import { startTestServer, type TestServer } from "../helpers/server";

// Client address: SESSION_CREATE_RATE (and the logs) count the address TRUST_PROXY decides: the socket's, or the
// first X-Forwarded-For hop that is not a trusted proxy. Every test client connects from 127.0.0.1, which plays
// the reverse proxy; the proxy appends the address it saw to whatever X-Forwarded-For the client sent.

const CREATE = 'mutation { setSession(key: "visitor", value: "new") { version } }';
const LIMIT = 2;

/** A new visitor creating a session through the proxy; resolves to the error code, or "created". */
async function create(server: TestServer, forwardedFor?: string, proto?: string): Promise<string> {
  const headers: Record<string, string> = {};
  if (forwardedFor !== undefined) headers["x-forwarded-for"] = forwardedFor;
  if (proto !== undefined) headers["x-forwarded-proto"] = proto;
  const { errors } = await server.client().request(CREATE, undefined, headers);
  return errors?.[0]?.extensions?.code ?? "created";
}

async function serverTrusting(trustProxy: string): Promise<TestServer> {
  return startTestServer({ env: { TRUST_PROXY: trustProxy, SESSION_CREATE_RATE: `${LIMIT}/60` } });
}

describe("Client address: a server trusting one hop (TRUST_PROXY=1)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serverTrusting("1");
  });
  afterAll(() => server.close());

  test("a client forging X-Forwarded-For is counted under its real address, the one the proxy appended", async () => {
    const real = "203.0.113.7";
    const outcomes = [];
    for (const forged of ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]) {
      outcomes.push(await create(server, `${forged}, ${real}`));
    }
    expect(outcomes).toEqual(["created", "created", "RATE_LIMITED", "RATE_LIMITED"]);
    // Another real client behind the same proxy is not held back by the first one's count.
    expect(await create(server, "203.0.113.8")).toBe("created");
  });
});

describe("Client address: a server trusting its proxy's address (TRUST_PROXY=127.0.0.1)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serverTrusting("127.0.0.1");
  });
  afterAll(() => server.close());

  test("the first hop that is not the trusted proxy is the client, whatever it put in front", async () => {
    const outcomes = [];
    for (const forged of ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
      outcomes.push(await create(server, `${forged}, 203.0.113.9`));
    expect(outcomes).toEqual(["created", "created", "RATE_LIMITED"]);
  });

  test("X-Forwarded-Proto from the trusted proxy makes the cookie Secure", async () => {
    const { res } = await server.client().request(CREATE, undefined, {
      "x-forwarded-for": "203.0.113.50",
      "x-forwarded-proto": "https",
    });
    const cookie = setCookiesOf(res).map((header) => parseSetCookie(header))[0];
    expect(cookie?.secure).toBe(true);
  });
});

describe("Client address: a server trusting no proxy (TRUST_PROXY=false, the default)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serverTrusting("false");
  });
  afterAll(() => server.close());

  test("X-Forwarded-For is ignored: every request counts under the socket's address", async () => {
    const outcomes = [];
    for (const forged of ["198.51.100.10", "198.51.100.11", "198.51.100.12"])
      outcomes.push(await create(server, forged));
    expect(outcomes).toEqual(["created", "created", "RATE_LIMITED"]);
  });

  test("X-Forwarded-Proto does not make the cookie Secure", async () => {
    const fresh = await serverTrusting("false");
    try {
      const { res } = await fresh.client().request(CREATE, undefined, { "x-forwarded-proto": "https" });
      expect(parseSetCookie(setCookiesOf(res)[0] as string).secure).toBeFalsy();
    } finally {
      await fresh.close();
    }
  });
});

describe("TRUST_PROXY and SESSION_CREATE_RATE in the configuration", () => {
  test.each([
    ["false", false],
    ["true", true],
    ["0", false],
    ["2", 2],
    ["10.0.0.0/8, 192.168.1.1", ["10.0.0.0/8", "192.168.1.1"]],
    ["loopback, fd00::/8", ["loopback", "fd00::/8"]],
  ])("TRUST_PROXY=%s reads as %j", (text, expected) => {
    expect(loadConfig({ TRUST_PROXY: text }).trustProxy).toEqual(expected);
  });

  test.each(["10.0.0.0/33", "not-an-address", "10.0.0.1/8/1", "65"])("TRUST_PROXY=%s is refused", (text) => {
    expect(() => loadConfig({ TRUST_PROXY: text })).toThrow(/TRUST_PROXY must be/);
  });

  test("SESSION_CREATE_RATE is off by default: many new visitors behind one proxy are all admitted", async () => {
    expect(loadConfig({}).sessionCreateRate.limit).toBe(0);
    const server = await startTestServer({ env: { SESSION_CREATE_RATE: "" } });
    try {
      const outcomes = await Promise.all(Array.from({ length: 120 }, () => create(server)));
      expect(new Set(outcomes)).toEqual(new Set(["created"]));
    } finally {
      await server.close();
    }
  });
});
