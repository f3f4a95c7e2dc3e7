import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ModelConfig, SessionModel } from "./model";
import { DEFAULT_LIMITS } from "./operations";
import { modelSettingsFromEnv, runSessionModel } from "./run";

/** A short cookie age, so that runs reach expiry with a few clock steps. */
const ENV = { SESSION_COOKIE_AGE: "300" };
const CONFIG: ModelConfig = {
  cookieAgeSeconds: 300,
  expireAtBrowserClose: false,
  saveEveryRequest: false,
  absoluteAgeSeconds: undefined,
  limits: DEFAULT_LIMITS,
};
// Generous: a failure shrinks against the real server, which takes far longer than a passing run.
const TIMEOUT_MS = 300_000;

describe("the server follows the session model", () => {
  test(
    "on the memory store",
    async () => {
      await runSessionModel({ env: ENV, label: "memory://" });
    },
    TIMEOUT_MS,
  );

  test(
    "on a SQLite store in a temporary file",
    async () => {
      const directory = mkdtempSync(join(tmpdir(), "sessionql-model-"));
      try {
        await runSessionModel({
          env: { ...ENV, SESSION_STORE: `sqlite://${join(directory, "sessions.sqlite")}` },
          label: "sqlite://",
        });
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS,
  );

  test(
    "with browser-close sessions, save-every-request and another cookie (memory store, fewer runs)",
    async () => {
      await runSessionModel({
        env: {
          ...ENV,
          SESSION_EXPIRE_AT_BROWSER_CLOSE: "true",
          SESSION_SAVE_EVERY_REQUEST: "true",
          SESSION_COOKIE_NAME: "sq",
          SESSION_COOKIE_PATH: "/graphql",
          SESSION_COOKIE_DOMAIN: "127.0.0.1",
          SESSION_COOKIE_HTTPONLY: "false",
          SESSION_COOKIE_SECURE: "true",
          SESSION_COOKIE_SAMESITE: "Strict",
        },
        runs: Math.max(1, Math.round(modelSettingsFromEnv().runs / 4)),
        label: "memory://, browser close, save every request, cookie sq",
      });
    },
    TIMEOUT_MS,
  );

  test(
    "with small input limits, so that keys, values, depth and whole sessions get refused (SQLite, fewer runs)",
    async () => {
      const directory = mkdtempSync(join(tmpdir(), "sessionql-model-limits-"));
      try {
        await runSessionModel({
          env: {
            ...ENV,
            SESSION_STORE: `sqlite://${join(directory, "sessions.sqlite")}`,
            SESSION_MAX_KEY_LENGTH: "8",
            SESSION_MAX_VALUE_BYTES: "32",
            SESSION_MAX_BYTES: "48",
            SESSION_MAX_DEPTH: "2",
          },
          runs: Math.max(1, Math.round(modelSettingsFromEnv().runs / 4)),
          label: "sqlite://, small limits",
        });
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS,
  );

  test(
    "with an absolute age shorter than some idle ends and longer than others (SQLite, fewer runs)",
    async () => {
      const directory = mkdtempSync(join(tmpdir(), "sessionql-model-absolute-"));
      try {
        await runSessionModel({
          env: {
            ...ENV,
            SESSION_STORE: `sqlite://${join(directory, "sessions.sqlite")}`,
            SESSION_ABSOLUTE_AGE: "500",
          },
          runs: Math.max(1, Math.round(modelSettingsFromEnv().runs / 2)),
          label: "sqlite://, absolute age 500 s",
        });
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS,
  );
});

// The model's reading of the contract, spelled out on a few sequences (no server involved).
describe("the model", () => {
  const NOW = 1_700_000_000_000;
  const model = () => new SessionModel(CONFIG, NOW, 2);

  test("reading never creates a session or sets a cookie", () => {
    const m = model();
    const outcome = m.apply(0, { kind: "read" });
    expect(outcome).toMatchObject({ cookie: "untouched", savedChange: false });
    expect(outcome.view).toMatchObject({ ref: undefined, version: 0, isEmpty: true, expiryAge: 300 });
  });

  test("a save sets the cookie, a pop of an absent key saves nothing, emptying deletes", () => {
    const m = model();
    expect(m.apply(0, { kind: "set", key: "a", value: 1 })).toMatchObject({
      cookie: "set",
      cookieMaxAge: 300,
    });
    const absent = m.apply(0, { kind: "pop", key: "b", default: 7 });
    expect(absent).toMatchObject({
      cookie: "untouched",
      lookup: { found: false, value: 7 },
      savedChange: false,
    });
    expect(absent.view?.version).toBe(1);
    const emptied = m.apply(0, { kind: "pop", key: "a", default: undefined });
    expect(emptied).toMatchObject({ cookie: "expired", lookup: { found: true, value: 1 } });
    expect(emptied.view).toMatchObject({ ref: undefined, version: 0 });
    expect(m.jars[0]).toBeUndefined();
  });

  test("an expiry alone is stored, isEmpty stays true; clearing it deletes the session", () => {
    const m = model();
    const stored = m.apply(0, { kind: "setExpiry", seconds: 60, omitArgument: false });
    expect(stored).toMatchObject({ cookie: "set", cookieMaxAge: 60 });
    expect(stored.view).toMatchObject({ isEmpty: true, version: 1, expiryAge: 60 });
    expect(m.apply(0, { kind: "setExpiry", seconds: 0, omitArgument: false })).toMatchObject({
      cookieMaxAge: null,
    });
    expect(m.apply(0, { kind: "clear" })).toMatchObject({ cookie: "expired" });
  });

  test("expiry counts from the last save; a stale cookie is expired by the next request", () => {
    const m = model();
    m.apply(0, { kind: "set", key: "a", value: 1 });
    m.advance(200);
    m.apply(0, { kind: "set", key: "b", value: 2 });
    m.advance(299);
    expect(m.apply(0, { kind: "read" }).view).toMatchObject({ version: 2, expiryAge: 1 });
    m.advance(1);
    expect(m.apply(0, { kind: "read" })).toMatchObject({ cookie: "expired", view: { ref: undefined } });
  });

  test("cycling moves the data to a new key; the old cookie then reads nothing", () => {
    const m = model();
    m.apply(0, { kind: "set", key: "a", value: 1 });
    const old = m.jars[0] as number;
    const cycled = m.apply(0, { kind: "cycle" });
    expect(cycled.view).toMatchObject({ version: 2, isEmpty: false });
    expect(cycled.view?.ref).not.toBe(old);
    m.presentCookie(1, old);
    expect(m.apply(1, { kind: "read" })).toMatchObject({ cookie: "expired", view: { ref: undefined } });
  });

  test("an entry set with expiresIn lives while now < its end; the record stays, reading as empty", () => {
    const m = model();
    expect(m.apply(0, { kind: "set", key: "a", value: 1, expiresIn: 5 }).view).toMatchObject({
      version: 1,
      entryExpiresAtMs: new Map([["a", NOW + 5000]]),
      createdAtMs: NOW,
    });
    m.advance(4);
    expect(m.apply(0, { kind: "read" }).view?.data).toEqual(new Map([["a", 1]]));
    m.advance(1);
    const read = m.apply(0, { kind: "read" });
    expect(read).toMatchObject({ cookie: "untouched", view: { ref: 1, isEmpty: true, version: 1 } });
    expect(read.view?.entryExpiresAtMs.size).toBe(0);
    // Its own expiry is unaffected: the record ends 300 s after its save.
    expect(read.view?.expiresAtMs).toBe(NOW + 300_000);
    expect(m.apply(0, { kind: "pop", key: "a", default: undefined })).toMatchObject({
      lookup: { found: false, value: null },
      savedChange: false,
    });
  });

  test("setting a key again without expiresIn removes its expiry; cycling keeps it", () => {
    const m = model();
    m.apply(0, { kind: "set", key: "a", value: 1, expiresIn: 5 });
    m.apply(0, { kind: "set", key: "b", value: 2, expiresIn: 60 });
    m.apply(0, { kind: "set", key: "a", value: 3 });
    const cycled = m.apply(0, { kind: "cycle" }).view;
    expect(cycled?.entryExpiresAtMs).toEqual(new Map([["b", NOW + 60_000]]));
    expect(cycled?.createdAtMs).toBe(NOW);
    m.advance(60);
    expect(m.apply(0, { kind: "read" }).view?.data).toEqual(new Map([["a", 3]]));
  });

  test("setSessionDefault stores an absent key and leaves a present one alone", () => {
    const m = model();
    expect(m.apply(0, { kind: "setDefault", key: "a", value: 1 })).toMatchObject({
      lookup: { found: false, value: 1 },
      savedChange: true,
      cookie: "set",
    });
    expect(m.apply(0, { kind: "setDefault", key: "a", value: 2 })).toMatchObject({
      lookup: { found: true, value: 1 },
      savedChange: false,
      cookie: "untouched",
      view: { version: 1 },
    });
  });

  test("ifVersion: the current version applies, any other is a conflict that changes nothing", () => {
    const m = model();
    expect(m.apply(0, { kind: "set", key: "a", value: 1, ifVersion: "zero" })).toMatchObject({
      ifVersion: 0,
      view: { version: 1 },
    });
    const conflict = m.apply(0, { kind: "set", key: "a", value: 2, ifVersion: "previous" });
    expect(conflict).toMatchObject({
      ifVersion: 0,
      error: { code: "VERSION_CONFLICT", version: 1 },
      cookie: "untouched",
    });
    expect(m.apply(0, { kind: "flush", ifVersion: "next" })).toMatchObject({ ifVersion: 2 });
    expect(m.apply(0, { kind: "read" }).view).toMatchObject({ version: 1, data: new Map([["a", 1]]) });
    expect(m.decides(0, [{ kind: "clear", ifVersion: "zero" }])).toBe(true);
    expect(m.decides(0, [{ kind: "set", key: "", value: 1, ifVersion: "zero" }])).toBe(false);
  });

  test("a fixed end does not move with later saves; no seconds and no at go back to the default policy", () => {
    const m = model();
    m.apply(0, { kind: "set", key: "a", value: 1 });
    expect(m.apply(0, { kind: "setExpiryAt", inSeconds: 1000 })).toMatchObject({
      cookieMaxAge: 1000,
      view: { expiresAtMs: NOW + 1_000_000, expiryAge: 1000, expireAtBrowserClose: false },
    });
    m.advance(100);
    expect(m.apply(0, { kind: "set", key: "b", value: 2 })).toMatchObject({
      cookieMaxAge: 900,
      view: { expiresAtMs: NOW + 1_000_000 },
    });
    expect(m.apply(0, { kind: "setExpiry", seconds: null, omitArgument: true }).view).toMatchObject({
      version: 4,
      expiresAtMs: NOW + 400_000,
    });
  });

  test("with an absolute age, a session ends that long after createdAt however active", () => {
    const m = new SessionModel({ ...CONFIG, absoluteAgeSeconds: 500 }, NOW, 1);
    m.apply(0, { kind: "set", key: "a", value: 1 });
    m.advance(250);
    expect(m.apply(0, { kind: "set", key: "a", value: 2 }).view).toMatchObject({
      expiresAtMs: NOW + 500_000,
      expiryAge: 250,
      createdAtMs: NOW,
    });
    m.advance(250);
    expect(m.apply(0, { kind: "read" })).toMatchObject({ cookie: "expired", view: { ref: undefined } });
    // A session stored again is a new one.
    expect(m.apply(0, { kind: "set", key: "a", value: 3 }).view).toMatchObject({
      createdAtMs: NOW + 500_000,
      version: 1,
    });
  });

  test("a login cycles the key and keeps an anonymous visitor's data; a fresh one stores a session with no data", () => {
    const m = model();
    m.apply(0, { kind: "set", key: "a", value: 1 });
    const anonymous = m.jars[0] as number;
    const login = m.login(0, "u1", "phone");
    expect(login).toMatchObject({ cookie: "set", cookieMaxAge: 300, userId: null });
    expect(login.answer).not.toBe(anonymous);
    expect(m.apply(0, { kind: "read" }).view).toMatchObject({ version: 2, data: new Map([["a", 1]]) });
    m.presentCookie(1, anonymous);
    expect(m.apply(1, { kind: "read" })).toMatchObject({ cookie: "expired", view: { ref: undefined } });
    expect(m.login(1, "u2", undefined)).toMatchObject({ cookie: "set" });
    expect(m.apply(1, { kind: "read" }).view).toMatchObject({ version: 1, isEmpty: true, createdAtMs: NOW });
  });

  test("a login as another user flushes the session and starts a new one; as the same user it keeps it", () => {
    const m = model();
    m.login(0, "u1", undefined);
    m.advance(10);
    m.apply(0, { kind: "set", key: "a", value: 1 });
    m.apply(0, { kind: "setExpiry", seconds: 60, omitArgument: false });
    expect(m.login(0, "u1", undefined)).toMatchObject({ cookieMaxAge: 60, userId: "u1" });
    expect(m.login(0, "u2", undefined)).toMatchObject({ cookieMaxAge: 300, userId: "u1" });
    // A new session: its version starts again and its createdAt is the second login's.
    expect(m.apply(0, { kind: "read" }).view).toMatchObject({
      version: 1,
      isEmpty: true,
      createdAtMs: NOW + 10_000,
    });
    expect(m.liveSession(0)?.userId).toBe("u2");
  });

  test("clearing a session logs it out; popping its last entry keeps it, logged in", () => {
    const m = model();
    m.apply(0, { kind: "set", key: "a", value: 1 });
    m.login(0, "u1", undefined);
    expect(m.apply(0, { kind: "pop", key: "a", default: undefined })).toMatchObject({ cookie: "set" });
    expect(m.mySessions(0).answer).toHaveLength(1);
    expect(m.apply(0, { kind: "clear" })).toMatchObject({ cookie: "expired" });
    expect(m.mySessions(0)).toMatchObject({ answer: [], userId: null });
  });

  test("mySessions lists the user's live sessions newest first; revokes end them, one's own as a logout", () => {
    const m = new SessionModel(CONFIG, NOW, 4);
    m.login(0, "u1", "laptop");
    m.advance(1);
    m.login(1, "u1", "x".repeat(300));
    m.login(2, "u2", undefined);
    m.advance(1);
    m.login(3, "u1", undefined);
    const listed = m.mySessions(1).answer;
    expect(listed.map((session) => [session.ref, session.current])).toEqual([
      [m.jars[3], false],
      [m.jars[1], true],
      [m.jars[0], false],
    ]);
    expect(listed[1]).toMatchObject({ createdAtMs: NOW + 1000, expiresAtMs: NOW + 301_000 });
    expect(listed[1]?.userAgent).toHaveLength(256);
    expect(m.revokeSession(1, m.jars[2] as number).answer).toBe(false);
    expect(m.revokeSession(1, m.jars[0] as number)).toMatchObject({ answer: true, cookie: "untouched" });
    expect(m.apply(0, { kind: "read" })).toMatchObject({ cookie: "expired" });
    expect(m.revokeOtherSessions(3).answer).toBe(1);
    expect(m.revokeSession(3, m.jars[3] as number)).toMatchObject({ answer: true, cookie: "expired" });
    expect(m.mySessions(2).answer.map((session) => session.ref)).toEqual([m.jars[2]]);
  });

  test("not logged in, mySessions is empty and the revokes end nothing", () => {
    const m = model();
    m.login(0, "u1", undefined);
    m.apply(1, { kind: "set", key: "a", value: 1 });
    expect(m.mySessions(1)).toMatchObject({ answer: [], userId: null, cookie: "untouched" });
    expect(m.revokeSession(1, m.jars[0] as number).answer).toBe(false);
    expect(m.revokeOtherSessions(1).answer).toBe(0);
    expect(m.revokeSession(1, "overlong")).toMatchObject({
      error: { code: "BAD_USER_INPUT" },
      touched: false,
    });
    expect(m.mySessions(0).answer).toHaveLength(1);
  });
});
