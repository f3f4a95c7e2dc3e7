import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CookieJar, expectNoSetCookie } from "../helpers/cookies";
import { startTestServer, type TestServer } from "../helpers/server";

const SET = `mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { id version } }`;
const READ = "{ session { id data version } }";

interface SessionView {
  id: string;
  data: Record<string, unknown>;
  version: number;
}

let tmp: string;
const running: TestServer[] = [];
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "sessionql-restart-"));
});
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function start(file: string): Promise<TestServer> {
  const server = await startTestServer({ env: { SESSION_STORE: `sqlite://${file}` } });
  running.push(server);
  return server;
}

async function stop(server: TestServer): Promise<void> {
  running.splice(running.indexOf(server), 1);
  await server.close();
}

describe("the SQLite store keeps sessions across a server restart", () => {
  test("the same cookie reads the same data, id and version from the new server", async () => {
    const file = join(tmp, "sessions.sqlite");
    const jar = new CookieJar();
    const before = await start(file);
    const visitor = before.client(jar);
    await visitor.request(SET, { key: "user", value: { name: "Zoë", roles: ["admin"] } });
    await visitor.request(SET, { key: "_cart", value: [1, 2, null] });
    const { data: written } = await visitor.request<{ session: SessionView }>(READ);
    const cookie = jar.get();
    expect(cookie).toBeTruthy();
    await stop(before);

    const after = await start(file);
    const { res, data } = await after.client(jar).request<{ session: SessionView }>(READ);

    expect(data?.session).toEqual(written?.session);
    expect(data?.session.data).toEqual({ user: { name: "Zoë", roles: ["admin"] }, _cart: [1, 2, null] });
    expect(data?.session.version).toBe(2);
    expectNoSetCookie(res);
    expect(jar.get()).toBe(cookie);
  });

  test("the session can still be changed after the restart", async () => {
    const file = join(tmp, "sessions.sqlite");
    const jar = new CookieJar();
    const before = await start(file);
    await before.client(jar).request(SET, { key: "a", value: 1 });
    await stop(before);

    const after = await start(file);
    const visitor = after.client(jar);
    const { errors } = await visitor.request(SET, { key: "b", value: 2 });
    expect(errors).toBeUndefined();
    await expect(visitor.data()).resolves.toEqual({ a: 1, b: 2 });
  });
});
