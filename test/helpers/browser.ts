import { accessSync, constants, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import type { Availability } from "./services";

/** Debian's chromium (`apt-get install -y chromium`); these tests never download a browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Where `screenshot` writes: git-ignored, overwritten by every run. */
export const SCREENSHOT_DIR = resolve(__dirname, "..", "..", "test-results", "screenshots");

// Headless as root needs --no-sandbox; the rest stop chromium from reaching out to the network on its own
// (component updates, sync, QUIC probes, first-run pages), so a test only ever talks to loopback servers.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const LAUNCH_TIMEOUT_MS = 15_000;

/** Whether chromium is installed where the browser tests look for it and, if not, why. */
export function chromiumAvailability(): Availability {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return { available: true };
  } catch (error) {
    return {
      available: false,
      reason: `no executable chromium at ${CHROMIUM_PATH} (${(error as NodeJS.ErrnoException).code}); install Debian's package chromium`,
    };
  }
}

/**
 * Runs `describe(name, body)` when chromium is installed. Without it the suite is skipped with one warning, except
 * in CI, where a missing browser is a broken machine and fails the run instead of passing it quietly.
 */
export function describeWithChromium(name: string, body: () => void): void {
  const availability = chromiumAvailability();
  if (availability.available) {
    describe(name, body);
  } else if (process.env.CI === "true") {
    const message = `chromium is required when CI=true: ${availability.reason}`;
    describe(name, () => {
      test("chromium is available", () => {
        throw new Error(message);
      });
    });
  } else {
    // Straight to stderr: jest drops the console output of a file whose tests were all skipped.
    process.stderr.write(`skipped ${name}: ${availability.reason}\n`);
    describe.skip(name, body);
  }
}

/**
 * Launches headless chromium. Playwright gives every launch a fresh temporary profile (its own --user-data-dir,
 * deleted on close) and every `browser.newContext()` an empty cookie jar, so no state leaks between runs or
 * tests. The caller must `close()` it, in an afterAll that runs even when a test failed.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
  });
}

/** Saves the whole page as `test-results/screenshots/<name>.png`, replacing the last run's; returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
