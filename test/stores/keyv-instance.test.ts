import KeyvRedis from "@keyv/redis";
import { Keyv } from "keyv";
import type { SessionRecord } from "../../src/session/store";
import { createKeyvStore } from "../../src/stores/keyv-store";
import { ManualClock } from "../helpers/clock";
import { expectNoSetCookie } from "../helpers/cookies";
import { freePort } from "../helpers/free-port";
import { startTestServer, type TestServer } from "../helpers/server";

const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";

describe("a store over a Keyv instance the caller built", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test("serves sessions, with parallel writes on one session serialised within the instance", async () => {
    const keyv = new Keyv<SessionRecord>({ store: new Map(), namespace: "app-sessions" });
    server = await startTestServer({ store: createKeyvStore(keyv, { clock: new ManualClock() }) });
    const visitor = server.client();
    await visitor.request(SET, { key: "first", value: true });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => visitor.request(SET, { key: `k${i}`, value: i })),
    );
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    const data = await visitor.data();
    expect(Object.keys(data)).toHaveLength(31);
  });

  test("switches Keyv's throwOnErrors on, so a failing adapter is an outage, not an empty session", async () => {
    const port = await freePort();
    const adapter = new KeyvRedis(`redis://127.0.0.1:${port}`, {
      throwOnErrors: true,
      throwOnConnectError: true,
      connectionTimeout: 300,
    });
    const keyv = new Keyv<SessionRecord>({ store: adapter });
    expect(keyv.throwOnErrors).toBe(false);
    const store = createKeyvStore(keyv);
    expect(keyv.throwOnErrors).toBe(true);
    server = await startTestServer({ store });

    const result = await server.client().request(SET, { key: "a", value: 1 });
    expect(result.errors?.[0]?.extensions?.code).toBe("STORE_UNAVAILABLE");
    expect(JSON.stringify(result.errors)).not.toContain(String(port));
    expectNoSetCookie(result.res);
  });
});
