import { newSessionKey } from "../../src/session/keys";
import type { SessionStore } from "../../src/session/store";
import { ManualClock } from "../helpers/clock";
import { describeStoredValues, recordOf } from "./contract-values";

const MINUTE_MS = 60_000;

/** How a store may differ from the others without breaking the interface. */
export interface StoreTraits {
  /** The engine drops expired records itself (Redis TTLs), so clearExpired has nothing to remove. */
  expiresNatively?: boolean;
  /** saveOrRead answers a lost version check with what it found (Redis, PostgreSQL, SQLite), not only `false`. */
  answersLostChecks?: boolean;
}

/**
 * The behaviour every SessionStore promises, in the style of Django's SessionTestsMixin: each store's test file
 * calls this once. Only the SessionStore interface and the injected clock are used, so a store backed by a
 * server (Redis, PostgreSQL) passes the same cases as the embedded ones.
 */
export function describeSessionStore(
  name: string,
  open: (clock: ManualClock) => SessionStore | Promise<SessionStore>,
  traits: StoreTraits = {},
): void {
  describe(`the ${name} store`, () => {
    const opened: SessionStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    async function fresh(): Promise<{ store: SessionStore; clock: ManualClock }> {
      const clock = new ManualClock();
      const store = await open(clock);
      opened.push(store);
      return { store, clock };
    }

    describe("when a key was never saved", () => {
      test("it loads as undefined", async () => {
        const { store } = await fresh();
        await expect(store.load(newSessionKey())).resolves.toBeUndefined();
      });

      test("a save expecting a version is refused and creates nothing", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await expect(store.save(sessionKey, recordOf(clock, { a: 1 }, 2), 1)).resolves.toBe(false);
        await expect(store.load(sessionKey)).resolves.toBeUndefined();
      });

      test("a conditional delete reports false", async () => {
        const { store } = await fresh();
        await expect(store.delete(newSessionKey(), 1)).resolves.toBe(false);
      });

      test("an unconditional delete resolves", async () => {
        const { store } = await fresh();
        await expect(store.delete(newSessionKey())).resolves.toEqual(expect.any(Boolean));
      });
    });

    describe("when creating a record", () => {
      test("a save expecting no record creates it", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        const record = recordOf(clock, { a: 1 });
        await expect(store.save(sessionKey, record, undefined)).resolves.toBe(true);
        await expect(store.load(sessionKey)).resolves.toStrictEqual(record);
      });

      test("a second create of the same key is refused and the first record stays", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        const first = recordOf(clock, { who: "first" });
        await store.save(sessionKey, first, undefined);
        await expect(store.save(sessionKey, recordOf(clock, { who: "second" }), undefined)).resolves.toBe(
          false,
        );
        await expect(store.load(sessionKey)).resolves.toStrictEqual(first);
      });

      test("of two concurrent creates of the same key exactly one wins", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        const outcomes = await Promise.all([
          store.save(sessionKey, recordOf(clock, { by: "first" }), undefined),
          store.save(sessionKey, recordOf(clock, { by: "second" }), undefined),
        ]);
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const winner = outcomes[0] ? "first" : "second";
        await expect(store.load(sessionKey)).resolves.toMatchObject({ data: { by: winner } });
      });

      test("many concurrent creates of distinct keys all land", async () => {
        const { store, clock } = await fresh();
        const sessionKeys = Array.from({ length: 50 }, () => newSessionKey());
        const saved = await Promise.all(
          sessionKeys.map((sessionKey, i) => store.save(sessionKey, recordOf(clock, { i }), undefined)),
        );
        expect(saved).toEqual(sessionKeys.map(() => true));
        const loaded = await Promise.all(sessionKeys.map((sessionKey) => store.load(sessionKey)));
        expect(loaded.map((record) => record?.data)).toEqual(sessionKeys.map((_, i) => ({ i })));
      });
    });

    describe("when updating a record", () => {
      test("a save expecting the stored version wins", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }, 1), undefined);
        const next = recordOf(clock, { a: 2 }, 2);
        await expect(store.save(sessionKey, next, 1)).resolves.toBe(true);
        await expect(store.load(sessionKey)).resolves.toStrictEqual(next);
      });

      test("a save expecting a stale version loses and the record is unchanged", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }, 1), undefined);
        const current = recordOf(clock, { a: 2 }, 2);
        await store.save(sessionKey, current, 1);
        await expect(store.save(sessionKey, recordOf(clock, { a: "stale" }, 2), 1)).resolves.toBe(false);
        await expect(store.load(sessionKey)).resolves.toStrictEqual(current);
      });

      // The service's per-session lock only covers one process; instances sharing a store rely on this check.
      test("of two concurrent saves expecting the same version exactly one wins", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { by: "nobody" }, 1), undefined);
        const outcomes = await Promise.all([
          store.save(sessionKey, recordOf(clock, { by: "first" }, 2), 1),
          store.save(sessionKey, recordOf(clock, { by: "second" }, 2), 1),
        ]);
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const winner = outcomes[0] ? "first" : "second";
        await expect(store.load(sessionKey)).resolves.toMatchObject({ version: 2, data: { by: winner } });
      });

      // A store that sends back the record that won lets the service re-apply a change without reading it again.
      test("saveOrRead answers a lost check with the live record that won, or says nothing", async () => {
        const { store, clock } = await fresh();
        if (store.saveOrRead === undefined) return;
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }, 1), undefined);
        const current = recordOf(clock, { a: 2 }, 2);
        await expect(store.saveOrRead(sessionKey, current, 1)).resolves.toEqual({ saved: true });
        const lost = await store.saveOrRead(sessionKey, recordOf(clock, { a: "stale" }, 2), 1);
        expect(lost.saved).toBe(false);
        if (traits.answersLostChecks) expect(lost).toEqual({ saved: false, current });
        if (!lost.saved && lost.current !== undefined) expect(lost.current).toStrictEqual(current);
        await expect(store.load(sessionKey)).resolves.toStrictEqual(current);
      });

      test("saveOrRead answers a check lost to a vanished or expired record with null, or says nothing", async () => {
        const { store, clock } = await fresh();
        if (store.saveOrRead === undefined) return;
        const [gone, expired] = [newSessionKey(), newSessionKey()];
        await store.save(expired, recordOf(clock, { a: 1 }, 1, MINUTE_MS), undefined);
        clock.advance(61);
        for (const sessionKey of [gone, expired]) {
          const lost = await store.saveOrRead(sessionKey, recordOf(clock, { a: 2 }, 2), 1);
          expect(lost.saved).toBe(false);
          if (traits.answersLostChecks) expect(lost).toEqual({ saved: false, current: null });
          if (!lost.saved && lost.current !== undefined) expect(lost.current).toBeNull();
        }
      });

      test("a save moves the expiry to the new record's", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }, 1, MINUTE_MS), undefined);
        await store.save(sessionKey, recordOf(clock, { a: 1 }, 2, 10 * MINUTE_MS), 1);
        clock.advance(5 * 60);
        await expect(store.load(sessionKey)).resolves.toMatchObject({ version: 2 });
      });
    });

    describe("when deleting a record", () => {
      test("an unconditional delete removes it", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }), undefined);
        await store.delete(sessionKey);
        await expect(store.load(sessionKey)).resolves.toBeUndefined();
      });

      test("a delete expecting the stored version removes it", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }, 3), undefined);
        await expect(store.delete(sessionKey, 3)).resolves.toBe(true);
        await expect(store.load(sessionKey)).resolves.toBeUndefined();
      });

      test("a delete expecting a stale version is refused and the record is kept", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        const record = recordOf(clock, { a: 1 }, 3);
        await store.save(sessionKey, record, undefined);
        await expect(store.delete(sessionKey, 2)).resolves.toBe(false);
        await expect(store.load(sessionKey)).resolves.toStrictEqual(record);
      });

      test("a deleted key can be created again", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }), undefined);
        await store.delete(sessionKey);
        await expect(store.save(sessionKey, recordOf(clock, { b: 2 }), undefined)).resolves.toBe(true);
        await expect(store.load(sessionKey)).resolves.toMatchObject({ data: { b: 2 } });
      });
    });

    describe("when a record has expired", () => {
      test("it still loads just before its expiry", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }, 1, MINUTE_MS), undefined);
        clock.advance(59);
        await expect(store.load(sessionKey)).resolves.toMatchObject({ data: { a: 1 } });
      });

      test("it loads as undefined", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }, 1, MINUTE_MS), undefined);
        clock.advance(61);
        await expect(store.load(sessionKey)).resolves.toBeUndefined();
      });

      test("a create over it succeeds", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { old: true }, 7, MINUTE_MS), undefined);
        clock.advance(61);
        const fresher = recordOf(clock, { old: false }, 1);
        await expect(store.save(sessionKey, fresher, undefined)).resolves.toBe(true);
        await expect(store.load(sessionKey)).resolves.toStrictEqual(fresher);
      });

      test("an update expecting its version is refused", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }, 4, MINUTE_MS), undefined);
        clock.advance(61);
        await expect(store.save(sessionKey, recordOf(clock, { a: 2 }, 5), 4)).resolves.toBe(false);
        await expect(store.load(sessionKey)).resolves.toBeUndefined();
      });
    });

    describe("clearExpired", () => {
      test("removes expired records, returns how many, and keeps live ones", async () => {
        const { store, clock } = await fresh();
        const expired = [newSessionKey(), newSessionKey(), newSessionKey()];
        const live = [newSessionKey(), newSessionKey()];
        for (const sessionKey of expired) {
          await store.save(sessionKey, recordOf(clock, { expired: true }, 1, MINUTE_MS), undefined);
        }
        for (const sessionKey of live) {
          await store.save(sessionKey, recordOf(clock, { expired: false }, 1, 60 * MINUTE_MS), undefined);
        }
        clock.advance(2 * 60);
        await expect(store.clearExpired()).resolves.toBe(traits.expiresNatively ? 0 : expired.length);
        for (const sessionKey of expired) await expect(store.load(sessionKey)).resolves.toBeUndefined();
        for (const sessionKey of live) {
          await expect(store.load(sessionKey)).resolves.toMatchObject({ data: { expired: false } });
        }
        await expect(store.clearExpired()).resolves.toBe(0);
      });

      test("removes nothing while every record is live", async () => {
        const { store, clock } = await fresh();
        const sessionKey = newSessionKey();
        await store.save(sessionKey, recordOf(clock, { a: 1 }), undefined);
        await expect(store.clearExpired()).resolves.toBe(0);
        await expect(store.load(sessionKey)).resolves.toMatchObject({ data: { a: 1 } });
      });
    });

    describe("values", () => describeStoredValues(fresh));

    describe("the connection", () => {
      test("ping resolves", async () => {
        const { store } = await fresh();
        await expect(store.ping()).resolves.toBeUndefined();
      });

      test("close resolves", async () => {
        const clock = new ManualClock();
        const store = await open(clock);
        await expect(store.close()).resolves.toBeUndefined();
      });
    });
  });
}
