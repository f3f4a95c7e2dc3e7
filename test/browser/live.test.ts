import type { Browser, BrowserContext, Page } from "playwright-core";
import { startShop } from "../../examples/express/server";
import type { RunningShop } from "../../examples/shop/options";
import { DEMO_USER } from "../../examples/shop/users";
import { createStore } from "../../src/stores/index";
import { describeWithChromium, launchChromium, screenshot } from "../helpers/browser";
import { type FollowTracker, trackFollows } from "../helpers/live";
import { TEST_SECRET } from "../helpers/server";
import { act, type StaticSite, serveSpa, settled, shownData, text } from "../helpers/spa";

const BROWSER_TEST_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 10_000;

/**
 * Acts in `page` as the tab in front, as a user would: Chromium throttles the timers of a tab in the background,
 * which makes each of its actions take a second or two. The other tab, now behind, is the one that must keep up.
 */
async function actIn(page: Page, button: string): Promise<void> {
  await page.bringToFront();
  await act(page, button);
}

/** Waits until the page shows `expected` in the element `testId`, with no request of its own. */
async function shows(page: Page, testId: string, expected: string): Promise<void> {
  await page
    .getByTestId(testId)
    .filter({ hasText: expected })
    .waitFor({ timeout: STEP_TIMEOUT_MS })
    .catch(async (error: unknown) => {
      throw new Error(
        `${testId} never showed ${JSON.stringify(expected)}, still ${await text(page, testId)}`,
        {
          cause: error,
        },
      );
    });
}

/** Waits until the page shows `data` as the session's data. */
async function showsData(page: Page, data: unknown): Promise<void> {
  await page.waitForFunction(
    (expected) => document.querySelector('[data-testid="session-data"]')?.textContent === expected,
    JSON.stringify(data, null, 2),
    { timeout: STEP_TIMEOUT_MS },
  );
}

describeWithChromium(
  "the example SPA's live session (?live=1) in two tabs, against the Express 5 shop",
  () => {
    let site: StaticSite;
    let shop: RunningShop;
    let follows: FollowTracker;
    let browser: Browser | undefined;
    let context: BrowserContext | undefined;

    beforeAll(async () => {
      site = await serveSpa();
      // The shop's memory store, watched: a change saved before a tab's subscription is set up would not reach it,
      // and graphql-ws has no acknowledgement of a subscription the page could show.
      const store = createStore("memory://");
      follows = trackFollows(store);
      shop = await startShop({ secrets: [TEST_SECRET], corsOrigins: [site.origin], store });
      browser = await launchChromium();
    }, BROWSER_TEST_TIMEOUT_MS);

    // Chromium first and on its own, so it never outlives the run, even when the site then fails to stop.
    afterAll(async () => {
      try {
        await context?.close();
        await browser?.close();
      } finally {
        await Promise.all([shop?.close(), site?.close()]);
      }
    }, BROWSER_TEST_TIMEOUT_MS);

    /** A tab of the shared context with the SPA open, live, on the shop. */
    async function tab(shared: BrowserContext): Promise<Page> {
      const page = await shared.newPage();
      await page.goto(`${site.origin}/?live=1&api=${encodeURIComponent(shop.url)}`);
      expect(await settled(page, 1)).toBe("ok");
      expect(await text(page, "account")).toBe("Not logged in.");
      return page;
    }

    test(
      "a change in one tab shows in the other without a reload, across a login and a key cycle, until a logout ends both",
      async () => {
        if (browser === undefined) throw new Error("chromium did not start");
        context = await browser.newContext();
        const [first, second] = [await tab(context), await tab(context)];

        // The login gives the session a new key: the first tab follows it after its answer, and tells the second,
        // which reads the session again (with the browser's new cookie) and follows it too.
        await first.getByTestId("email").fill(DEMO_USER.email);
        await first.getByTestId("password").fill(DEMO_USER.password);
        await actIn(first, "login");
        await follows.reach(2, STEP_TIMEOUT_MS);
        await shows(second, "account", "Logged in, on 1 device.");
        await shows(second, "live", "Live: following this session.");
        expect(await text(second, "session-id")).toBe(await text(first, "session-id"));
        expect(await text(second, "status")).toBe("read session: done");

        await first.getByTestId("key").fill("cart");
        await first.getByTestId("value").fill('{"tea":2}');
        await actIn(first, "set");
        await showsData(second, { cart: { tea: 2 } });
        expect(await text(second, "session-version")).toBe(await text(first, "session-version"));
        await screenshot(second, "live-1-cart-from-the-other-tab");

        // The second tab is up to date, so its own write (sent with the version it shows) goes through.
        await second.getByTestId("key").fill("cart");
        await second.getByTestId("value").fill('{"tea":2,"mug":1}');
        await actIn(second, "set");
        await showsData(first, { cart: { tea: 2, mug: 1 } });

        // A key cycle completes both subscriptions; both follow the new key, and changes keep arriving.
        await actIn(first, "cycle");
        await follows.reach(4, STEP_TIMEOUT_MS);
        await shows(second, "live", "Live: following this session.");
        expect(await text(second, "session-id")).toBe(await text(first, "session-id"));
        await first.getByTestId("value").fill('{"pot":1}');
        await actIn(first, "set");
        await showsData(second, { cart: { pot: 1 } });

        await actIn(first, "logout");
        await shows(second, "account", "Not logged in.");
        await showsData(second, {});
        await shows(second, "live", "Live: the session ended.");
        expect(await text(second, "session-version")).toBe("0");
        expect(await shownData(first)).toEqual({});
        expect(await text(first, "account")).toBe("Not logged in.");
        await screenshot(second, "live-2-logged-out-by-the-other-tab");
      },
      BROWSER_TEST_TIMEOUT_MS,
    );
  },
);
