import { BadInputError } from "../../src/session/errors";
import type { SessionLimits } from "../../src/session/limits";
import { type ExpiryPolicy, Session } from "../../src/session/session";
import { ManualClock } from "../helpers/clock";

const AGE = 1209600;
const START_MS = 1_700_000_000_000;
const LIMITS: SessionLimits = {
  maxKeyLength: 256,
  maxValueBytes: 65536,
  maxSessionBytes: 262144,
  maxDepth: 32,
};

function newSession(policy: Partial<ExpiryPolicy> = {}, clock = new ManualClock(START_MS)): Session {
  return new Session(
    undefined,
    false,
    { cookieAgeSeconds: AGE, expireAtBrowserClose: false, ...policy },
    LIMITS,
    clock,
  );
}

/** A session holding `data`, as if it had just been loaded from a store with no change yet. */
function loadedSession(data: Record<string, unknown>): Session {
  const session = newSession();
  session.adopt("k".repeat(32), { data, expiresAtMs: START_MS + AGE * 1000, version: 1 });
  return session;
}

describe("a new session", () => {
  test("is empty, unmodified and unaccessed", () => {
    const session = newSession();
    expect(session.isEmpty()).toBe(true);
    expect(session.keys()).toEqual([]);
    expect(session.items()).toEqual({});
    expect(session.modified).toBe(false);
    expect(session.accessed).toBe(false);
    expect(session.version).toBe(0);
  });

  test("get of an absent key gives null", () => {
    expect(newSession().get("cat")).toBeNull();
  });
});

describe("get with a default", () => {
  test("gives the default while the key is absent, without storing it", () => {
    const session = newSession();
    expect(session.get("foo", "bar")).toBe("bar");
    expect(session.has("foo")).toBe(false);
    expect(session.modified).toBe(false);
  });

  test("gives the stored value once the key is set, as setdefault's second call does", () => {
    const session = newSession();
    session.set("foo", "bar");
    expect(session.get("foo", "baz")).toBe("bar");
  });

  test("gives a stored null rather than the default", () => {
    const session = newSession();
    session.set("foo", null);
    expect(session.get("foo", "baz")).toBeNull();
  });
});

describe("set", () => {
  test("stores the value and marks the session modified", () => {
    const session = newSession();
    session.set("x", { nested: [1, 2] });
    expect(session.get("x")).toEqual({ nested: [1, 2] });
    expect(session.has("x")).toBe(true);
    expect(session.modified).toBe(true);
  });

  test("keys keep their insertion order", () => {
    const session = newSession();
    session.set("b", 1);
    session.set("a", 2);
    session.set("c", 3);
    expect(session.keys()).toEqual(["b", "a", "c"]);
  });

  test("a rejected value leaves the session unmodified", () => {
    const session = loadedSession({ a: 1 });
    expect(() => session.set("", 1)).toThrow(BadInputError);
    expect(session.items()).toEqual({ a: 1 });
    expect(session.modified).toBe(false);
  });
});

describe("every method that takes a key", () => {
  test.each<[string, (session: Session, key: string) => unknown]>([
    ["get", (session, key) => session.get(key)],
    ["has", (session, key) => session.has(key)],
    ["pop", (session, key) => session.pop(key)],
    ["update", (session, key) => session.update({ [key]: 1 })],
  ])("%s refuses an empty key and one over the limit", (_name, call) => {
    const session = loadedSession({ a: 1 });
    expect(() => call(session, "")).toThrow("key must be 1–256 characters (SESSION_MAX_KEY_LENGTH), got 0");
    expect(() => call(session, "k".repeat(300))).toThrow(/got 300$/);
    expect(session.items()).toEqual({ a: 1 });
  });
});

describe("pop", () => {
  test("of a present key returns it as found, removes it and marks the session modified", () => {
    const session = loadedSession({ some: "value" });
    expect(session.pop("some")).toEqual({ found: true, value: "value" });
    expect(session.has("some")).toBe(false);
    expect(session.modified).toBe(true);
  });

  test("of an absent key without a default returns null as not found and modifies nothing", () => {
    const session = loadedSession({ other: 1 });
    expect(session.pop("some")).toEqual({ found: false, value: null });
    expect(session.items()).toEqual({ other: 1 });
    expect(session.modified).toBe(false);
  });

  test("of an absent key with a default returns the default and modifies nothing", () => {
    const session = loadedSession({});
    expect(session.pop("some key", "does not exist")).toEqual({ found: false, value: "does not exist" });
    expect(session.modified).toBe(false);
  });

  test("of a present key ignores the default", () => {
    const session = loadedSession({ some: "value" });
    expect(session.pop("some", "fallback")).toEqual({ found: true, value: "value" });
  });
});

describe("update", () => {
  test("stores every entry and replaces existing ones", () => {
    const session = loadedSession({ a: 1, keep: true });
    session.update({ a: 2, b: [3] });
    expect(session.items()).toEqual({ a: 2, keep: true, b: [3] });
    expect(session.modified).toBe(true);
  });

  test("stores nothing when one key breaks a limit", () => {
    const session = loadedSession({ a: 1 });
    expect(() => session.update({ b: 2, ["k".repeat(257)]: 3, c: 4 })).toThrow(BadInputError);
    expect(session.items()).toEqual({ a: 1 });
    expect(session.modified).toBe(false);
  });

  test("stores nothing when one value breaks a limit", () => {
    const session = loadedSession({ a: 1 });
    expect(() => session.update({ a: 9, big: "x".repeat(LIMITS.maxValueBytes) })).toThrow(
      /value of "big" must be at most 65536 bytes of JSON \(SESSION_MAX_VALUE_BYTES\), got 65538/,
    );
    expect(session.items()).toEqual({ a: 1 });
    expect(session.modified).toBe(false);
  });
});

describe("clear", () => {
  test("removes every entry and marks the session modified", () => {
    const session = loadedSession({ x: 1, y: 2 });
    session.clear();
    expect(session.items()).toEqual({});
    expect(session.isEmpty()).toBe(true);
    expect(session.modified).toBe(true);
  });

  test("also drops a chosen expiry, as Django's does", () => {
    const session = newSession();
    session.setExpiry(60);
    session.clear();
    expect(session.getExpiryAge()).toBe(AGE);
    expect(session.hasStateToStore()).toBe(false);
  });
});

describe("keys beginning with an underscore", () => {
  test("are ordinary keys that show up in keys and items", () => {
    const session = newSession();
    session.set("_auth_user_id", 42);
    expect(session.keys()).toEqual(["_auth_user_id"]);
    expect(session.items()).toEqual({ _auth_user_id: 42 });
  });

  test("_session_expiry is data, not the expiry", () => {
    const session = newSession();
    session.set("_session_expiry", 0);
    expect(session.getExpireAtBrowserClose()).toBe(false);
    expect(session.getExpiryAge()).toBe(AGE);
    expect(session.get("_session_expiry")).toBe(0);
  });

  test("__proto__ from a parsed JSON object is stored by update like any other key", () => {
    const session = newSession();
    session.update(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'));
    expect(session.keys()).toEqual(["__proto__", "a"]);
    expect(session.get("__proto__")).toEqual({ polluted: true });
  });

  test("__proto__ is stored by set like any other key", () => {
    const session = newSession();
    session.set("__proto__", { polluted: true });
    expect(session.has("__proto__")).toBe(true);
    expect(session.keys()).toEqual(["__proto__"]);
    expect(session.has("polluted")).toBe(false);
  });
});

describe("a chosen expiry", () => {
  test("is not an entry: keys and items never show it", () => {
    const session = newSession();
    session.setExpiry(60);
    expect(session.keys()).toEqual([]);
    expect(session.items()).toEqual({});
  });

  test("alone leaves the session empty but worth storing", () => {
    const session = newSession();
    session.setExpiry(60);
    expect(session.isEmpty()).toBe(true);
    expect(session.hasStateToStore()).toBe(true);
    expect(session.modified).toBe(true);
  });

  test.each([-1, 1.5, Number.NaN])("of %p seconds is refused and changes nothing", (seconds) => {
    const session = newSession();
    expect(() => session.setExpiry(seconds)).toThrow(BadInputError);
    expect(session.modified).toBe(false);
    expect(session.hasStateToStore()).toBe(false);
  });
});

describe.each([false, true])("when SESSION_EXPIRE_AT_BROWSER_CLOSE is %p", (expireAtBrowserClose) => {
  const clock = new ManualClock(START_MS);
  const open = () => newSession({ expireAtBrowserClose }, clock);

  test("the default expiry follows the setting and the age is the cookie age", () => {
    const session = open();
    expect(session.getExpireAtBrowserClose()).toBe(expireAtBrowserClose);
    expect(session.getExpiryAge()).toBe(AGE);
    expect(session.getExpiryDate().getTime()).toBe(clock.now() + AGE * 1000);
  });

  test("a number of seconds is that age and never ends with the browser", () => {
    const session = open();
    session.setExpiry(10);
    expect(session.getExpireAtBrowserClose()).toBe(false);
    expect(session.getExpiryAge()).toBe(10);
    expect(session.getExpiryDate().getTime()).toBe(clock.now() + 10_000);
  });

  test("0 ends with the browser and counts the cookie age on the server", () => {
    const session = open();
    session.setExpiry(0);
    expect(session.getExpireAtBrowserClose()).toBe(true);
    expect(session.getExpiryAge()).toBe(AGE);
    expect(session.getExpiryDate().getTime()).toBe(clock.now() + AGE * 1000);
  });

  test("null goes back to the default policy", () => {
    const session = open();
    session.setExpiry(10);
    session.setExpiry(null);
    expect(session.getExpireAtBrowserClose()).toBe(expireAtBrowserClose);
    expect(session.getExpiryAge()).toBe(AGE);
  });
});

describe("a session loaded from a record", () => {
  test("counts its expiry from the record's last save", () => {
    const clock = new ManualClock(START_MS);
    const session = newSession({}, clock);
    const expiresAtMs = clock.now() + 100_000;
    session.adopt("k".repeat(32), { data: { a: 1 }, expirySeconds: 100, expiresAtMs, version: 3 });
    clock.advance(30);
    expect(session.getExpiryAge()).toBe(70);
    expect(session.getExpiryDate().getTime()).toBe(expiresAtMs);
    expect(session.version).toBe(3);
  });

  test("a pending change restarts the expiry from now", () => {
    const clock = new ManualClock(START_MS);
    const session = newSession({}, clock);
    session.adopt("k".repeat(32), {
      data: {},
      expirySeconds: 100,
      expiresAtMs: clock.now() + 100_000,
      version: 1,
    });
    clock.advance(30);
    session.set("a", 1);
    expect(session.getExpiryAge()).toBe(100);
    expect(session.getExpiryDate().getTime()).toBe(clock.now() + 100_000);
  });

  test("a change does not reach the record it was loaded from", () => {
    const data = { a: 1 };
    const session = newSession();
    session.adopt("k".repeat(32), { data, expiresAtMs: START_MS + 1000, version: 1 });
    session.set("b", 2);
    session.pop("a");
    expect(data).toEqual({ a: 1 });
  });
});
