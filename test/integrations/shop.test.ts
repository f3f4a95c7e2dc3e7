import { parseSetCookie } from "cookie";
import type { RunningShop } from "../../examples/shop/options";
import { DEMO_USER } from "../../examples/shop/users";
import { CookieJar, expectNoSetCookie, expectSessionCookie, setCookiesOf } from "../helpers/cookies";
import { expectNothingInternal } from "../helpers/internals";
import { startRedisServer } from "../helpers/redis";
import { GraphQLClient, TEST_SECRET } from "../helpers/server";
import { describeWithService } from "../helpers/services";
import { SHOP_INTEGRATIONS } from "./shops";

const PAGE_ORIGIN = "http://127.0.0.1:5173";
const ADD =
  "mutation($id: ID!, $quantity: Int! = 1) { addToCart(productId: $id, quantity: $quantity) { totalCents lines { product { id } quantity } } }";
const CART = "{ cart { totalCents currency lines { product { id } quantity } } }";
const LOGIN =
  "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { email name } }";
const ME = "{ me { email } }";
const CHANGE_PASSWORD =
  "mutation($current: String!, $next: String!) { changePassword(currentPassword: $current, newPassword: $next) }";

type Cart = {
  totalCents: number;
  currency: string;
  lines: Array<{ product: { id: string }; quantity: number }>;
};

function cookieNames(res: Response): string[] {
  return setCookiesOf(res).map((header) => parseSetCookie(header).name);
}

function varyFields(res: Response): string[] {
  return (res.headers.get("vary") ?? "").split(",").map((field) => field.trim().toLowerCase());
}

describe.each(SHOP_INTEGRATIONS)("the example shop on $name", (integration) => {
  let shop: RunningShop;
  const visitor = () => new GraphQLClient(shop.url);

  beforeAll(async () => {
    shop = await integration.start({ secrets: [TEST_SECRET], corsOrigins: [PAGE_ORIGIN] });
  });
  afterAll(() => shop?.close());

  test("serves its own schema beside the session operations, in one request", async () => {
    const { data, errors } = await visitor().request<{
      products: Array<{ id: string }>;
      session: { isEmpty: boolean };
    }>("{ products { id } session { isEmpty version } }");
    expect(errors).toBeUndefined();
    expect(data?.products.map((product) => product.id)).toEqual(["tea", "mug", "pot"]);
    expect(data?.session).toEqual({ isEmpty: true, version: 0 });
  });

  test("a resolver's write saves the session and sets the cookie on the framework's response", async () => {
    const client = visitor();
    const added = await client.request<{ addToCart: Cart }>(ADD, { id: "tea", quantity: 2 });
    expect(added.errors).toBeUndefined();
    expect(added.data?.addToCart.totalCents).toBe(1300);
    const cookie = expectSessionCookie(added.res);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", maxAge: 1209600 });
    expect(varyFields(added.res)).toContain("cookie");

    const read = await client.request<{ cart: Cart; session: { data: unknown; version: number } }>(
      "{ cart { totalCents } session { data version } }",
    );
    expect(read.data?.cart.totalCents).toBe(1300);
    expect(read.data?.session).toEqual({ data: { cart: { tea: 2 } }, version: 1 });
    expectNoSetCookie(read.res);
  });

  test("a read of a visitor without a session stores nothing and sets no session cookie", async () => {
    const { res, data } = await visitor().request<{ cart: Cart }>(CART);
    expect(data?.cart).toEqual({ totalCents: 0, currency: "EUR", lines: [] });
    expect(cookieNames(res)).not.toContain("sessionid");
    expect(varyFields(res)).toContain("cookie");
  });

  test("cookies the application sets itself, in a resolver and in a middleware, are kept beside the session's", async () => {
    const client = visitor();
    const { res, errors } = await client.request(
      `mutation { setCurrency(code: "GBP") { currency } addToCart(productId: "mug") { totalCents } }`,
    );
    expect(errors).toBeUndefined();
    const names = cookieNames(res);
    expect(names).toEqual(expect.arrayContaining(["currency", "sessionid"]));
    if (integration.middlewareCookie) expect(names).toContain("locale");
    expect(names.filter((name) => name === "sessionid")).toHaveLength(1);
    const { data } = await client.request<{ cart: Cart }>(CART);
    expect(data?.cart.currency).toBe("GBP");
    expect(data?.cart.totalCents).toBe(1200);
  });

  test("Vary gains Cookie and keeps what the CORS middleware put there", async () => {
    const { res } = await visitor().request(CART, undefined, { origin: PAGE_ORIGIN });
    const fields = varyFields(res);
    expect(fields).toContain("cookie");
    if (integration.corsVary) {
      expect(fields).toContain("origin");
      expect(res.headers.get("access-control-allow-origin")).toBe(PAGE_ORIGIN);
      expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    }
    expect(new Set(fields).size).toBe(fields.length);
  });

  test("parallel writes from one visitor's tabs lose nothing", async () => {
    const client = visitor();
    await client.request(ADD, { id: "pot" });
    await Promise.all(Array.from({ length: 8 }, () => client.request(ADD, { id: "tea" })));
    const { data } = await client.request<{ cart: Cart }>(CART);
    expect(data?.cart.lines).toEqual([
      { product: { id: "tea" }, quantity: 8 },
      { product: { id: "pot" }, quantity: 1 },
    ]);
  });

  describe("when a customer logs in", () => {
    async function loggedIn(): Promise<{ client: GraphQLClient; before: string | undefined }> {
      const client = visitor();
      await client.request(ADD, { id: "tea" });
      const before = client.jar.get();
      const login = await client.request(LOGIN, { email: DEMO_USER.email, password: DEMO_USER.password });
      expect(login.errors).toBeUndefined();
      expectSessionCookie(login.res);
      return { client, before };
    }

    test("the session key is cycled: the cart moves to the new key and the old cookie reads nothing", async () => {
      const { client, before } = await loggedIn();
      expect(client.jar.get()).not.toBe(before);
      expect((await client.request<{ cart: Cart }>(CART)).data?.cart.totalCents).toBe(650);
      expect((await client.request<{ me: { email: string } }>(ME)).data?.me.email).toBe(DEMO_USER.email);
      const stale = new CookieJar();
      stale.set("sessionid", before as string);
      const old = await new GraphQLClient(shop.url, stale).request<{ cart: Cart; me: unknown }>(
        `{ me { email } ${CART.slice(1, -1)} }`,
      );
      expect(old.data).toEqual({ me: null, cart: { totalCents: 0, currency: "EUR", lines: [] } });
    });

    test("the login time under the private prefix is hidden from every session query field, yet the shop reads it", async () => {
      const { client } = await loggedIn();
      const { data, errors } = await client.request<{
        session: Record<string, unknown>;
        me: { loggedInAt: string };
      }>(
        `{ session { data keys get(key: "_loginAt", default: "none") has(key: "_loginAt") isEmpty } me { loggedInAt } }`,
      );
      expect(errors).toBeUndefined();
      expect(data?.session).toEqual({
        data: { cart: { tea: 1 } },
        keys: ["cart"],
        get: "none",
        has: false,
        isEmpty: false,
      });
      expect(Date.now() - Date.parse(data?.me.loggedInAt as string)).toBeLessThan(60_000);
    });

    test("the session is recorded under the customer: mySessions lists it as the current one, with its User-Agent", async () => {
      const client = visitor();
      const credentials = { email: DEMO_USER.email, password: DEMO_USER.password };
      expect(
        (await client.request(LOGIN, credentials, { "user-agent": "shop-test/1.0" })).errors,
      ).toBeUndefined();
      const { data } = await client.request<{ mySessions: Array<{ current: boolean; userAgent: string }> }>(
        "{ mySessions { current userAgent } }",
      );
      expect(data?.mySessions.filter((listed) => listed.current)).toEqual([
        { current: true, userAgent: "shop-test/1.0" },
      ]);
    });

    test.each([
      [
        "setSession",
        `mutation { setSession(key: "_loginAt", value: "1970-01-01T00:00:00.000Z") { version } }`,
      ],
      ["popSession", `mutation { popSession(key: "_loginAt") { found } }`],
      [
        "updateSession",
        `mutation { updateSession(values: { cart: {}, _loginAt: "1970-01-01T00:00:00.000Z" }) { version } }`,
      ],
    ])("%s naming a private key answers BAD_USER_INPUT and changes nothing", async (_name, mutation) => {
      const { client } = await loggedIn();
      const before = await client.request<{ session: { version: number; data: unknown } }>(
        "{ session { version data } }",
      );
      const refused = await client.request(mutation);
      expect(refused.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect(refused.errors?.[0]?.message).toMatch(/kept for the application/);
      expectNoSetCookie(refused.res);
      const after = await client.request<{
        session: { version: number; data: unknown };
        me: { email: string };
      }>("{ session { version data } me { email } }");
      expect(after.data?.session).toEqual(before.data?.session);
      expect(after.data?.me.email).toBe(DEMO_USER.email);
    });

    test("clearSession and flushSession still remove the private keys", async () => {
      for (const mutation of [
        "mutation { clearSession { isEmpty } }",
        "mutation { flushSession { isEmpty } }",
      ]) {
        const { client } = await loggedIn();
        expect((await client.request(mutation)).errors).toBeUndefined();
        expect((await client.request<{ me: unknown }>(ME)).data?.me).toBeNull();
      }
    });

    test("logout through the shop's own mutation ends the session", async () => {
      const { client } = await loggedIn();
      const out = await client.request("mutation { logout }");
      expect(
        parseSetCookie(setCookiesOf(out.res).find((c) => c.startsWith("sessionid=")) as string).maxAge,
      ).toBe(0);
      expect((await client.request<{ me: unknown }>(ME)).data?.me).toBeNull();
    });
  });

  describe("when a customer changes the password", () => {
    const NEW_PASSWORD = "a much longer passphrase";
    // A shop of its own for each test: the demo customer's password changes, and other tests log in with it.
    let own: RunningShop;
    const customer = () => new GraphQLClient(own.url);

    beforeEach(async () => {
      own = await integration.start({ secrets: [TEST_SECRET] });
    });
    afterEach(() => own?.close());

    async function logIn(password = DEMO_USER.password): Promise<GraphQLClient> {
      const client = customer();
      await client.request(ADD, { id: "tea" });
      const login = await client.request(LOGIN, { email: DEMO_USER.email, password });
      expect(login.errors).toBeUndefined();
      return client;
    }

    async function meAndCart(client: GraphQLClient) {
      const query = `{ ${ME.slice(1, -1)} ${CART.slice(1, -1)} }`;
      return (await client.request<{ me: { email: string } | null; cart: Cart }>(query)).data;
    }

    test("every other session of the customer ends, the current one stays, and only the new password logs in", async () => {
      const [current, laptop, phone] = [await logIn(), await logIn(), await logIn()];
      const changed = await current.request<{ changePassword: number }>(CHANGE_PASSWORD, {
        current: DEMO_USER.password,
        next: NEW_PASSWORD,
      });
      expect(changed.errors).toBeUndefined();
      expect(changed.data?.changePassword).toBe(2);
      expectNoSetCookie(changed.res);

      expect(await meAndCart(current)).toMatchObject({
        me: { email: DEMO_USER.email },
        cart: { totalCents: 650 },
      });
      for (const ended of [laptop, phone]) {
        expect(await meAndCart(ended)).toEqual({
          me: null,
          cart: { totalCents: 0, currency: "EUR", lines: [] },
        });
      }
      const listed = await current.request<{ mySessions: Array<{ current: boolean }> }>(
        "{ mySessions { current } }",
      );
      expect(listed.data?.mySessions).toEqual([{ current: true }]);

      const old = await customer().request(LOGIN, { email: DEMO_USER.email, password: DEMO_USER.password });
      expect(old.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      expect((await meAndCart(await logIn(NEW_PASSWORD)))?.me?.email).toBe(DEMO_USER.email);
    });

    test.each([
      ["a wrong current password", "not the password", NEW_PASSWORD, "UNAUTHENTICATED", /wrong password/],
      ["a new password that is too short", DEMO_USER.password, "short", "BAD_USER_INPUT", /got 5/],
    ])(
      "%s is refused, ends no session and keeps the password",
      async (_name, currentPassword, newPassword, code, message) => {
        const [current, other] = [await logIn(), await logIn()];
        const refused = await current.request(CHANGE_PASSWORD, {
          current: currentPassword,
          next: newPassword,
        });
        expect(refused.errors?.[0]?.extensions?.code).toBe(code);
        expect(refused.errors?.[0]?.message).toMatch(message);
        expectNoSetCookie(refused.res);
        for (const client of [current, other]) {
          expect((await meAndCart(client))?.me?.email).toBe(DEMO_USER.email);
        }
        expect((await meAndCart(await logIn()))?.me?.email).toBe(DEMO_USER.email);
      },
    );

    test("a visitor who is not logged in answers UNAUTHENTICATED", async () => {
      await logIn();
      const { errors } = await customer().request(CHANGE_PASSWORD, {
        current: DEMO_USER.password,
        next: NEW_PASSWORD,
      });
      expect(errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      expect((await meAndCart(await logIn()))?.me?.email).toBe(DEMO_USER.email);
    });
  });

  describe("errors", () => {
    test("a limit broken through context.session is BAD_USER_INPUT naming the limit, and nothing is saved", async () => {
      const client = visitor();
      const { errors, res } = await client.request(
        `mutation { setSession(key: "${"k".repeat(300)}", value: 1) { version } }`,
      );
      expect(errors?.[0]).toMatchObject({
        message: "key must be 1–256 characters (SESSION_MAX_KEY_LENGTH), got 300",
        extensions: { code: "BAD_USER_INPUT" },
      });
      expect(cookieNames(res)).not.toContain("sessionid");
    });

    test("the application's own errors keep their codes", async () => {
      const { errors } = await visitor().request(LOGIN, { email: DEMO_USER.email, password: "wrong" });
      expect(errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    });
  });
});

describeWithService("redis", "the example shops when their Redis store goes down", () => {
  describe.each(SHOP_INTEGRATIONS)("on $name", (integration) => {
    test("an application resolver answers STORE_UNAVAILABLE within 2 s, with no cookie change and nothing internal", async () => {
      const redis = await startRedisServer();
      const shop = await integration.start({ secrets: [TEST_SECRET], store: redis.url });
      try {
        const client = new GraphQLClient(shop.url);
        expect((await client.request(ADD, { id: "tea" })).errors).toBeUndefined();
        await redis.kill();
        for (const query of [CART, `mutation { addToCart(productId: "mug") { totalCents } }`]) {
          const started = Date.now();
          const { res, errors } = await client.request(query);
          expect(Date.now() - started).toBeLessThan(2_000);
          expect(errors?.[0]?.extensions?.code).toBe("STORE_UNAVAILABLE");
          expect(cookieNames(res)).not.toContain("sessionid");
          expectNothingInternal(JSON.stringify(errors));
        }
      } finally {
        await shop.close();
        await redis.stop();
      }
    }, 20_000);
  });
});
