import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { GraphQLError } from "graphql";
import { buildSchema, Ctx, Query, Resolver } from "type-graphql";
import {
  ConfigError,
  createSessions,
  type SessionContext,
  type SessionDraft,
  type Sessions,
  sessionResolvers,
} from "../../src/index";
import { ManualClock } from "../helpers/clock";
import { expectNoSetCookie, expectSessionCookie, setCookiesOf } from "../helpers/cookies";
import { GraphQLClient, TEST_SECRET } from "../helpers/server";

/** One call of a `context.session` method: its name and arguments. */
type Step = [method: string, ...args: unknown[]];

/**
 * An application whose one resolver (its JSON scalars are sessionql's, from `sessions.typeDefs`) runs `context.session` methods in order and answers with what each
 * returned, so every method of the contract is driven through real HTTP by the application's own code.
 */
const typeDefs = /* GraphQL */ `
  type Query { run(steps: [JSON!]!): JSON }
  type Mutation { run(steps: [JSON!]!): JSON, modify(set: JSONObject!, failAfter: Boolean! = false): JSON }
`;

async function runSteps({ session }: SessionContext, steps: Step[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const [method, ...args] of steps) {
    const call = (session as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method];
    if (call === undefined) throw new GraphQLError(`no method ${method}`);
    const result = await call.apply(
      session,
      method === "setExpiry" && typeof args[0] === "string" ? [new Date(args[0])] : args,
    );
    results.push(result instanceof Date ? result.toISOString() : (result ?? null));
  }
  return results;
}

const resolvers = {
  Query: {
    run: (_: unknown, { steps }: { steps: Step[] }, context: SessionContext) => runSteps(context, steps),
  },
  Mutation: {
    run: (_: unknown, { steps }: { steps: Step[] }, context: SessionContext) => runSteps(context, steps),
    modify: async (
      _: unknown,
      { set, failAfter }: { set: Record<string, unknown>; failAfter: boolean },
      { session }: SessionContext,
    ) =>
      session.modify((draft: SessionDraft) => {
        for (const [key, value] of Object.entries(set)) draft.set(key, value);
        if (failAfter) throw new GraphQLError("changed my mind", { extensions: { code: "APP_REFUSED" } });
        return draft.keys();
      }),
  },
};

/** A JSON value `depth` levels deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = [value];
  return value;
}

/** Sets `app=1` through Apollo's single-valued header map, when the request asks for it. */
const appCookiePlugin: ApolloServerPlugin<SessionContext> = {
  async requestDidStart({ request }) {
    if (request.http?.headers.get("x-app-cookie") === undefined) return;
    return {
      async willSendResponse({ response }) {
        response.http.headers.set("set-cookie", "app=1; Path=/");
      },
    };
  },
};

describe("context.session in an application's own resolvers", () => {
  const clock = new ManualClock();
  let sessions: Sessions;
  let apollo: ApolloServer<SessionContext>;
  let url: string;

  beforeAll(async () => {
    sessions = await createSessions({
      store: "memory://",
      secrets: [TEST_SECRET],
      clock,
      privateKeyPrefix: "_",
    });
    apollo = new ApolloServer<SessionContext>({
      typeDefs: [typeDefs, sessions.typeDefs],
      resolvers: [resolvers, sessions.resolvers],
      // An application plugin after sessionql's that sets a cookie through Apollo's own header map.
      plugins: [sessions.plugin, appCookiePlugin],
    });
    ({ url } = await startStandaloneServer(apollo, {
      listen: { port: 0, host: "127.0.0.1" },
      context: async ({ req, res }) => sessions.context({ req, res }),
    }));
  });
  afterAll(async () => {
    await apollo?.stop();
    await sessions?.close();
  });

  const run = (
    client: GraphQLClient,
    steps: Step[],
    kind: "query" | "mutation" = "mutation",
    headers: Record<string, string> = {},
  ) =>
    client.request<{ run: unknown[] }>(
      `${kind}($steps: [JSON!]!) { run(steps: $steps) }`,
      { steps },
      headers,
    );

  test("reads load the session lazily and never create one", async () => {
    const client = new GraphQLClient(url);
    const { data, res } = await run(
      client,
      [["get", "missing", "fallback"], ["has", "missing"], ["keys"], ["items"], ["isEmpty"], ["id"]],
      "query",
    );
    expect(data?.run).toEqual(["fallback", false, [], {}, true, null]);
    expectNoSetCookie(res);
    expect(res.headers.get("vary")).toMatch(/Cookie/);
  });

  test("each write is saved before it resolves, with Django's answers", async () => {
    const client = new GraphQLClient(url);
    const { data, res } = await run(client, [
      ["set", "a", 1],
      ["setDefault", "a", 2],
      ["setDefault", "b", [2]],
      ["update", { c: { three: 3 }, _role: "admin" }],
      ["pop", "a"],
      ["pop", "a", "gone"],
      ["keys"],
      ["items"],
      ["isEmpty"],
    ]);
    expect(data?.run).toEqual([
      null,
      1,
      [2],
      null,
      { found: true, value: 1 },
      { found: false, value: "gone" },
      ["b", "c", "_role"],
      { b: [2], c: { three: 3 }, _role: "admin" },
      false,
    ]);
    expectSessionCookie(res);
    // Four calls changed something (set, the setDefault of an absent key, update, the pop of a present key), each
    // its own save; the setDefault of a present key and the pop of an absent one saved nothing.
    const read = await client.request<{ session: { version: number; keys: string[] } }>(
      "{ session { version keys } }",
    );
    expect(read.data?.session).toEqual({ version: 4, keys: ["b", "c"] });
  });

  test("expiry: setExpiry(seconds), browser close, and back to the default policy", async () => {
    const client = new GraphQLClient(url);
    await run(client, [["set", "k", "v"]]);
    const { data } = await run(client, [
      ["setExpiry", 60],
      ["expiryAge"],
      ["expireAtBrowserClose"],
      ["setExpiry", 0],
      ["expireAtBrowserClose"],
      ["setExpiry", null],
      ["expiryAge"],
    ]);
    expect(data?.run).toEqual([null, 60, false, null, true, null, 1209600]);
    const date = await run(client, [["expiryDate"]], "query");
    expect(new Date(date.data?.run[0] as string).getTime()).toBe(clock.now() + 1209600 * 1000);
  });

  test("the features beyond Django: expiresIn, keyExpiresAt, a fixed expiry Date, createdAt and ifVersion", async () => {
    const client = new GraphQLClient(url);
    const at = new Date(clock.now() + 3_600_000).toISOString();
    const { data } = await run(client, [
      ["set", "flash", "hi", { expiresIn: 10 }],
      ["keyExpiresAt", "flash"],
      ["createdAt"],
      ["setExpiry", at],
      ["expiryAge"],
      ["expiryDate"],
      ["setDefault", "theme", "dark", { ifVersion: 2 }],
    ]);
    expect(data?.run).toEqual([
      null,
      new Date(clock.now() + 10_000).toISOString(),
      new Date(clock.now()).toISOString(),
      null,
      3600,
      at,
      "dark",
    ]);
    const stale = await run(client, [["set", "theme", "light", { ifVersion: 1 }]]);
    expect(stale.errors?.[0]?.extensions).toEqual({ code: "VERSION_CONFLICT", version: 3 });
    clock.advance(11);
    expect(
      (
        await run(
          client,
          [
            ["has", "flash"],
            ["get", "theme"],
          ],
          "query",
        )
      ).data?.run,
    ).toEqual([false, "dark"]);
  });

  test("a Set-Cookie an application plugin puts in Apollo's header map is kept beside the session's", async () => {
    const client = new GraphQLClient(url);
    const { res } = await run(client, [["set", "k", 1]], "mutation", { "x-app-cookie": "yes" });
    expect(
      setCookiesOf(res)
        .map((cookie) => cookie.split("=")[0])
        .sort(),
    ).toEqual(["app", "sessionid"]);
  });

  test("cycleKey keeps the data under a new key and id; flush ends the session and expires the cookie", async () => {
    const client = new GraphQLClient(url);
    await run(client, [["set", "k", "v"]]);
    const before = client.jar.get();
    const { data } = await run(client, [["id"], ["cycleKey"], ["id"], ["get", "k"]]);
    const [firstId, , secondId, value] = data?.run ?? [];
    expect(firstId).toEqual(expect.any(String));
    expect(secondId).toEqual(expect.any(String));
    expect(secondId).not.toBe(firstId);
    expect(value).toBe("v");
    expect(client.jar.get()).not.toBe(before);

    const flushed = await run(client, [["flush"], ["isEmpty"], ["id"]]);
    expect(flushed.data?.run).toEqual([null, true, null]);
    expect(client.jar.get()).toBeUndefined();
  });

  test("modify makes several changes in one save (one version), or none when the callback throws", async () => {
    const client = new GraphQLClient(url);
    const one = await client.request<{ modify: string[] }>("mutation { modify(set: { a: 1, b: 2, c: 3 }) }");
    expect(one.data?.modify).toEqual(["a", "b", "c"]);
    const refused = await client.request("mutation { modify(set: { d: 4 }, failAfter: true) }");
    expect(refused.errors?.[0]?.extensions?.code).toBe("APP_REFUSED");
    const read = await client.request<{ session: { version: number; data: unknown } }>(
      "{ session { version data } }",
    );
    expect(read.data?.session).toEqual({ version: 1, data: { a: 1, b: 2, c: 3 } });
  });

  test.each([
    ["an empty key", ["set", "", 1], "key must be 1–256 characters (SESSION_MAX_KEY_LENGTH), got 0"],
    ["a value too deep", ["set", "k", nested(33)], "SESSION_MAX_DEPTH"],
    ["a negative expiry", ["setExpiry", -1], "seconds must be a whole number"],
  ] as Array<[string, Step, string]>)(
    "%s is a GraphQLError coded BAD_USER_INPUT, and nothing changes",
    async (_name, step, message) => {
      const client = new GraphQLClient(url);
      await run(client, [["set", "kept", true]]);
      const { errors, res } = await run(client, [step]);
      expect(errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect(errors?.[0]?.message).toContain(message);
      expectNoSetCookie(res);
      expect(await client.data()).toEqual({ kept: true });
    },
  );
});

describe("the header transport of the library", () => {
  let sessions: Sessions;
  let apollo: ApolloServer<SessionContext>;
  let url: string;

  beforeAll(async () => {
    sessions = await createSessions({
      store: "memory://",
      secrets: [TEST_SECRET],
      header: "X-Session-Token",
    });
    apollo = new ApolloServer<SessionContext>({
      typeDefs: sessions.typeDefs,
      resolvers: sessions.resolvers,
      plugins: [sessions.plugin],
    });
    ({ url } = await startStandaloneServer(apollo, {
      listen: { port: 0, host: "127.0.0.1" },
      context: async ({ req, res }) => sessions.context({ req, res }),
    }));
  });
  afterAll(async () => {
    await apollo?.stop();
    await sessions?.close();
  });

  test("carries the session in the header instead of a cookie, and Vary names it", async () => {
    const client = new GraphQLClient(url);
    const set = await client.request(`mutation { setSession(key: "k", value: 1) { version } }`, undefined, {
      "x-session-token": "",
    });
    const token = set.res.headers.get("x-session-token");
    expect(token).toMatch(/\./);
    expectNoSetCookie(set.res);
    expect(set.res.headers.get("vary")).toMatch(/X-Session-Token/);
    const read = await client.request<{ session: { data: unknown } }>("{ session { data } }", undefined, {
      "x-session-token": token as string,
    });
    expect(read.data?.session.data).toEqual({ k: 1 });
  });
});

describe("createSessions options", () => {
  test("are checked by the server's rules, and every bad one is named in one ConfigError", async () => {
    const attempt = createSessions({
      store: "ftp://nowhere",
      secrets: ["short"],
      cookie: { ageSeconds: -5, sameSite: "None" as "Lax" },
      limits: { maxKeyLength: 0 },
      privateKeyPrefix: "",
      ...({ colour: "blue" } as object),
    } as Parameters<typeof createSessions>[0]);
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    const problems = ((await attempt.catch((error: ConfigError) => error)) as ConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'unknown option "colour"',
        expect.stringMatching(/^store must be a URL/),
        expect.stringMatching(/^secrets must be/),
        expect.stringMatching(/^privateKeyPrefix must be/),
        'cookie.ageSeconds must be a whole number from 1 to 315360000, got "-5"',
        'limits.maxKeyLength must be a whole number from 1 to 4096, got "0"',
        "cookie.sameSite=None needs cookie.secure=true (browsers drop it otherwise)",
      ]),
    );
  });

  test("take a SessionStore or a Keyv instance as the store", async () => {
    const { default: Keyv } = await import("keyv");
    const fromKeyv = await createSessions({ store: new Keyv(), secrets: [TEST_SECRET] });
    expect(typeof fromKeyv.store.load).toBe("function");
    const fromStore = await createSessions({ store: fromKeyv.store, secrets: [TEST_SECRET] });
    expect(fromStore.store).toBe(fromKeyv.store);
    await fromKeyv.close();
  });
});

describe("type-graphql applications", () => {
  @Resolver()
  class GreetingResolver {
    @Query(() => String)
    async greeting(@Ctx() { session }: SessionContext): Promise<string> {
      return `Hello, ${(await session.get("name", "stranger")) as string}`;
    }
  }

  let sessions: Sessions;
  let apollo: ApolloServer<SessionContext>;
  let server: Server;

  beforeAll(async () => {
    sessions = await createSessions({ store: "memory://", secrets: [TEST_SECRET] });
    const schema = await buildSchema({ resolvers: [GreetingResolver, ...sessionResolvers], validate: false });
    apollo = new ApolloServer<SessionContext>({ schema, plugins: [sessions.plugin] });
    await apollo.start();
    const app = express();
    app.use(
      "/graphql",
      express.json(),
      expressMiddleware(apollo, { context: async ({ req, res }) => sessions.context({ req, res }) }),
    );
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await apollo?.stop();
    server?.close();
    await sessions?.close();
  });

  test("list sessionql's resolver classes in their own buildSchema, and their resolvers read the session", async () => {
    const client = new GraphQLClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`);
    await client.request(`mutation { setSession(key: "name", value: "Ada") { version } }`);
    const { data } = await client.request<{ greeting: string }>("{ greeting }");
    expect(data?.greeting).toBe("Hello, Ada");
  });
});
