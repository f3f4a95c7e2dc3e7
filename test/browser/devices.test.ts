import type { Browser, BrowserContext, Page } from "playwright-core";
import { startShop } from "../../examples/express/server";
import type { RunningShop } from "../../examples/shop/options";
import { DEMO_USER } from "../../examples/shop/users";
import { describeWithChromium, launchChromium, screenshot } from "../helpers/browser";
import { TEST_SECRET } from "../helpers/server";
import { act, type StaticSite, serveSpa, settled, shownData, text } from "../helpers/spa";

const BROWSER_TEST_TIMEOUT_MS = 30_000;
const LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) sessionql-test laptop";
const PHONE = "Mozilla/5.0 (Linux; Android 14) sessionql-test phone";

/** What the "Your devices" list shows: each row's text and whether it is the page's own session. */
async function shownDevices(page: Page): Promise<Array<{ current: boolean; text: string }>> {
  return page.getByTestId("device").evaluateAll((rows) =>
    rows.map((row) => ({
      current: row.getAttribute("data-current") === "true",
      text: row.textContent ?? "",
    })),
  );
}

/** The shop's own `me`, asked by the page's origin with the browser's cookies, as the SPA's requests go. */
async function me(page: Page, url: string): Promise<unknown> {
  return page.evaluate(async (api) => {
    const res = await fetch(api, {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ me { email } }" }),
    });
    return ((await res.json()) as { data: { me: unknown } }).data.me;
  }, url);
}

describeWithChromium("the example SPA's devices page against the Express 5 shop, in chromium", () => {
  let site: StaticSite;
  let shop: RunningShop;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    site = await serveSpa();
    browser = await launchChromium();
  }, BROWSER_TEST_TIMEOUT_MS);

  // A shop of its own per test: each starts with the demo customer logged in nowhere.
  beforeEach(async () => {
    shop = await startShop({ secrets: [TEST_SECRET], corsOrigins: [site.origin] });
  });

  afterEach(async () => {
    try {
      await Promise.all(contexts.splice(0).map((context) => context.close()));
    } finally {
      await shop?.close();
    }
  }, BROWSER_TEST_TIMEOUT_MS);

  // Chromium first and on its own, so it never outlives the run, even when the site then fails to stop.
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await site?.close();
    }
  }, BROWSER_TEST_TIMEOUT_MS);

  /** A browser of its own (an empty cookie jar, its own User-Agent) with the SPA open on the shop. */
  async function device(userAgent: string): Promise<Page> {
    if (browser === undefined) throw new Error("chromium did not start");
    const context = await browser.newContext({ userAgent });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${site.origin}/?api=${encodeURIComponent(shop.url)}`);
    expect(await settled(page, 1)).toBe("ok");
    expect(await text(page, "account")).toBe("Not logged in.");
    return page;
  }

  async function logIn(page: Page): Promise<void> {
    await page.getByTestId("email").fill(DEMO_USER.email);
    await page.getByTestId("password").fill(DEMO_USER.password);
    await act(page, "login");
  }

  test(
    "a session revoked from the other device's page is logged out on its next request",
    async () => {
      const [laptop, phone] = [await device(LAPTOP), await device(PHONE)];
      await logIn(laptop);
      await phone.getByTestId("key").fill("wishlist");
      await phone.getByTestId("value").fill('["tea"]');
      await act(phone, "set");
      await logIn(phone);
      // The phone's data survives its login (an anonymous session is kept, under a new key).
      expect(await shownData(phone)).toEqual({ wishlist: ["tea"] });
      expect(await text(phone, "account")).toBe("Logged in, on 2 devices.");

      await act(laptop, "read");
      expect(await text(laptop, "account")).toBe("Logged in, on 2 devices.");
      const listed = await shownDevices(laptop);
      // Newest first: the phone logged in last.
      expect(listed).toEqual([
        { current: false, text: expect.stringContaining(PHONE) },
        { current: true, text: expect.stringContaining(LAPTOP) },
      ]);
      expect(listed[1]?.text).toContain("this device");
      expect(await laptop.getByTestId("revoke").count()).toBe(1);
      await screenshot(laptop, "devices-1-two-devices");

      await act(laptop, "revoke");
      expect(await shownDevices(laptop)).toEqual([{ current: true, text: expect.stringContaining(LAPTOP) }]);
      expect(await laptop.getByTestId("revoke-others").isDisabled()).toBe(true);

      // The phone's page still shows its old state; its next request finds the session gone.
      expect(await text(phone, "account")).toBe("Logged in, on 2 devices.");
      await act(phone, "read");
      expect(await text(phone, "account")).toBe("Not logged in.");
      expect(await shownDevices(phone)).toEqual([]);
      expect(await shownData(phone)).toEqual({});
      expect(await me(phone, shop.url)).toBeNull();
      await screenshot(phone, "devices-2-revoked");

      expect(await me(laptop, shop.url)).toEqual({ email: DEMO_USER.email });
    },
    BROWSER_TEST_TIMEOUT_MS,
  );

  test(
    "“Log out other devices” ends every session of the user but the page's own",
    async () => {
      const [laptop, phone, tablet] = [await device(LAPTOP), await device(PHONE), await device("tablet")];
      for (const page of [phone, tablet, laptop]) await logIn(page);
      expect(await text(laptop, "account")).toBe("Logged in, on 3 devices.");

      await act(laptop, "revoke-others");
      expect(await text(laptop, "account")).toBe("Logged in, on 1 device.");
      for (const page of [phone, tablet]) {
        await page.reload();
        expect(await settled(page, 1)).toBe("ok");
        expect(await text(page, "account")).toBe("Not logged in.");
        expect(await me(page, shop.url)).toBeNull();
      }
      expect(await me(laptop, shop.url)).toEqual({ email: DEMO_USER.email });
    },
    BROWSER_TEST_TIMEOUT_MS,
  );
});
