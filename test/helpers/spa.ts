import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import type { Page } from "playwright-core";

const SPA_DIR = resolve(__dirname, "..", "..", "examples", "spa");
const STEP_TIMEOUT_MS = 10_000;

/** A static file server on a loopback port of its own: a page origin distinct from sessionql's. */
export interface StaticSite {
  origin: string;
  close(): Promise<void>;
}

export async function serveStatic(
  files: Record<string, { type: string; body: string }>,
): Promise<StaticSite> {
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? "/", "http://placeholder").pathname];
    if (file === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(file.body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Bundles examples/spa/main.ts into one browser script, as a page would load it. */
export async function bundleSpa(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), "sessionql-spa-"));
  try {
    const outfile = join(outDir, "main.js");
    await build({
      entryPoints: [join(SPA_DIR, "main.ts")],
      bundle: true,
      format: "iife",
      platform: "browser",
      target: "chrome120",
      outfile,
      logLevel: "silent",
    });
    return readFileSync(outfile, "utf8");
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** The example SPA (examples/spa), bundled and served on an origin of its own. */
export async function serveSpa(): Promise<StaticSite> {
  return serveStatic({
    "/": { type: "text/html; charset=utf-8", body: readFileSync(join(SPA_DIR, "index.html"), "utf8") },
    "/main.js": { type: "text/javascript; charset=utf-8", body: await bundleSpa() },
  });
}

const status = (page: Page) => page.getByTestId("status");
export const text = async (page: Page, testId: string) =>
  (await page.getByTestId(testId).textContent()) ?? "";
export const shownData = async (page: Page) => JSON.parse(await text(page, "session-data")) as unknown;

/** Waits until the page has finished its `seq`-th request; returns "ok" or "error". */
export async function settled(page: Page, seq: number): Promise<string | null> {
  await page.locator(`[data-testid="status"][data-seq="${seq}"]`).waitFor({ timeout: STEP_TIMEOUT_MS });
  return status(page).getAttribute("data-state");
}

/** Clicks a button and waits for the request it starts; fails with the page's error unless `expectError`. */
export async function act(page: Page, button: string, expectError = false): Promise<void> {
  const seq = Number(await status(page).getAttribute("data-seq"));
  await page.getByTestId(button).click();
  const state = await settled(page, seq + 1);
  if (state !== (expectError ? "error" : "ok")) {
    throw new Error(`${button} ended in state ${state}: ${await text(page, "error")}`);
  }
}
