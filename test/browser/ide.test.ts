import type { Browser, Page, Request } from "playwright-core";
import { describeWithChromium, launchChromium, screenshot } from "../helpers/browser";
import { startTestServer, type TestServer } from "../helpers/server";

const BROWSER_TEST_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 10_000;

const SET_CART = 'mutation SetCart { setSession(key: "cart", value: {items: [1, 2]}) { version data } }';
const READ_DATA = "{ session { data } }";
const CART = { cart: { items: [1, 2] } };

/** GraphiQL's query editor (Monaco), found by the class GraphiQL gives its pane. */
const queryEditor = (page: Page) => page.locator(".graphiql-query-editor .monaco-editor").first();

/** Opens the IDE the way a browser does: navigating to /graphql, which asks for text/html. */
async function openIde(page: Page, server: TestServer): Promise<void> {
  await page.goto(server.graphqlUrl);
  await queryEditor(page).waitFor({ timeout: STEP_TIMEOUT_MS });
}

/**
 * Replaces the whole query with `query` and waits until GraphiQL has taken it in. The text goes in as one
 * insertion, not keystrokes, because Monaco closes brackets and quotes as they are typed. GraphiQL reads the
 * editor after a debounce and only then updates the operation name it sends: executing before that sends the
 * previous tab's name ("Cannot infer operation Session"). The active tab's title is set in the same update, so
 * it is the signal: the new operation's name, or "<untitled>" for an anonymous one.
 */
async function replaceQuery(page: Page, query: string, title: string): Promise<void> {
  await queryEditor(page).click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(query);
  // Back to the start of the line, so a screenshot shows the query from its beginning.
  await page.keyboard.press("Home");
  await page
    .locator(".graphiql-tab-active .graphiql-tab-button", { hasText: title })
    .waitFor({ timeout: STEP_TIMEOUT_MS });
}

/**
 * Whether the request carries `query`. GraphiQL's fetcher sends it reprinted without ignored tokens
 * (`value:{items:[1 2]}`), so whitespace and commas, both insignificant in GraphQL, do not count.
 */
function sends(request: Request, query: string): boolean {
  if (request.method() !== "POST") return false;
  const compact = (text: unknown) => (typeof text === "string" ? text.replace(/[\s,]+/g, "") : undefined);
  try {
    const body = JSON.parse(request.postData() ?? "") as { query?: unknown };
    return compact(body.query) === compact(query);
  } catch {
    return false;
  }
}

/**
 * Runs the editor's query with GraphiQL's execute button. Resolves with the body the server answered (read off
 * the network, so it is exact) once the response pane shows `shown`.
 */
async function execute(page: Page, query: string, shown: RegExp): Promise<unknown> {
  const answered = page.waitForResponse((response) => sends(response.request(), query), {
    timeout: STEP_TIMEOUT_MS,
  });
  await page.locator(".graphiql-execute-button").click();
  const body: unknown = await (await answered).json();
  await waitForResponsePane(page, shown);
  return body;
}

/** Polls the response pane's text until it matches `pattern`. Monaco draws spaces as non-breaking ones. */
async function waitForResponsePane(page: Page, pattern: RegExp): Promise<void> {
  const pane = page.locator(".graphiql-response").first();
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let seen = "";
  while (Date.now() < deadline) {
    seen = ((await pane.textContent()) ?? "").replace(/\u00a0/g, " ");
    if (pattern.test(seen)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the response pane never matched ${pattern}; it shows:\n${seen}`);
}

describeWithChromium("the GraphQL IDE in chromium", () => {
  let server: TestServer;
  let browser: Browser | undefined;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
  }, BROWSER_TEST_TIMEOUT_MS);

  // Chromium first and on its own (closing it closes its contexts), so it never outlives the run, even when
  // the server then fails to stop.
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await server?.close();
    }
  }, BROWSER_TEST_TIMEOUT_MS);

  test(
    "a value set from the IDE is read back after a reload, through the session cookie",
    async () => {
      if (browser === undefined) throw new Error("chromium did not start");
      const context = await browser.newContext();
      const page = await context.newPage();

      await openIde(page, server);
      await replaceQuery(page, SET_CART, "SetCart");
      const set = await execute(
        page,
        SET_CART,
        /"setSession":\s*\{\s*"version":\s*1,\s*"data":\s*\{\s*"cart":/,
      );
      expect(set).toEqual({ data: { setSession: { version: 1, data: CART } } });
      const [cookie, ...others] = await context.cookies(server.url);
      expect(others).toEqual([]);
      expect(cookie).toMatchObject({ name: "sessionid", httpOnly: true, sameSite: "Lax", path: "/" });
      await screenshot(page, "ide-1-set");

      await page.reload();
      await queryEditor(page).waitFor({ timeout: STEP_TIMEOUT_MS });
      await replaceQuery(page, READ_DATA, "<untitled>");
      const read = await execute(page, READ_DATA, /"session":\s*\{\s*"data":\s*\{\s*"cart":\s*\{\s*"items":/);
      expect(read).toEqual({ data: { session: { data: CART } } });
      await screenshot(page, "ide-2-read-after-reload");
    },
    BROWSER_TEST_TIMEOUT_MS,
  );
});
