import { expectSessionCookie } from "../helpers/cookies";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

test("a value set is read back with the cookie", async () => {
  const visitor = server.client();
  const set = await visitor.request("mutation { setSession(key: \"a\", value: 1) { version } }");
  expectSessionCookie(set.res);
  expect(await visitor.data()).toEqual({ a: 1 });
});
