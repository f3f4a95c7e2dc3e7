import type { Browser, BrowserContext, Page } from "playwright-core";
import type { SessionRecord, SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { describeWithChromium, launchChromium, screenshot } from "../helpers/browser";
import { ManualClock } from "../helpers/clock";
import { startTestServer, type TestServer } from "../helpers/server";
import { act, type StaticSite, serveSpa, settled, shownData, text } from "../helpers/spa";

const BROWSER_TEST_TIMEOUT_MS = 30_000;

/** A real memory store that also remembers which session keys were saved, so a test can see that none were. */
class RecordingStore implements SessionStore {
  readonly savedKeys: string[] = [];

  constructor(private readonly inner: SessionStore) {}

  load(sessionKey: string): Promise<SessionRecord | undefined> {
    return this.inner.load(sessionKey);
  }

  async save(sessionKey: string, record: SessionRecord, expected: number | undefined): Promise<boolean> {
    const saved = await this.inner.save(sessionKey, record, expected);
    if (saved) this.savedKeys.push(sessionKey);
    return saved;
  }

  delete(sessionKey: string, expected?: number): Promise<boolean> {
    return this.inner.delete(sessionKey, expected);
  }

  clearExpired(): Promise<number> {
    return this.inner.clearExpired();
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function spaUrl(site: StaticSite, server: TestServer): string {
  return `${site.origin}/?api=${encodeURIComponent(server.graphqlUrl)}`;
}

describeWithChromium("the example SPA in chromium", () => {
  let store: RecordingStore;
  let server: TestServer;
  let allowedSite: StaticSite;
  let foreignSite: StaticSite;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    [allowedSite, foreignSite] = await Promise.all([serveSpa(), serveSpa()]);
    const clock = new ManualClock();
    store = new RecordingStore(createStore("memory://", clock));
    server = await startTestServer({ env: { CORS_ORIGINS: allowedSite.origin }, store, clock });
    browser = await launchChromium();
  }, BROWSER_TEST_TIMEOUT_MS);

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  // Chromium first and on its own, so it never outlives the run, even when a server then fails to stop.
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await Promise.all([server?.close(), allowedSite?.close(), foreignSite?.close()]);
    }
  }, BROWSER_TEST_TIMEOUT_MS);

  /** A page in a fresh context (an empty cookie jar), not yet navigated. */
  async function newPage(): Promise<{ page: Page; cookies: () => ReturnType<BrowserContext["cookies"]> }> {
    if (browser === undefined) throw new Error("chromium did not start");
    const fresh = await browser.newContext();
    context = fresh;
    return { page: await fresh.newPage(), cookies: () => fresh.cookies(server.url) };
  }

  describe("on an origin listed in CORS_ORIGINS", () => {
    test(
      "a value set through Apollo Client survives a reload, keeps its data across a key cycle, and goes on flush",
      async () => {
        const { page, cookies } = await newPage();
        await page.goto(spaUrl(allowedSite, server));
        expect(await settled(page, 1)).toBe("ok");
        expect(await shownData(page)).toEqual({});
        expect(await text(page, "session-version")).toBe("0");

        await page.getByTestId("key").fill("cart");
        await page.getByTestId("value").fill('{"items":[1,2]}');
        await act(page, "set");
        expect(await shownData(page)).toEqual({ cart: { items: [1, 2] } });
        expect(await text(page, "session-version")).toBe("1");
        const firstId = await text(page, "session-id");
        expect(firstId).toMatch(/^[A-Za-z0-9_-]{8,}$/);
        // The cookie is sent cross-origin (another port on the same site, so SameSite=Lax allows it), yet the
        // page's script can never read it.
        const [cookie, ...others] = await cookies();
        expect(others).toEqual([]);
        expect(cookie).toMatchObject({ name: "sessionid", httpOnly: true, sameSite: "Lax", path: "/" });
        await screenshot(page, "spa-1-set");

        await page.reload();
        expect(await settled(page, 1)).toBe("ok");
        expect(await shownData(page)).toEqual({ cart: { items: [1, 2] } });
        expect(await text(page, "session-id")).toBe(firstId);
        await screenshot(page, "spa-2-reloaded");

        await act(page, "cycle");
        expect(await shownData(page)).toEqual({ cart: { items: [1, 2] } });
        const cycledId = await text(page, "session-id");
        expect(cycledId).toMatch(/^[A-Za-z0-9_-]{8,}$/);
        expect(cycledId).not.toBe(firstId);
        await screenshot(page, "spa-3-cycled");

        await act(page, "flush");
        expect(await shownData(page)).toEqual({});
        expect(await text(page, "session-version")).toBe("0");
        expect(await cookies()).toEqual([]);
        await page.reload();
        expect(await settled(page, 1)).toBe("ok");
        expect(await shownData(page)).toEqual({});
        await screenshot(page, "spa-4-flushed");
      },
      BROWSER_TEST_TIMEOUT_MS,
    );
  });

  describe("in two tabs of one browser", () => {
    test(
      "the second tab's stale write is refused with VERSION_CONFLICT instead of replacing the first tab's",
      async () => {
        if (browser === undefined) throw new Error("chromium did not start");
        const shared = await browser.newContext();
        context = shared;
        const [first, second] = [await shared.newPage(), await shared.newPage()];
        for (const page of [first, second]) {
          await page.goto(spaUrl(allowedSite, server));
          expect(await settled(page, 1)).toBe("ok");
        }
        await first.getByTestId("key").fill("note");
        await first.getByTestId("value").fill('"from the first tab"');
        await act(first, "set");

        // The second tab still shows version 0: its write names that version and is refused.
        await second.getByTestId("key").fill("note");
        await second.getByTestId("value").fill('"from the second tab"');
        await act(second, "set", true);
        expect(await text(second, "error")).toMatch(/VERSION_CONFLICT.*now version 1/);
        await screenshot(second, "spa-6-stale-tab-refused");

        // Nothing was lost: after reading the session again, the second tab sees the first's write and may change it.
        await act(second, "read");
        expect(await shownData(second)).toEqual({ note: "from the first tab" });
        await act(second, "set");
        expect(await shownData(second)).toEqual({ note: "from the second tab" });
      },
      BROWSER_TEST_TIMEOUT_MS,
    );
  });

  describe("on an origin not in CORS_ORIGINS", () => {
    test(
      "the browser refuses the request: the page shows a network error and nothing is stored",
      async () => {
        const savedBefore = store.savedKeys.length;
        const { page, cookies } = await newPage();
        const refused: string[] = [];
        page.on("requestfailed", (request) => refused.push(`${request.method()} ${request.url()}`));
        await page.goto(spaUrl(foreignSite, server));

        expect(await settled(page, 1)).toBe("error");
        expect(await text(page, "error")).toMatch(/^Network error: Failed to fetch/);

        await page.getByTestId("key").fill("stolen");
        await page.getByTestId("value").fill("yes");
        await act(page, "set", true);
        expect(await text(page, "error")).toMatch(/^Network error: Failed to fetch/);
        // The JSON POST needs a preflight, which gets no Access-Control-Allow-Origin: the POST is never sent.
        expect(refused).toContain(`POST ${server.graphqlUrl}`);
        expect(store.savedKeys.length).toBe(savedBefore);
        expect(await cookies()).toEqual([]);
        await screenshot(page, "spa-5-cors-refused");
      },
      BROWSER_TEST_TIMEOUT_MS,
    );
  });
});
