import type { Browser, BrowserContext } from "playwright-core";
import { startShop } from "../../examples/express/server";
import type { RunningShop } from "../../examples/shop/options";
import { describeWithChromium, launchChromium, screenshot } from "../helpers/browser";
import { TEST_SECRET } from "../helpers/server";
import { act, type StaticSite, serveSpa, settled, shownData, text } from "../helpers/spa";

const BROWSER_TEST_TIMEOUT_MS = 30_000;

describeWithChromium("the example SPA against the Express 5 shop, in chromium", () => {
  let site: StaticSite;
  let shop: RunningShop;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    site = await serveSpa();
    shop = await startShop({ secrets: [TEST_SECRET], corsOrigins: [site.origin] });
    browser = await launchChromium();
  }, BROWSER_TEST_TIMEOUT_MS);

  afterAll(async () => {
    try {
      await context?.close();
      await browser?.close();
    } finally {
      await Promise.all([shop?.close(), site?.close()]);
    }
  }, BROWSER_TEST_TIMEOUT_MS);

  test(
    "the page on another origin keeps its session in the shop's Apollo Server, with credentials, across a reload",
    async () => {
      if (browser === undefined) throw new Error("chromium did not start");
      context = await browser.newContext();
      const page = await context.newPage();
      const shopOrigin = new URL(shop.url).origin;
      await page.goto(`${site.origin}/?api=${encodeURIComponent(shop.url)}`);
      expect(await settled(page, 1)).toBe("ok");
      expect(await shownData(page)).toEqual({});

      await page.getByTestId("key").fill("wishlist");
      await page.getByTestId("value").fill('["tea","mug"]');
      await act(page, "set");
      expect(await shownData(page)).toEqual({ wishlist: ["tea", "mug"] });
      const cookies = await context.cookies(shopOrigin);
      // The shop's own locale cookie, from its middleware, beside the session cookie the library wrote.
      expect(cookies.map((cookie) => cookie.name).sort()).toEqual(["locale", "sessionid"]);
      expect(cookies.find((cookie) => cookie.name === "sessionid")).toMatchObject({
        httpOnly: true,
        sameSite: "Lax",
      });

      // The shop's own query sees what the page stored through the session operations, with the same cookie.
      const cart = await page.evaluate(async (url) => {
        const res = await fetch(url, {
          method: "POST",
          credentials: "include",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: '{ session { get(key: "wishlist") } cart { totalCents } }' }),
        });
        return res.json();
      }, shop.url);
      expect(cart).toEqual({ data: { session: { get: ["tea", "mug"] }, cart: { totalCents: 0 } } });

      await page.reload();
      expect(await settled(page, 1)).toBe("ok");
      expect(await shownData(page)).toEqual({ wishlist: ["tea", "mug"] });
      const id = await text(page, "session-id");
      await act(page, "cycle");
      expect(await text(page, "session-id")).not.toBe(id);
      await act(page, "flush");
      expect(await shownData(page)).toEqual({});
      await screenshot(page, "spa-express-flushed");
    },
    BROWSER_TEST_TIMEOUT_MS,
  );
});
