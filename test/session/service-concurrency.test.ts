import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SessionInterruptedError } from "../../src/session/errors";
import type { SessionService } from "../../src/session/service";
import type { Session } from "../../src/session/session";
import type { SessionRecord, SessionStore } from "../../src/session/store";
import { createMemoryStore } from "../../src/stores/memory";
import { createSqliteStore } from "../../src/stores/sqlite";
import { ManualClock } from "../helpers/clock";
import { setUp } from "./service-fixture";

const COUNT = 50;
const range = (count: number) => Array.from({ length: count }, (_, index) => index);

let dir: string;
const opened: SessionStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sessionql-concurrency-"));
});
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A SQLite store on this test's file; each call is a separate connection, as another process would open. */
function sqliteStore(clock: ManualClock): SessionStore {
  const store = createSqliteStore(join(dir, "sessions.sqlite"), clock);
  opened.push(store);
  return store;
}

/** How many records the SQLite file holds, read past every store. */
function sqliteRowCount(): number {
  const db = new Database(join(dir, "sessions.sqlite"), { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM sessionql_keyv").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

// Real time for every clock here: Keyv checks the SQLite rows' expiry against Date.now().
const stores: Array<[string, (clock: ManualClock) => SessionStore]> = [
  ["the memory store", (clock) => createMemoryStore(clock)],
  ["a SQLite store", sqliteStore],
];

describe.each(stores)("on %s, one service", (_name, createStore) => {
  test(`${COUNT} parallel changes on distinct keys of one session all survive`, async () => {
    const clock = new ManualClock();
    const { service, request, storeSession, readAgain } = setUp({ clock, store: createStore(clock) });
    const sessionKey = await storeSession({ first: true });
    // Each change has its own Session opened from the same key, as 50 requests with one cookie would.
    await Promise.all(
      range(COUNT).map((index) =>
        service.change(request(sessionKey), (draft) => draft.set(`key${index}`, index)),
      ),
    );
    const session = await readAgain(sessionKey);
    expect(session.keys()).toHaveLength(COUNT + 1);
    for (const index of range(COUNT)) expect(session.get(`key${index}`)).toBe(index);
    expect(session.version).toBe(COUNT + 1);
  });

  test("parallel pops and sets on one session each apply exactly once", async () => {
    const clock = new ManualClock();
    const { service, request, storeSession, readAgain } = setUp({ clock, store: createStore(clock) });
    const sessionKey = await storeSession({
      keep: true,
      ...Object.fromEntries(range(10).map((index) => [`old${index}`, index])),
    });
    const results = await Promise.all([
      ...range(10).map((index) => service.change(request(sessionKey), (draft) => draft.pop(`old${index}`))),
      ...range(10).map((index) =>
        service.change(request(sessionKey), (draft) => draft.set(`new${index}`, index)),
      ),
    ]);
    expect(results.slice(0, 10)).toEqual(range(10).map((index) => ({ found: true, value: index })));
    const session = await readAgain(sessionKey);
    expect(session.keys().sort()).toEqual(["keep", ...range(10).map((index) => `new${index}`)]);
    expect(session.version).toBe(21);
  });
});

describe("two services sharing one SQLite file, like two processes", () => {
  function twoServices() {
    const clock = new ManualClock();
    return [
      setUp({ clock, store: sqliteStore(clock) }),
      setUp({ clock, store: sqliteStore(clock) }),
    ] as const;
  }

  test("a change that lost the version check is re-applied to the winner's record", async () => {
    const [a, b] = twoServices();
    const sessionKey = await a.storeSession({ first: true });
    const onA = await a.service.read(a.request(sessionKey));
    const onB = await b.service.read(b.request(sessionKey));
    await a.service.change(onA, (draft) => draft.set("fromA", 1));
    // B still holds version 1: its save is refused, so it reloads A's record and applies its change there.
    await b.service.change(onB, (draft) => draft.set("fromB", 2));
    expect(onB.items()).toEqual({ first: true, fromA: 1, fromB: 2 });
    expect(onB.version).toBe(3);
    expect((await a.readAgain(sessionKey)).items()).toEqual({ first: true, fromA: 1, fromB: 2 });
  });

  test("interleaved parallel writes from both lose nothing", async () => {
    const [a, b] = twoServices();
    const sessionKey = await a.storeSession({ first: true });
    await Promise.all(
      range(COUNT).map((index) => {
        const { service, request } = index % 2 === 0 ? a : b;
        return service.change(request(sessionKey), (draft) => draft.set(`key${index}`, index));
      }),
    );
    const session = await b.readAgain(sessionKey);
    for (const index of range(COUNT)) expect(session.get(`key${index}`)).toBe(index);
    expect(session.version).toBe(COUNT + 1);
  });

  test("a change whose record the other deleted fails as interrupted and does not recreate it", async () => {
    const [a, b] = twoServices();
    const sessionKey = await a.storeSession({ first: true });
    const onA = await a.service.read(a.request(sessionKey));
    await b.service.flush(b.request(sessionKey));
    const error = await a.service
      .change(onA, (draft) => draft.set("late", 1))
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(SessionInterruptedError);
    expect(error).toMatchObject({ code: "SESSION_INTERRUPTED" });
    expect(onA.failed).toBe(true);
    expect(onA.sessionKey).toBeUndefined();
    expect(await a.store.load(sessionKey)).toBeUndefined();
    expect(sqliteRowCount()).toBe(0);
  });

  test("clearing a session the other deleted fails as interrupted", async () => {
    const [a, b] = twoServices();
    const sessionKey = await a.storeSession({ first: true });
    const onA = await a.service.read(a.request(sessionKey));
    await b.service.flush(b.request(sessionKey));
    await expect(a.service.change(onA, (draft) => draft.clear())).rejects.toBeInstanceOf(
      SessionInterruptedError,
    );
    expect(sqliteRowCount()).toBe(0);
  });

  test("cycling the key of a session the other deleted fails as interrupted and leaves no record", async () => {
    const [a, b] = twoServices();
    const sessionKey = await a.storeSession({ first: true });
    const onA = await a.service.read(a.request(sessionKey));
    await b.service.flush(b.request(sessionKey));
    await expect(a.service.cycleKey(onA)).rejects.toBeInstanceOf(SessionInterruptedError);
    expect(onA.sessionKey).toBeUndefined();
    expect(sqliteRowCount()).toBe(0);
  });

  test("a key cycled by one while the other changes the session keeps both", async () => {
    const [a, b] = twoServices();
    const sessionKey = await a.storeSession({ first: true });
    const onA = await a.service.read(a.request(sessionKey));
    const onB = await b.service.read(b.request(sessionKey));
    await b.service.change(onB, (draft) => draft.set("fromB", 2));
    await a.service.cycleKey(onA);
    expect(onA.sessionKey).not.toBe(sessionKey);
    expect((await b.readAgain(onA.sessionKey as string)).items()).toEqual({ first: true, fromB: 2 });
    expect(await b.store.load(sessionKey)).toBeUndefined();
    expect(sqliteRowCount()).toBe(1);
  });
});

describe.each(stores)("on %s, with saveEveryRequest", (_name, createStore) => {
  /** Starts `first`, then `second` after `ticks` turns of the microtask queue, and waits for both. */
  async function race(first: () => Promise<unknown>, second: () => Promise<unknown>, ticks: number) {
    let delayed = Promise.resolve();
    for (let tick = 0; tick < ticks; tick++) delayed = delayed.then(() => undefined);
    await Promise.all([first(), delayed.then(second)]);
  }

  /**
   * Runs `scenario` with the end-of-request re-save of a reader started at every point of another request's run,
   * before and after it, since the window is a few microtasks wide; returns the offsets where `broken` held.
   */
  async function everyInterleaving(
    other: (service: SessionService, session: Session) => Promise<unknown>,
    broken: (record: SessionRecord | undefined) => boolean,
  ): Promise<string[]> {
    const failures: string[] = [];
    for (const ticks of range(30)) {
      for (const finishFirst of [false, true]) {
        const clock = new ManualClock();
        const fixture = setUp({ clock, store: createStore(clock), saveEveryRequest: true });
        const { service, request, store } = fixture;
        const sessionKey = await fixture.storeSession({ first: true });
        const reader = await service.read(request(sessionKey));
        const finish = () => service.finish(reader);
        const act = () => other(service, request(sessionKey));
        await (finishFirst ? race(finish, act, ticks) : race(act, finish, ticks));
        if (broken(await store.load(sessionKey)))
          failures.push(`${finishFirst ? "finish" : "other"} first, +${ticks}`);
      }
    }
    return failures;
  }

  test("the re-save at the end of a read never undoes a change made meanwhile", async () => {
    const lost = await everyInterleaving(
      (service, session) => service.change(session, (draft) => draft.set("added", true)),
      (record) => record?.data.added !== true || record.version !== 2,
    );
    expect(lost).toEqual([]);
  });

  test("the re-save at the end of a read never brings back a session flushed meanwhile", async () => {
    const resurrected = await everyInterleaving(
      (service, session) => service.flush(session),
      (record) => record !== undefined,
    );
    expect(resurrected).toEqual([]);
  });
});
