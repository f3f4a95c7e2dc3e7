import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../helpers/clock";
import { expectSessionCookie } from "../helpers/cookies";
import { type GraphQLClient, startTestServer, type TestServer } from "../helpers/server";

const COUNT = 50;
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";
const UPDATE = "mutation($values: JSONObject!) { updateSession(values: $values) { version } }";
const POP = "mutation($key: String!) { popSession(key: $key) { found value } }";
const READ = "{ session { data version } }";

type StoreSetup = () => { env: Record<string, string>; cleanUp: () => void };

const stores: Array<[string, StoreSetup]> = [
  ["the memory store", () => ({ env: {}, cleanUp: () => {} })],
  [
    "a SQLite store",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "sessionql-parallel-"));
      return {
        env: { SESSION_STORE: `sqlite://${join(dir, "sessions.sqlite")}` },
        cleanUp: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
];

const range = (count: number) => Array.from({ length: count }, (_, index) => index);

async function readBack(visitor: GraphQLClient) {
  const { data } = await visitor.request<{ session: { data: Record<string, unknown>; version: number } }>(
    READ,
  );
  return data?.session as { data: Record<string, unknown>; version: number };
}

describe.each(stores)("on %s", (_name, setup) => {
  let server: TestServer;
  let cleanUp: () => void;
  beforeEach(async () => {
    const store = setup();
    cleanUp = store.cleanUp;
    server = await startTestServer({ env: store.env, clock: new ManualClock() });
  });
  afterEach(async () => {
    await server.close();
    cleanUp();
  });

  /** A visitor whose session already exists, so every parallel request presents the same cookie. */
  async function visitorWith(values: Record<string, unknown>): Promise<GraphQLClient> {
    const visitor = server.client();
    expectSessionCookie((await visitor.request(UPDATE, { values })).res);
    return visitor;
  }

  test(`${COUNT} parallel setSession calls on distinct keys all survive`, async () => {
    const visitor = await visitorWith({ first: true });
    const results = await Promise.all(
      range(COUNT).map((i) => visitor.request(SET, { key: `k${i}`, value: i })),
    );
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    const expected: Record<string, unknown> = { first: true };
    for (const i of range(COUNT)) expected[`k${i}`] = i;
    const session = await readBack(visitor);
    expect(session.data).toEqual(expected);
    expect(session.version).toBe(1 + COUNT);
  });

  test("each parallel save gets its own version", async () => {
    const visitor = await visitorWith({ first: true });
    const results = await Promise.all(
      range(COUNT).map((i) =>
        visitor.request<{ setSession: { version: number } }>(SET, { key: `k${i}`, value: i }),
      ),
    );
    const versions = results
      .map((result) => result.data?.setSession.version)
      .sort((a, b) => Number(a) - Number(b));
    expect(versions).toEqual(range(COUNT).map((i) => i + 2));
  });

  test("parallel updateSession and popSession calls on distinct keys lose nothing", async () => {
    const half = COUNT / 2;
    const initial: Record<string, unknown> = { keep: "me" };
    for (const i of range(half)) initial[`p${i}`] = `popped ${i}`;
    const visitor = await visitorWith(initial);
    const results = await Promise.all(
      range(half).flatMap((i) => [
        visitor.request<{ popSession: { found: boolean; value: unknown } }>(POP, { key: `p${i}` }),
        visitor.request(UPDATE, { values: { [`u${i}`]: i, [`w${i}`]: [i] } }),
      ]),
    );
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    const pops = results.filter((_, index) => index % 2 === 0).map((result) => result.data?.popSession);
    expect(pops).toEqual(range(half).map((i) => ({ found: true, value: `popped ${i}` })));
    const expected: Record<string, unknown> = { keep: "me" };
    for (const i of range(half)) Object.assign(expected, { [`u${i}`]: i, [`w${i}`]: [i] });
    const session = await readBack(visitor);
    expect(session.data).toEqual(expected);
    expect(session.version).toBe(1 + COUNT);
  });

  test("parallel reads during parallel writes always see the keys stored before", async () => {
    const visitor = await visitorWith({ base: 0 });
    const half = COUNT / 2;
    const writes = Promise.all(range(half).map((i) => visitor.request(SET, { key: `k${i}`, value: i })));
    const reads = Promise.all(range(half).map(() => readBack(visitor)));
    for (const session of (await Promise.all([writes, reads]))[1]) {
      expect(session.data).toMatchObject({ base: 0 });
    }
    expect(Object.keys((await readBack(visitor)).data)).toHaveLength(1 + half);
  });
});

describe("on two instances sharing one SQLite file", () => {
  let dir: string;
  let servers: TestServer[];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "sessionql-parallel-shared-"));
    const env = { SESSION_STORE: `sqlite://${join(dir, "sessions.sqlite")}` };
    const clock = new ManualClock();
    servers = [await startTestServer({ env, clock }), await startTestServer({ env, clock })];
  });
  afterEach(async () => {
    for (const server of servers) await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${COUNT} parallel setSession calls split across both instances all survive`, async () => {
    const [one, two] = servers as [TestServer, TestServer];
    const visitor = one.client();
    await visitor.request(SET, { key: "first", value: true });
    const onTwo = two.client(visitor.jar);
    const results = await Promise.all(
      range(COUNT).map((i) => (i % 2 === 0 ? visitor : onTwo).request(SET, { key: `k${i}`, value: i })),
    );
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    const session = await readBack(onTwo);
    expect(Object.keys(session.data)).toHaveLength(1 + COUNT);
    expect(session.version).toBe(1 + COUNT);
  });
});
