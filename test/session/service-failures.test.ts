import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BadInputError, StoreUnavailableError } from "../../src/session/errors";
import type { Session } from "../../src/session/session";
import type { SessionStore } from "../../src/session/store";
import { createMemoryStore } from "../../src/stores/memory";
import { createSqliteStore } from "../../src/stores/sqlite";
import { ManualClock } from "../helpers/clock";
import { AGE, LIMITS, START_MS, setUp } from "./service-fixture";

/** The error a promise rejects with; fails the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

/** `[[…[]…]]`, `levels` arrays deep. */
function nestedArrays(levels: number): unknown {
  let value: unknown[] = [];
  for (let level = 1; level < levels; level++) value = [value];
  return value;
}

describe("when a change is refused", () => {
  const refusals: Array<[string, (draft: Session) => unknown]> = [
    ["an empty key", (draft) => draft.set("", 1)],
    ["a value too deep", (draft) => draft.update({ fine: 1, deep: nestedArrays(LIMITS.maxDepth + 1) })],
    [
      "a session over its byte limit",
      (draft) =>
        draft.update({
          c: "x".repeat(65000),
          d: "x".repeat(65000),
          e: "x".repeat(65000),
          f: "x".repeat(65000),
          g: "x".repeat(5000),
        }),
    ],
    ["a negative expiry", (draft) => draft.setExpiry(-1)],
  ];

  test.each(refusals)(
    "for %s, the session and the store stay exactly as they were",
    async (_name, mutate) => {
      const { service, store, calls, storeSession, request, resetCalls } = setUp();
      const sessionKey = await storeSession({ a: 1, b: [2] });
      const before = await store.load(sessionKey);
      resetCalls();
      const session = request(sessionKey);
      const error = await service.change(session, mutate).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(BadInputError);
      expect(error).toMatchObject({ code: "BAD_INPUT" });
      expect(session.items()).toEqual({ a: 1, b: [2] });
      expect(session.modified).toBe(false);
      expect(session.version).toBe(1);
      expect(session.failed).toBe(false);
      expect(calls.save + calls.delete).toBe(0);
      expect(await store.load(sessionKey)).toEqual(before);
    },
  );

  test("a change that throws after setting a key leaves nothing behind", async () => {
    const { service, store, storeSession, request } = setUp();
    const sessionKey = await storeSession({ a: 1 });
    const session = request(sessionKey);
    const failing = service.change(session, (draft) => {
      draft.set("b", 2);
      draft.setExpiry(5);
      throw new Error("resolver failed");
    });
    await expect(failing).rejects.toThrow("resolver failed");
    expect(session.items()).toEqual({ a: 1 });
    expect(session.getExpiryAge()).toBe(AGE);
    expect(await store.load(sessionKey)).toMatchObject({ data: { a: 1 }, version: 1 });
  });
});

describe("when the store fails", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sessionql-service-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** A session stored in SQLite, then a service whose store's driver was closed under it. */
  async function closedStore() {
    // Real time: Keyv checks the SQLite rows' expiry against Date.now(), so a clock set in the past loses them.
    const clock = new ManualClock();
    const path = join(dir, "sessions.sqlite");
    const sqlite = createSqliteStore(path, clock);
    const fixture = setUp({ clock, store: sqlite });
    const sessionKey = await fixture.storeSession({ a: 1 });
    await sqlite.close();
    const reopen = () => createSqliteStore(path, clock);
    return { ...fixture, sessionKey, reopen };
  }

  test("a read gives StoreUnavailableError with the driver error only as its cause", async () => {
    const { service, request, sessionKey } = await closedStore();
    const session = request(sessionKey);
    const error = await rejectionOf(service.read(session));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code: "STORE_UNAVAILABLE" });
    const { message, cause } = error as StoreUnavailableError;
    // The driver's own error, from better-sqlite3's realm, so matched by shape rather than instanceof.
    expect(cause).toMatchObject({ name: "TypeError", message: expect.stringMatching(/not open/) });
    expect(message).not.toContain((cause as Error).message);
    expect(message).not.toMatch(/sqlite|database|not open/i);
    expect(session.failed).toBe(true);
  });

  test("a read never stands in a fresh empty session for the real one", async () => {
    const { service, request, sessionKey } = await closedStore();
    const session = request(sessionKey);
    await expect(service.read(session)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(session.loaded).toBe(false);
    expect(session.sessionKey).toBeUndefined();
  });

  test("a change fails the same way and leaves the session and its record as they were", async () => {
    const { service, request, sessionKey, reopen } = await closedStore();
    const session = request(sessionKey);
    const error = await rejectionOf(service.change(session, (draft) => draft.set("b", 2)));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).cause).toMatchObject({ message: expect.stringMatching(/not open/) });
    expect(session.failed).toBe(true);
    expect(session.modified).toBe(false);
    const store = reopen();
    try {
      expect(await store.load(sessionKey)).toMatchObject({ data: { a: 1 }, version: 1 });
    } finally {
      await store.close();
    }
  });

  test("a failed session is not re-saved at the end of the request", async () => {
    const clock = new ManualClock();
    const sqlite = createSqliteStore(join(dir, "sessions.sqlite"), clock);
    const { service, request, storeSession, calls, resetCalls } = setUp({
      clock,
      store: sqlite,
      saveEveryRequest: true,
    });
    const session = request(await storeSession({ a: 1 }));
    expect((await service.read(session)).items()).toEqual({ a: 1 });
    await sqlite.close();
    await expect(service.change(session, (draft) => draft.set("b", 2))).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    resetCalls();
    expect(await service.finish(session)).toBe(false);
    expect(calls.save).toBe(0);
  });
});

describe("when a store call never answers", () => {
  const TIMEOUT_MS = 200;

  /** A real store whose calls hang forever while `hanging` is set. */
  function hangable(inner: SessionStore) {
    const state = { hanging: false };
    const never = new Promise<never>(() => {});
    const store: SessionStore = {
      load: (sessionKey) => (state.hanging ? never : inner.load(sessionKey)),
      save: (sessionKey, record, expected) =>
        state.hanging ? never : inner.save(sessionKey, record, expected),
      delete: (sessionKey, expected) => (state.hanging ? never : inner.delete(sessionKey, expected)),
      clearExpired: () => inner.clearExpired(),
      ping: () => inner.ping(),
      close: () => inner.close(),
    };
    return { store, state };
  }

  function hangingSetUp() {
    const clock = new ManualClock(START_MS);
    const { store, state } = hangable(createMemoryStore(clock));
    return { ...setUp({ clock, store, storeTimeoutMs: TIMEOUT_MS }), state };
  }

  /** Runs `operation` and returns how long it took to fail, in ms. */
  async function timeToFail(operation: Promise<unknown>): Promise<number> {
    const started = performance.now();
    expect(await rejectionOf(operation)).toBeInstanceOf(StoreUnavailableError);
    return performance.now() - started;
  }

  test("a read fails with StoreUnavailableError within the store timeout", async () => {
    const { service, request, storeSession, state } = hangingSetUp();
    const session = request(await storeSession({ a: 1 }));
    state.hanging = true;
    const elapsed = await timeToFail(service.read(session));
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 500);
    expect(session.failed).toBe(true);
  });

  test("a change fails within the timeout, and so does one queued behind it", async () => {
    const { service, request, storeSession, state } = hangingSetUp();
    const sessionKey = await storeSession({ a: 1 });
    state.hanging = true;
    const [first, queued] = await Promise.all([
      timeToFail(service.change(request(sessionKey), (draft) => draft.set("b", 2))),
      timeToFail(service.change(request(sessionKey), (draft) => draft.set("c", 3))),
    ]);
    expect(first).toBeLessThan(TIMEOUT_MS + 500);
    expect(queued).toBeLessThan(TIMEOUT_MS + 500);
  });

  test("a save that never answers fails within the timeout too", async () => {
    const { service, state } = hangingSetUp();
    state.hanging = true;
    const session = service.open(undefined, false);
    expect(await timeToFail(service.change(session, (draft) => draft.set("a", 1)))).toBeLessThan(
      TIMEOUT_MS + 500,
    );
    expect(session.sessionKey).toBeUndefined();
  });

  test("the service answers again once the store does", async () => {
    const { service, request, storeSession, readAgain, state } = hangingSetUp();
    const sessionKey = await storeSession({ a: 1 });
    state.hanging = true;
    await timeToFail(service.change(request(sessionKey), (draft) => draft.set("b", 2)));
    state.hanging = false;
    await service.change(request(sessionKey), (draft) => draft.set("c", 3));
    expect((await readAgain(sessionKey)).items()).toEqual({ a: 1, c: 3 });
  });
});
