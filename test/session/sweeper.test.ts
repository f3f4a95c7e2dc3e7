import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newSessionKey } from "../../src/session/keys";
import type { SessionStore } from "../../src/session/store";
import { type Sweeper, startSweeper } from "../../src/session/sweeper";
import { createStore } from "../../src/stores/index";
import { createSqliteStore } from "../../src/stores/sqlite";
import { ManualClock } from "../helpers/clock";

type Outcome = { removed: number } | { error: unknown };

const INTERVAL_MS = 20;
const WAIT_MS = 2000;

/** Collects a sweeper's reports and lets a test wait for the next one instead of sleeping a fixed time. */
class Reports {
  readonly seen: Outcome[] = [];
  private waiting: Array<(outcome: Outcome) => void> = [];

  readonly report = (outcome: Outcome): void => {
    this.seen.push(outcome);
    for (const resolve of this.waiting.splice(0)) resolve(outcome);
  };

  next(): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sweep reported within ${WAIT_MS} ms`)), WAIT_MS);
      this.waiting.push((outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
    });
  }
}

const sweepers: Sweeper[] = [];
const stores: SessionStore[] = [];
let tmp: string | undefined;
afterEach(async () => {
  for (const sweeper of sweepers.splice(0)) await sweeper.stop();
  for (const store of stores.splice(0)) await store.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

function sweep(store: SessionStore, reports: Reports): Sweeper {
  const sweeper = startSweeper(store, INTERVAL_MS, reports.report);
  sweepers.push(sweeper);
  return sweeper;
}

async function storeWith(clock: ManualClock, lifetimesMs: number[]): Promise<[SessionStore, string[]]> {
  const store = createStore("memory://", clock);
  stores.push(store);
  const sessionKeys: string[] = [];
  for (const lifetimeMs of lifetimesMs) {
    const sessionKey = newSessionKey();
    await store.save(
      sessionKey,
      { data: { lifetimeMs }, expiresAtMs: clock.now() + lifetimeMs, version: 1 },
      undefined,
    );
    sessionKeys.push(sessionKey);
  }
  return [store, sessionKeys];
}

describe("the sweeper removes expired records", () => {
  test("a sweep on its timer removes the expired records and reports how many", async () => {
    const clock = new ManualClock();
    const [store, [short1, short2, long]] = await storeWith(clock, [60_000, 60_000, 3_600_000]);
    clock.advance(120);
    const reports = new Reports();
    sweep(store, reports);

    await expect(reports.next()).resolves.toEqual({ removed: 2 });
    await expect(store.clearExpired()).resolves.toBe(0);
    await expect(store.load(long as string)).resolves.toMatchObject({ version: 1 });
    await expect(store.load(short1 as string)).resolves.toBeUndefined();
    await expect(store.load(short2 as string)).resolves.toBeUndefined();
  });

  test("it keeps sweeping: records that expire later are removed by a later sweep", async () => {
    const clock = new ManualClock();
    const [store, [sessionKey]] = await storeWith(clock, [60_000]);
    const reports = new Reports();
    sweep(store, reports);

    await expect(reports.next()).resolves.toEqual({ removed: 0 });
    clock.advance(61);
    let outcome = await reports.next();
    // A sweep that started before the clock moved may still report 0; the one after it must find the record.
    if ("removed" in outcome && outcome.removed === 0) outcome = await reports.next();
    expect(outcome).toEqual({ removed: 1 });
    await expect(store.load(sessionKey as string)).resolves.toBeUndefined();
  });

  test("a failing store is reported, not thrown, and the sweeper keeps trying", async () => {
    tmp = mkdtempSync(join(tmpdir(), "sessionql-sweeper-"));
    // A closed database is a real store that fails every call.
    const broken = createSqliteStore(join(tmp, "closed.sqlite"), new ManualClock());
    await broken.close();
    const reports = new Reports();
    sweep(broken, reports);

    const first = await reports.next();
    expect(first).toHaveProperty("error");
    // The driver's error comes from another realm under jest, so its shape is checked rather than its class.
    expect((first as { error: { message?: unknown } }).error.message).toEqual(expect.any(String));
    await expect(reports.next()).resolves.toHaveProperty("error");
  });

  test("stop() stops the timer: no sweep runs afterwards", async () => {
    const clock = new ManualClock();
    const [store] = await storeWith(clock, []);
    const reports = new Reports();
    const sweeper = sweep(store, reports);
    await reports.next();

    await sweeper.stop();
    const reportsAtStop = reports.seen.length;
    await store.save(newSessionKey(), { data: {}, expiresAtMs: clock.now() + 1000, version: 1 }, undefined);
    clock.advance(2);
    // A negative can only be observed by waiting: several intervals pass without a sweep.
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 5));
    expect(reports.seen).toHaveLength(reportsAtStop);
    await expect(store.clearExpired()).resolves.toBe(1);
  });

  test("stop() tells a sweep in progress to stop, so a long backlog does not hold the shutdown", async () => {
    let started: () => void = () => {};
    const sweepStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    // A store with an endless backlog: it removes nothing more once told to stop, and never finishes otherwise.
    const endless: SessionStore = Object.assign(Object.create(createStore("memory://")) as SessionStore, {
      clearExpired: (signal?: AbortSignal) =>
        new Promise<number>((resolve) => {
          started();
          signal?.addEventListener("abort", () => resolve(7));
        }),
    });
    const reports = new Reports();
    const sweeper = startSweeper(endless, INTERVAL_MS, reports.report);
    await sweepStarted;
    const reported = reports.next();
    await sweeper.stop();
    await expect(reported).resolves.toEqual({ removed: 7 });
  });

  test("stop() waits for a sweep in progress", async () => {
    const clock = new ManualClock();
    const [store] = await storeWith(clock, [1000]);
    clock.advance(2);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: () => void = () => {};
    const sweepStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    // The real store, held at the door so the test can stop the sweeper mid-sweep.
    const slow: SessionStore = Object.assign(Object.create(store) as SessionStore, {
      clearExpired: async () => {
        started();
        await gate;
        return store.clearExpired();
      },
    });
    const reports = new Reports();
    const sweeper = startSweeper(slow, INTERVAL_MS, reports.report);
    await sweepStarted;

    let stopped = false;
    const stopping = sweeper.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(reports.seen).toEqual([{ removed: 1 }]);
  });
});
