import { newSessionKey } from "../../src/session/keys";
import type { SessionData, SessionRecord, SessionStore } from "../../src/session/store";
import type { ManualClock } from "../helpers/clock";

const MINUTE_MS = 60_000;

/** A record that lives for `lifetimeMs` from the clock's now. */
export function recordOf(
  clock: ManualClock,
  data: SessionData,
  version = 1,
  lifetimeMs = 10 * MINUTE_MS,
): SessionRecord {
  return { data, expiresAtMs: clock.now() + lifetimeMs, version };
}

/** The contract's cases about what a store gives back: exact round-trips and copies, never live objects. */
export function describeStoredValues(
  fresh: () => Promise<{ store: SessionStore; clock: ManualClock }>,
): void {
  const samples: Array<[string, SessionData]> = [
    ["unicode text", { greeting: "héllo wörld ✓ 日本語 🎉", "ключ ✓": "значение", empty: "" }],
    ["nested objects and arrays", { cart: { items: [{ id: 1, tags: ["a", "b"] }, []], meta: {} } }],
    ["null values inside data", { nothing: null, list: [null, 1, null], nested: { inner: null } }],
    ["keys beginning with an underscore", { _auth_user_id: "42", _session_expiry: 300, __x: true }],
    [
      "numbers",
      {
        int: 42,
        negative: -7,
        float: 0.1 + 0.2,
        tiny: 1e-7,
        huge: 1.5e300,
        big: Number.MAX_SAFE_INTEGER,
        zero: 0,
      },
    ],
    // Parsed, because a `__proto__` in an object literal would set the prototype instead of a key.
    ["keys named like Object.prototype members", JSON.parse('{"__proto__":{"x":1},"constructor":"c"}')],
    ["booleans and strings that look like other types", { t: true, f: false, n: "null", one: "1" }],
  ];

  test.each(samples)("%s round-trip exactly", async (_label, data) => {
    const { store, clock } = await fresh();
    const sessionKey = newSessionKey();
    const record = recordOf(clock, data);
    await store.save(sessionKey, record, undefined);
    await expect(store.load(sessionKey)).resolves.toStrictEqual(record);
  });

  test("the expiry policy round-trips with the record", async () => {
    const { store, clock } = await fresh();
    const browserClose = newSessionKey();
    const timed = newSessionKey();
    const closeRecord: SessionRecord = { ...recordOf(clock, {}), expirySeconds: 0 };
    const timedRecord: SessionRecord = { ...recordOf(clock, { a: 1 }), expirySeconds: 300 };
    await store.save(browserClose, closeRecord, undefined);
    await store.save(timed, timedRecord, undefined);
    await expect(store.load(browserClose)).resolves.toStrictEqual(closeRecord);
    await expect(store.load(timed)).resolves.toStrictEqual(timedRecord);
  });

  test("a loaded record is a copy: changing it does not change the store", async () => {
    const { store, clock } = await fresh();
    const sessionKey = newSessionKey();
    await store.save(sessionKey, recordOf(clock, { list: [1], nested: { a: 1 } }), undefined);
    const loaded = (await store.load(sessionKey)) as SessionRecord;
    loaded.data.added = true;
    (loaded.data.list as number[]).push(2);
    (loaded.data.nested as Record<string, unknown>).a = 2;
    loaded.version = 99;
    await expect(store.load(sessionKey)).resolves.toMatchObject({
      data: { list: [1], nested: { a: 1 } },
      version: 1,
    });
    expect((await store.load(sessionKey))?.data).not.toHaveProperty("added");
  });

  test("a saved record is a copy: changing it afterwards does not change the store", async () => {
    const { store, clock } = await fresh();
    const sessionKey = newSessionKey();
    const record = recordOf(clock, { list: [1] });
    await store.save(sessionKey, record, undefined);
    (record.data.list as number[]).push(2);
    record.data.added = true;
    await expect(store.load(sessionKey)).resolves.toMatchObject({ data: { list: [1] } });
    expect((await store.load(sessionKey))?.data).not.toHaveProperty("added");
  });
}
