import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import {
  ClearSessionDocument,
  type ClearSessionMutation,
  CycleSessionKeyDocument,
  type CycleSessionKeyMutation,
  FlushSessionDocument,
  type FlushSessionMutation,
  GetSessionDocument,
  type GetSessionQuery,
  GetSessionValueDocument,
  type GetSessionValueQuery,
  PopSessionDocument,
  type PopSessionMutation,
  type SessionFragment,
  SetSessionDocument,
  SetSessionExpiryDocument,
  type SetSessionExpiryMutation,
  type SetSessionMutation,
  UpdateSessionDocument,
  type UpdateSessionMutation,
} from "../../src/client/generated";
import { expectCookieCleared, expectSessionCookie } from "../helpers/cookies";
import { type GraphQLClient, startTestServer, type TestServer } from "../helpers/server";

const ROOT = join(__dirname, "..", "..");
const DEFAULT_AGE_SECONDS = 1209600;

/** Runs a generated document over HTTP and answers with its generated result type; a GraphQL error fails. */
async function execute<TResult, TVariables extends Record<string, unknown>>(
  client: GraphQLClient,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const { status, data, errors } = await client.request<TResult>(print(document), variables);
  if (errors !== undefined || data === null || data === undefined) {
    throw new Error(`HTTP ${status}: ${JSON.stringify(errors)}`);
  }
  return data;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** A visitor who has stored `data` (and so holds a session cookie). */
async function visitorWith(data: Record<string, unknown>): Promise<GraphQLClient> {
  const visitor = server.client();
  await execute(visitor, UpdateSessionDocument, { values: data });
  return visitor;
}

describe("the example operations run through real HTTP with their generated types", () => {
  test("a new visitor reads an empty, unstored session", async () => {
    const result: GetSessionQuery = await execute(server.client(), GetSessionDocument, {});
    const session: SessionFragment = result.session;
    expect(session).toEqual({
      id: null,
      data: {},
      keys: [],
      isEmpty: true,
      expiresAt: expect.any(String),
      expiryAge: DEFAULT_AGE_SECONDS,
      expireAtBrowserClose: false,
      version: 0,
    });
  });

  test("values are set, read back, updated and popped", async () => {
    const visitor = server.client();
    const set: SetSessionMutation = await execute(visitor, SetSessionDocument, {
      key: "cart",
      value: { items: [1, 2] },
    });
    expect(set.setSession.version).toBe(1);
    expect(set.setSession.id).toEqual(expect.any(String));
    expect(set.setSession.keys).toEqual(["cart"]);
    expect(visitor.jar.get()).toBeDefined();

    const read: GetSessionValueQuery = await execute(visitor, GetSessionValueDocument, { key: "cart" });
    expect(read.session).toEqual({ value: { items: [1, 2] }, has: true });
    const missing = await execute(visitor, GetSessionValueDocument, { key: "coupon", default: "none" });
    expect(missing.session).toEqual({ value: "none", has: false });

    const updated: UpdateSessionMutation = await execute(visitor, UpdateSessionDocument, {
      values: { theme: "dark", lang: "fr" },
    });
    expect(updated.updateSession.data).toEqual({ cart: { items: [1, 2] }, theme: "dark", lang: "fr" });
    expect(updated.updateSession.version).toBe(2);

    const popped: PopSessionMutation = await execute(visitor, PopSessionDocument, { key: "lang" });
    expect(popped.popSession).toMatchObject({ found: true, value: "fr" });
    expect(popped.popSession.session.version).toBe(3);

    const absent = await execute(visitor, PopSessionDocument, { key: "lang", default: 42 });
    expect(absent.popSession).toMatchObject({ found: false, value: 42 });
    expect(absent.popSession.session.version).toBe(3);
    expect(absent.popSession.session.data).toEqual({ cart: { items: [1, 2] }, theme: "dark" });
  });

  test("cycling the key keeps the data under a new id and cookie", async () => {
    const visitor = await visitorWith({ user: "ada" });
    const before = (await execute(visitor, GetSessionDocument, {})).session;
    const oldCookie = visitor.jar.get();

    const cycled: CycleSessionKeyMutation = await execute(visitor, CycleSessionKeyDocument, {});
    expect(cycled.cycleSessionKey.data).toEqual({ user: "ada" });
    expect(cycled.cycleSessionKey.version).toBe(before.version + 1);
    expect(cycled.cycleSessionKey.id).toEqual(expect.any(String));
    expect(cycled.cycleSessionKey.id).not.toBe(before.id);
    expect(visitor.jar.get()).not.toBe(oldCookie);
    expect((await execute(visitor, GetSessionDocument, {})).session.data).toEqual({ user: "ada" });

    const holderOfOldCookie = server.client();
    holderOfOldCookie.jar.set("sessionid", oldCookie as string);
    expect((await execute(holderOfOldCookie, GetSessionDocument, {})).session).toMatchObject({
      id: null,
      isEmpty: true,
    });
  });

  test("the expiry is set in seconds, to browser close, and back to the default", async () => {
    const visitor = await visitorWith({ user: "ada" });

    const timed: SetSessionExpiryMutation = await execute(visitor, SetSessionExpiryDocument, { seconds: 60 });
    expect(timed.setSessionExpiry).toMatchObject({ expiryAge: 60, expireAtBrowserClose: false });
    const expiresAt = timed.setSessionExpiry.expiresAt;
    expect(expiresAt).not.toBeNull();
    expect(Date.parse(expiresAt as string)).toBe(server.clock.now() + 60_000);

    const browser = await execute(visitor, SetSessionExpiryDocument, { seconds: 0 });
    expect(browser.setSessionExpiry).toMatchObject({ expireAtBrowserClose: true, expiresAt: null });
    expect(browser.setSessionExpiry.version).toBe(timed.setSessionExpiry.version + 1);

    const reset = await execute(visitor, SetSessionExpiryDocument, { seconds: null });
    expect(reset.setSessionExpiry).toMatchObject({
      expiryAge: DEFAULT_AGE_SECONDS,
      expireAtBrowserClose: false,
      data: { user: "ada" },
    });
  });

  test("flushing (logout) deletes the session and expires its cookie", async () => {
    const visitor = await visitorWith({ user: "ada" });
    const oldCookie = visitor.jar.get() as string;
    const { status, data, res } = await visitor.request<FlushSessionMutation>(print(FlushSessionDocument));
    expect(status).toBe(200);
    expect(data?.flushSession).toMatchObject({ data: {}, keys: [], isEmpty: true });
    expectCookieCleared(res);
    const after = await execute(visitor, GetSessionDocument, {});
    expect(after.session).toMatchObject({ id: null, isEmpty: true, version: 0 });

    const holderOfOldCookie = server.client();
    holderOfOldCookie.jar.set("sessionid", oldCookie);
    expect((await execute(holderOfOldCookie, GetSessionDocument, {})).session.data).toEqual({});
  });

  test("clearing removes every entry and expires the cookie", async () => {
    const visitor = await visitorWith({ user: "ada", theme: "dark" });
    const { res, data } = await visitor.request<ClearSessionMutation>(print(ClearSessionDocument));
    expect(data?.clearSession).toMatchObject({ data: {}, keys: [], isEmpty: true });
    expectCookieCleared(res);
    expect(visitor.jar.get()).toBeUndefined();
  });

  test("a typed set over HTTP issues the session cookie", async () => {
    const visitor = server.client();
    const { res } = await visitor.request(print(SetSessionDocument), { key: "k", value: "v" });
    expectSessionCookie(res);
  });
});

// The CLI's CommonJS build requires yargs' ES module, which Jest cannot load, so codegen runs in a child Node
// (as ESM). It generates from the committed codegen.yml without writing, and prints each output as JSON.
const GENERATE = `
import { generate, loadCodegenConfig } from "@graphql-codegen/cli";
const { config } = await loadCodegenConfig({ configFilePath: "codegen.yml" });
const outputs = await generate({ ...config, cwd: process.cwd(), silent: true }, false);
process.stdout.write(JSON.stringify(outputs.map(({ filename, content }) => ({ filename, content }))));
`;

function run(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { cwd: ROOT, input, encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

describe("the committed src/client/generated.ts", () => {
  test("is what codegen emits from schema.graphql and the operations (run `npm run codegen`)", () => {
    const outputs = JSON.parse(run(process.execPath, ["--input-type=module", "-e", GENERATE])) as Array<{
      filename: string;
      content: string;
    }>;
    expect(outputs.map((output) => output.filename)).toEqual(["src/client/generated.ts"]);
    // codegen.yml formats the file it writes with Biome (afterOneFileWrite); the same command, on stdin,
    // normalises the fresh output.
    const formatted = run(
      join(ROOT, "node_modules", ".bin", "biome"),
      ["check", "--write", "--stdin-file-path=src/client/generated.ts"],
      outputs[0]?.content,
    );
    expect(formatted).toBe(readFileSync(join(ROOT, "src", "client", "generated.ts"), "utf8"));
  });
});
