import { getIntrospectionQuery, Lexer, Source, TokenKind } from "graphql";
import { expectNoSetCookie, expectSessionCookie } from "../helpers/cookies";
import { expectNothingInternal } from "../helpers/internals";
import { type GraphQLClient, startTestServer, type TestServer } from "../helpers/server";

// Query limits (GRAPHQL_MAX_DEPTH, _ALIASES, _COST, _DIRECTIVES, _TOKENS) and introspection. Every document is
// sent with a victim's session cookie: a refusal must come quickly, as a 400 naming the setting, run nothing and
// leave that session exactly as it was; an accepted one must not change it either.

const READ = "{ session { id data version } }";
const KEEP = 'mutation { setSession(key: "kept", value: "yes") { version } }';
const ANSWER_MS = 1000;

interface GraphQLBody {
  data?: unknown;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** What the server answered to one document, and how long it took. */
interface Answer {
  status: number;
  body: GraphQLBody;
  text: string;
  ms: number;
}

/** A visitor with `{ kept: "yes" }`; sends documents with its cookie and checks its session after each. */
class Victim {
  private constructor(
    private readonly client: GraphQLClient,
    private readonly before: unknown,
  ) {}

  static async of(server: TestServer): Promise<Victim> {
    const client = server.client();
    expectSessionCookie((await client.request(KEEP)).res);
    return new Victim(client, (await client.request(READ)).data);
  }

  /** Posts `query` as JSON with this visitor's cookie; checks the answer is quick, below 500 and clean. */
  async send(query: string): Promise<Answer> {
    const started = performance.now();
    const res = await fetch(this.client.url, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: this.client.jar.header() as string },
      body: JSON.stringify({ query }),
    });
    const text = await res.text();
    const ms = performance.now() - started;
    expect(res.status).toBeLessThan(500);
    expect(ms).toBeLessThan(ANSWER_MS);
    expectNothingInternal(text);
    expectNoSetCookie(res);
    await this.expectIntact();
    return { status: res.status, body: JSON.parse(text) as GraphQLBody, text, ms };
  }

  /** The server still answers, and the session reads exactly as before (data, id and version). */
  async expectIntact(): Promise<void> {
    const after = await this.client.request(READ);
    expect(after.status).toBe(200);
    expect(after.data).toEqual(this.before);
    expectNoSetCookie(after.res);
  }
}

function expectAccepted(answer: Answer): void {
  expect(answer.body.errors).toBeUndefined();
  expect(answer.status).toBe(200);
}

/** Refused before anything ran: HTTP 400, no data, the code, and (for validation) the setting that allows more. */
function expectRefused(answer: Answer, code: string, setting?: string): string {
  expect(answer.status).toBe(400);
  expect(answer.body.data).toBeUndefined();
  const [first] = answer.body.errors ?? [];
  expect(first?.extensions?.code).toBe(code);
  if (setting !== undefined) {
    const refusal = answer.body.errors?.find((error) => error.message.endsWith(`(${setting})`));
    expect(refusal?.message).toBeDefined();
    return refusal?.message ?? "";
  }
  return first?.message ?? "";
}

/** The number of tokens graphql-js counts for GRAPHQL_MAX_TOKENS (comments and EOF are not tokens). */
function tokensOf(query: string): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

const aliases = (count: number, field = "session { data }") =>
  `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(" ")} }`;

/** A document `depth` levels deep (3 or more): `__type` is level 1, `fields` 2, `type` 3, each `ofType` one more. */
function typeChain(depth: number): string {
  let inner = "name";
  for (let level = depth; level > 4; level--) inner = `ofType { ${inner} }`;
  if (depth >= 4) inner = `type { ${inner} }`;
  return `{ __type(name: "Session") { fields { ${inner} } } }`;
}

const servers: TestServer[] = [];
/** Starts a server with `env` once for a describe block. */
function serverWith(env: Record<string, string> = {}): () => TestServer {
  let started: TestServer | undefined;
  beforeAll(async () => {
    started = await startTestServer({ env });
    servers.push(started);
  });
  return () => started as TestServer;
}
afterAll(async () => {
  for (const server of servers.splice(0)) await server.close();
});

describe("with the default limits", () => {
  const server = serverWith();
  let victim: Victim;
  beforeEach(async () => {
    victim = await Victim.of(server());
  });

  describe("aliases (GRAPHQL_MAX_ALIASES = 15)", () => {
    test("15 aliases are accepted and 16 are refused", async () => {
      const accepted = await victim.send(aliases(15));
      expectAccepted(accepted);
      expect(Object.keys(accepted.body.data as object)).toHaveLength(15);
      const message = expectRefused(
        await victim.send(aliases(16)),
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_MAX_ALIASES",
      );
      expect(message).toBe("Aliases limit of 15 exceeded, found 16. (GRAPHQL_MAX_ALIASES)");
    });

    test("an alias bomb of 1000 `session { data }` is stopped by the token limit before it is even parsed", async () => {
      const bomb = aliases(1000);
      expect(tokensOf(bomb)).toBeGreaterThan(1000);
      expectRefused(await victim.send(bomb), "GRAPHQL_PARSE_FAILED");
    });

    test("16 aliased mutations are refused and none of them runs", async () => {
      const mutation = `mutation { ${Array.from(
        { length: 16 },
        (_, i) => `a${i}: setSession(key: "kept", value: ${i}) { version }`,
      ).join(" ")} }`;
      expectRefused(await victim.send(mutation), "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_MAX_ALIASES");
    });
  });

  describe("depth (GRAPHQL_MAX_DEPTH = 10)", () => {
    test("10 levels are accepted and 11 are refused", async () => {
      expectAccepted(await victim.send(typeChain(10)));
      const message = expectRefused(
        await victim.send(typeChain(11)),
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_MAX_DEPTH",
      );
      expect(message).toBe("Query depth limit of 10 exceeded, found 11. (GRAPHQL_MAX_DEPTH)");
    });

    test("nesting spread over fragments that spread each other counts the same", async () => {
      // Ten fragments on __Type, each adding one `ofType` level and spreading the next.
      const fragments = Array.from(
        { length: 10 },
        (_, i) => `fragment T${i} on __Type { ofType { ${i === 9 ? "name" : `...T${i + 1}`} } }`,
      ).join("\n");
      const query = `{ __type(name: "Session") { ...T0 } }\n${fragments}`;
      expectRefused(await victim.send(query), "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_MAX_DEPTH");
    });

    test("fragments that spread each other in a cycle are refused by graphql-js", async () => {
      const query = "{ session { ...A } } fragment A on Session { ...B } fragment B on Session { ...A }";
      expectRefused(await victim.send(query), "GRAPHQL_VALIDATION_FAILED");
    });
  });

  describe("cost (GRAPHQL_MAX_COST = 1000)", () => {
    // graphql-armor's cost: a leaf costs 1, a field with a selection 2 + 1.5 × its children, a top-level field its
    // own cost. D costs 236 exactly (the scalars beside each `ofType` keep every level whole), `__typename` 1.
    const D =
      '__type(name: "Session") { fields { type { ofType { ofType { ofType { ofType { ofType { name kind description ' +
      "specifiedByURL } } name kind } } name } name } name } name }";
    const costing = (typenames: number) => `{ ${`${D} `.repeat(4)}${"__typename ".repeat(typenames)}}`;

    test("a document costing 1000 is accepted and one costing 1001 is refused", async () => {
      expect(tokensOf(costing(57))).toBeLessThan(1000);
      expectAccepted(await victim.send(costing(56)));
      const message = expectRefused(
        await victim.send(costing(57)),
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_MAX_COST",
      );
      expect(message).toBe("Query Cost limit of 1000 exceeded, found 1001. (GRAPHQL_MAX_COST)");
    });

    test("a fragment bomb well under the token limit is refused by cost", async () => {
      // Each fragment spreads the previous one twice: 2^12 copies of `data` from a 134-token document.
      let fragments = "fragment F0 on Session { data }\n";
      for (let i = 1; i <= 12; i++) fragments += `fragment F${i} on Session { ...F${i - 1} ...F${i - 1} }\n`;
      const bomb = `{ session { ...F12 } }\n${fragments}`;
      expect(tokensOf(bomb)).toBeLessThan(200);
      const message = expectRefused(await victim.send(bomb), "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_MAX_COST");
      expect(message).toMatch(
        /^Query Cost limit of 1000 exceeded, found \d+(\.\d+)?\. \(GRAPHQL_MAX_COST\)$/,
      );
    });
  });

  describe("directives (GRAPHQL_MAX_DIRECTIVES = 10)", () => {
    const included = (count: number) => `{ ${"__typename @include(if: true) ".repeat(count)}}`;

    test("10 directives are accepted and 11 are refused", async () => {
      expectAccepted(await victim.send(included(10)));
      const message = expectRefused(
        await victim.send(included(11)),
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_MAX_DIRECTIVES",
      );
      expect(message).toBe("Directives limit of 10 exceeded, found 11. (GRAPHQL_MAX_DIRECTIVES)");
    });

    test("a flood of 120 directives on one field is refused with a bounded list of errors", async () => {
      const answer = await victim.send(`{ __typename ${"@include(if: true) ".repeat(120)}}`);
      expectRefused(answer, "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_MAX_DIRECTIVES");
      // graphql-js stops validating after 100 errors.
      expect(answer.body.errors?.length).toBeLessThanOrEqual(101);
    });

    test("a flood of 400 unknown directives is refused with a bounded list of errors", async () => {
      const answer = await victim.send(`{ __typename ${"@a ".repeat(400)}}`);
      expectRefused(answer, "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_MAX_DIRECTIVES");
      expect(answer.body.errors?.length).toBeLessThanOrEqual(101);
    });

    test("mutations carrying too many directives are refused and none of them runs", async () => {
      const mutation = `mutation { ${'setSession(key: "kept", value: 2) @include(if: true) { version } '.repeat(11)}}`;
      expectRefused(await victim.send(mutation), "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_MAX_DIRECTIVES");
    });
  });

  describe("tokens (GRAPHQL_MAX_TOKENS = 1000)", () => {
    /** `{ session { get(key: "a", default: [1, 1, …]) } }`: 15 tokens plus one per list item. */
    const withTokens = (tokens: number) =>
      `{ session { get(key: "a", default: [${"1 ".repeat(tokens - 15)}]) } }`;

    test("a document of 1000 tokens is accepted and one of 1001 is refused while parsing", async () => {
      expect(tokensOf(withTokens(1000))).toBe(1000);
      const accepted = await victim.send(withTokens(1000));
      expectAccepted(accepted);
      expect(accepted.body.data).toEqual({ session: { get: Array(985).fill(1) } });
      const message = expectRefused(await victim.send(withTokens(1001)), "GRAPHQL_PARSE_FAILED");
      expect(message).toContain("1000 tokens");
    });

    test("a very wide query of 5000 `__typename` is refused while parsing", async () => {
      const answer = await victim.send(`{ ${"__typename ".repeat(5000)}}`);
      expect(expectRefused(answer, "GRAPHQL_PARSE_FAILED")).toContain("1000 tokens");
    });

    // Just under the token limit, 998 copies of one field are refused by graphql-js's own budget for comparing
    // overlapping fields ("Validation aborted."), not accepted: still a quick 400 that runs nothing.
    test("998 copies of `__typename` (1000 tokens) are refused by graphql-js's overlap budget", async () => {
      const answer = await victim.send(`{ ${"__typename ".repeat(998)}}`);
      expect(expectRefused(answer, "GRAPHQL_VALIDATION_FAILED")).toBe("Validation aborted.");
    });

    test("comments are not tokens: 900 KB of them before `{ __typename }` are read in bounded time", async () => {
      const answer = await victim.send(`${"# a comment\n".repeat(75_000)}{ __typename }`);
      expectAccepted(answer);
      expect(answer.body.data).toEqual({ __typename: "Query" });
    });
  });

  describe("introspection (on outside production)", () => {
    test("`{ __schema { types { name } } }` is answered", async () => {
      const answer = await victim.send("{ __schema { types { name } } }");
      expectAccepted(answer);
      expect(answer.body.data).toEqual({
        __schema: { types: expect.arrayContaining([{ name: "Session" }]) },
      });
    });

    test("the IDE's introspection query passes the default limits", async () => {
      const query = getIntrospectionQuery({
        descriptions: true,
        inputValueDeprecation: true,
        schemaDescription: true,
        directiveIsRepeatable: true,
        specifiedByUrl: true,
      });
      const answer = await victim.send(query);
      expectAccepted(answer);
      expect(answer.body.data).toEqual({
        __schema: expect.objectContaining({ queryType: { name: "Query", kind: "OBJECT" } }),
      });
    });
  });
});

describe("when the limits are configured", () => {
  describe("GRAPHQL_MAX_DEPTH=3", () => {
    const server = serverWith({ GRAPHQL_MAX_DEPTH: "3" });

    test("3 levels are accepted and 4 are refused naming 3", async () => {
      const victim = await Victim.of(server());
      expectAccepted(await victim.send(typeChain(3)));
      const message = expectRefused(
        await victim.send(typeChain(4)),
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_MAX_DEPTH",
      );
      expect(message).toBe("Query depth limit of 3 exceeded, found 4. (GRAPHQL_MAX_DEPTH)");
    });

    test("fragments do not hide a fourth level", async () => {
      const victim = await Victim.of(server());
      const query =
        '{ __type(name: "Session") { ...A } } fragment A on __Type { fields { ...B } } ' +
        "fragment B on __Field { type { name } }";
      expectRefused(await victim.send(query), "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_MAX_DEPTH");
    });

    test("`__schema` introspection is not counted", async () => {
      const victim = await Victim.of(server());
      expectAccepted(await victim.send("{ __schema { types { fields { type { ofType { name } } } } } }"));
    });
  });

  describe("GRAPHQL_MAX_DEPTH=2", () => {
    const server = serverWith({ GRAPHQL_MAX_DEPTH: "2" });

    test("a mutation three levels deep is refused and does not run", async () => {
      const victim = await Victim.of(server());
      const mutation = 'mutation { popSession(key: "kept") { session { version } } }';
      expectRefused(await victim.send(mutation), "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_MAX_DEPTH");
    });
  });

  describe("GRAPHQL_MAX_ALIASES=2", () => {
    const server = serverWith({ GRAPHQL_MAX_ALIASES: "2" });

    test("2 aliases are accepted and 3 are refused naming 2", async () => {
      const victim = await Victim.of(server());
      expectAccepted(await victim.send(aliases(2)));
      const message = expectRefused(
        await victim.send(aliases(3)),
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_MAX_ALIASES",
      );
      expect(message).toBe("Aliases limit of 2 exceeded, found 3. (GRAPHQL_MAX_ALIASES)");
    });
  });

  describe("GRAPHQL_MAX_ALIASES=0", () => {
    const server = serverWith({ GRAPHQL_MAX_ALIASES: "0" });

    test("one alias is refused", async () => {
      const victim = await Victim.of(server());
      expectAccepted(await victim.send("{ session { data } }"));
      expectRefused(await victim.send(aliases(1)), "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_MAX_ALIASES");
    });
  });

  describe("GRAPHQL_MAX_TOKENS=100000", () => {
    const server = serverWith({ GRAPHQL_MAX_TOKENS: "100000" });

    test("the 1000-alias bomb now parses and is refused by the alias limit", async () => {
      const victim = await Victim.of(server());
      const message = expectRefused(
        await victim.send(aliases(1000)),
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_MAX_ALIASES",
      );
      expect(message).toBe("Aliases limit of 15 exceeded, found 1000. (GRAPHQL_MAX_ALIASES)");
    });
  });

  describe("GRAPHQL_MAX_COST=20", () => {
    const server = serverWith({ GRAPHQL_MAX_COST: "20" });

    test("a cost of 20 is accepted and 21 is refused naming 20", async () => {
      const victim = await Victim.of(server());
      expectAccepted(await victim.send(`{ ${"__typename ".repeat(20)}}`));
      const message = expectRefused(
        await victim.send(`{ ${"__typename ".repeat(21)}}`),
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_MAX_COST",
      );
      expect(message).toBe("Query Cost limit of 20 exceeded, found 21. (GRAPHQL_MAX_COST)");
    });
  });

  describe("GRAPHQL_MAX_DIRECTIVES=2", () => {
    const server = serverWith({ GRAPHQL_MAX_DIRECTIVES: "2" });

    test("2 directives are accepted and 3 are refused naming 2", async () => {
      const victim = await Victim.of(server());
      expectAccepted(await victim.send("{ session { data @include(if: true) version @skip(if: false) } }"));
      const message = expectRefused(
        await victim.send(
          "{ session @include(if: true) { data @include(if: true) version @skip(if: false) } }",
        ),
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_MAX_DIRECTIVES",
      );
      expect(message).toBe("Directives limit of 2 exceeded, found 3. (GRAPHQL_MAX_DIRECTIVES)");
    });
  });

  describe("GRAPHQL_MAX_TOKENS=50", () => {
    const server = serverWith({ GRAPHQL_MAX_TOKENS: "50" });

    test("50 tokens are accepted and 51 are refused while parsing", async () => {
      const victim = await Victim.of(server());
      const withTokens = (tokens: number) => `{ ${"__typename ".repeat(tokens - 2)}}`;
      expect(tokensOf(withTokens(50))).toBe(50);
      expectAccepted(await victim.send(withTokens(50)));
      expect(expectRefused(await victim.send(withTokens(51)), "GRAPHQL_PARSE_FAILED")).toContain("50 tokens");
    });
  });

  describe("GRAPHQL_BATCHING=true", () => {
    const server = serverWith({ GRAPHQL_BATCHING: "true" });

    test("each operation of a batch is held to the limits", async () => {
      const target = server();
      const victim = await Victim.of(target);
      const started = performance.now();
      const res = await fetch(target.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify([{ query: aliases(16) }, { query: "{ __typename }" }]),
      });
      expect(performance.now() - started).toBeLessThan(ANSWER_MS);
      // Apollo answers the whole batch with the refused operation's 400, each result in its place.
      expect(res.status).toBe(400);
      const results = (await res.json()) as GraphQLBody[];
      expect(results[0]?.errors?.[0]?.message).toMatch(/\(GRAPHQL_MAX_ALIASES\)$/);
      expect(results[0]?.data).toBeUndefined();
      expect(results[1]).toEqual({ data: { __typename: "Query" } });
      await victim.expectIntact();
    });
  });
});

describe("introspection settings", () => {
  const SCHEMA = "{ __schema { types { name } } }";

  describe("NODE_ENV=production", () => {
    const server = serverWith({ NODE_ENV: "production" });

    test.each([
      ["`__schema`", SCHEMA],
      ["`__type`", '{ __type(name: "Session") { name } }'],
    ])("%s is refused", async (_, query) => {
      const victim = await Victim.of(server());
      const message = expectRefused(await victim.send(query), "GRAPHQL_VALIDATION_FAILED");
      expect(message).toMatch(/introspection is not allowed/);
    });

    test("`__typename` is still answered", async () => {
      const victim = await Victim.of(server());
      expect((await victim.send("{ __typename }")).body).toEqual({ data: { __typename: "Query" } });
    });
  });

  describe("NODE_ENV=production and GRAPHQL_INTROSPECTION=true", () => {
    const server = serverWith({ NODE_ENV: "production", GRAPHQL_INTROSPECTION: "true" });

    test("`__schema` is answered", async () => {
      const victim = await Victim.of(server());
      expectAccepted(await victim.send(SCHEMA));
    });
  });

  describe("GRAPHQL_INTROSPECTION=false outside production", () => {
    const server = serverWith({ GRAPHQL_INTROSPECTION: "false" });

    test("`__schema` is refused", async () => {
      const victim = await Victim.of(server());
      expectRefused(await victim.send(SCHEMA), "GRAPHQL_VALIDATION_FAILED");
    });
  });
});
