import type { SessionService } from "../../src/session/service";
import type { Session } from "../../src/session/session";
import { createMemoryStore } from "../../src/stores/memory";
import { ManualClock } from "../helpers/clock";
import { AGE, START_MS, setUp } from "./service-fixture";

describe("loading", () => {
  test("a request that never touches the session never reaches the store", async () => {
    const { service, calls, storeSession, request, resetCalls } = setUp();
    const sessionKey = await storeSession({ a: 1 });
    resetCalls();
    const session = request(sessionKey);
    expect(await service.finish(session)).toBe(false);
    expect(calls).toEqual({ load: 0, save: 0, delete: 0 });
  });

  test("reading a session costs one load, however often it is read", async () => {
    const { service, calls, storeSession, request, resetCalls } = setUp();
    const sessionKey = await storeSession({ a: 1 });
    resetCalls();
    const session = request(sessionKey);
    await service.read(session);
    await service.read(session);
    await service.change(session, (draft) => draft.get("a"));
    expect(session.get("a")).toBe(1);
    expect(calls).toEqual({ load: 1, save: 0, delete: 0 });
  });

  test("a session without a cookie is read without reaching the store", async () => {
    const { service, calls } = setUp();
    const session = await service.read(service.open(undefined, false));
    expect(session.isEmpty()).toBe(true);
    expect(calls.load).toBe(0);
  });

  test("reading marks the session accessed, not modified", async () => {
    const { service, storeSession, request } = setUp();
    const session = request(await storeSession({ a: 1 }));
    expect(session.accessed).toBe(false);
    await service.read(session);
    expect(session.accessed).toBe(true);
    expect(session.modified).toBe(false);
  });

  test("an unknown key reads as no session and creates no record", async () => {
    const { service, calls, request } = setUp();
    const session = await service.read(request("u".repeat(32)));
    expect(session.isEmpty()).toBe(true);
    expect(session.sessionKey).toBeUndefined();
    expect(session.version).toBe(0);
    expect(service.publicId(session)).toBeNull();
    expect(calls.save).toBe(0);
  });

  test("a save after an unknown key issues a fresh session key", async () => {
    const { service, store, request } = setUp();
    const session = request("u".repeat(32));
    await service.change(session, (draft) => draft.set("a", 1));
    expect(session.sessionKey).toBeDefined();
    expect(session.sessionKey).not.toBe("u".repeat(32));
    expect(await store.load("u".repeat(32))).toBeUndefined();
  });
});

describe("expiry", () => {
  test("a record is live until its age has passed, and not adopted after", async () => {
    const { clock, storeSession, readAgain } = setUp();
    const sessionKey = await storeSession({ a: 1 });
    clock.advance(AGE - 1);
    expect((await readAgain(sessionKey)).items()).toEqual({ a: 1 });
    clock.advance(1);
    const expired = await readAgain(sessionKey);
    expect(expired.isEmpty()).toBe(true);
    expect(expired.sessionKey).toBeUndefined();
  });

  test("is enforced by the service even when the store still returns the record", async () => {
    // The store's own clock stands still, so only the service can notice that the age has passed.
    const { clock, store, storeSession, readAgain } = setUp({
      store: createMemoryStore(new ManualClock(START_MS)),
    });
    const sessionKey = await storeSession({ a: 1 });
    clock.advance(AGE);
    expect(await store.load(sessionKey)).toBeDefined();
    expect((await readAgain(sessionKey)).isEmpty()).toBe(true);
  });

  test("counts from the last save", async () => {
    const { clock, service, storeSession, request, readAgain } = setUp();
    const sessionKey = await storeSession({ a: 1 });
    clock.advance(60);
    await service.change(request(sessionKey), (draft) => draft.set("b", 2));
    clock.advance(AGE - 1);
    expect((await readAgain(sessionKey)).items()).toEqual({ a: 1, b: 2 });
    clock.advance(1);
    expect((await readAgain(sessionKey)).isEmpty()).toBe(true);
  });

  test("reads do not extend it", async () => {
    const { clock, service, storeSession, request, readAgain } = setUp();
    const sessionKey = await storeSession({ a: 1 });
    clock.advance(60);
    const session = await service.read(request(sessionKey));
    expect(await service.finish(session)).toBe(false);
    clock.advance(AGE - 60);
    expect((await readAgain(sessionKey)).isEmpty()).toBe(true);
  });

  test("a loaded session reports the time left since its last save", async () => {
    const { clock, storeSession, readAgain } = setUp();
    const savedAt = clock.now();
    const sessionKey = await storeSession({ a: 1 });
    clock.advance(30);
    const session = await readAgain(sessionKey);
    expect(session.getExpiryAge()).toBe(AGE - 30);
    expect(session.getExpiryDate().getTime()).toBe(savedAt + AGE * 1000);
  });
});

describe("with saveEveryRequest", () => {
  test("a read re-saves the session, restarting its expiry without changing its version", async () => {
    const { clock, service, store, storeSession, request, readAgain } = setUp({ saveEveryRequest: true });
    const sessionKey = await storeSession({ a: 1 });
    clock.advance(60);
    const session = await service.read(request(sessionKey));
    expect(await service.finish(session)).toBe(true);
    expect(await store.load(sessionKey)).toMatchObject({ version: 1, expiresAtMs: clock.now() + AGE * 1000 });
    clock.advance(AGE - 1);
    expect(await readAgain(sessionKey)).toMatchObject({ version: 1 });
    expect((await readAgain(sessionKey)).items()).toEqual({ a: 1 });
  });

  test("a request that never touched the session saves nothing", async () => {
    const { service, calls, storeSession, request, resetCalls } = setUp({ saveEveryRequest: true });
    const sessionKey = await storeSession({ a: 1 });
    resetCalls();
    expect(await service.finish(request(sessionKey))).toBe(false);
    expect(calls).toEqual({ load: 0, save: 0, delete: 0 });
  });

  test("a request that saved a change is not saved a second time", async () => {
    const { service, calls, storeSession, request, resetCalls } = setUp({ saveEveryRequest: true });
    const session = request(await storeSession({ a: 1 }));
    await service.change(session, (draft) => draft.set("b", 2));
    resetCalls();
    expect(await service.finish(session)).toBe(false);
    expect(calls.save).toBe(0);
    expect(session.version).toBe(2);
  });

  test("a visitor without a session still gets no record", async () => {
    const { service, calls } = setUp({ saveEveryRequest: true });
    const session = await service.read(service.open(undefined, false));
    expect(await service.finish(session)).toBe(false);
    expect(calls.save).toBe(0);
  });
});

describe("version", () => {
  const changes: Array<[string, (service: SessionService, session: Session) => Promise<unknown>]> = [
    ["set", (service, session) => service.change(session, (draft) => draft.set("c", 3))],
    [
      "update of several keys",
      (service, session) => service.change(session, (draft) => draft.update({ c: 3, d: 4, e: 5 })),
    ],
    ["setExpiry", (service, session) => service.change(session, (draft) => draft.setExpiry(50))],
    ["pop of a present key", (service, session) => service.change(session, (draft) => draft.pop("a"))],
    ["cycleKey", (service, session) => service.cycleKey(session)],
  ];

  test.each(changes)("rises by exactly one for %s, in the session and the store", async (_name, apply) => {
    const { service, store, storeSession, request } = setUp();
    const session = request(await storeSession({ a: 1, b: 2 }));
    await apply(service, session);
    expect(session.version).toBe(2);
    expect(await store.load(session.sessionKey as string)).toMatchObject({ version: 2 });
  });

  test("is 1 after the first save of a new session", async () => {
    const { service } = setUp();
    const session = service.open(undefined, false);
    expect(session.version).toBe(0);
    await service.change(session, (draft) => draft.update({ a: 1, b: 2 }));
    expect(session.version).toBe(1);
  });

  test("stays for reads and for a pop of an absent key, which save nothing", async () => {
    const { service, store, calls, storeSession, request, resetCalls } = setUp();
    const sessionKey = await storeSession({ a: 1 });
    resetCalls();
    const session = request(sessionKey);
    await service.read(session);
    const popped = await service.change(session, (draft) => draft.pop("absent", "fallback"));
    expect(popped).toEqual({ found: false, value: "fallback" });
    expect(session.version).toBe(1);
    expect(calls.save + calls.delete).toBe(0);
    expect(await store.load(sessionKey)).toMatchObject({ version: 1 });
  });
});

describe("when a session becomes empty", () => {
  test("clearing a stored session deletes its record", async () => {
    const { service, store, storeSession, request } = setUp();
    const sessionKey = await storeSession({ a: 1, b: 2 });
    const session = request(sessionKey);
    await service.change(session, (draft) => draft.clear());
    expect(await store.load(sessionKey)).toBeUndefined();
    expect(session.sessionKey).toBeUndefined();
    expect(session.version).toBe(0);
  });

  test("popping its last key deletes its record", async () => {
    const { service, store, storeSession, request } = setUp();
    const sessionKey = await storeSession({ a: 1 });
    await service.change(request(sessionKey), (draft) => draft.pop("a"));
    expect(await store.load(sessionKey)).toBeUndefined();
  });

  test("a session without a record stays without one", async () => {
    const { service, calls } = setUp();
    const session = service.open(undefined, false);
    await service.change(session, (draft) => draft.clear());
    expect(session.sessionKey).toBeUndefined();
    expect(calls.save).toBe(0);
  });
});

describe("a session with only a custom expiry", () => {
  test("is stored, stays empty and keeps its expiry", async () => {
    const { service, store, readAgain } = setUp();
    const session = service.open(undefined, false);
    await service.change(session, (draft) => draft.setExpiry(600));
    const sessionKey = session.sessionKey as string;
    expect(await store.load(sessionKey)).toMatchObject({ data: {}, expirySeconds: 600, version: 1 });
    const again = await readAgain(sessionKey);
    expect(again.isEmpty()).toBe(true);
    expect(again.keys()).toEqual([]);
    expect(again.getExpiryAge()).toBe(600);
  });

  test("ending with the browser is stored too", async () => {
    const { service, readAgain } = setUp();
    const session = service.open(undefined, false);
    await service.change(session, (draft) => draft.setExpiry(0));
    expect((await readAgain(session.sessionKey as string)).getExpireAtBrowserClose()).toBe(true);
  });

  test("going back to the default expiry deletes its record", async () => {
    const { service, store } = setUp();
    const session = service.open(undefined, false);
    await service.change(session, (draft) => draft.setExpiry(600));
    const sessionKey = session.sessionKey as string;
    await service.change(session, (draft) => draft.setExpiry(null));
    expect(await store.load(sessionKey)).toBeUndefined();
  });
});

describe("cycleKey", () => {
  test("keeps the data under a new key, and the old key loads nothing", async () => {
    const { service, store, storeSession, request, readAgain } = setUp();
    const oldKey = await storeSession({ user: 7 });
    const session = request(oldKey);
    const oldId = service.publicId(await service.read(session));
    await service.cycleKey(session);
    const newKey = session.sessionKey as string;
    expect(newKey).not.toBe(oldKey);
    expect(service.publicId(session)).not.toBe(oldId);
    expect((await readAgain(newKey)).items()).toEqual({ user: 7 });
    expect(await store.load(oldKey)).toBeUndefined();
    expect((await readAgain(oldKey)).isEmpty()).toBe(true);
  });

  test("of a session that was never stored stores nothing", async () => {
    const { service, calls } = setUp();
    const session = service.open(undefined, false);
    await service.cycleKey(session);
    expect(session.sessionKey).toBeUndefined();
    expect(calls.save).toBe(0);
  });
});

describe("flush", () => {
  test("deletes the record without loading it, and the old key reads nothing", async () => {
    const { service, store, calls, storeSession, request, readAgain, resetCalls } = setUp();
    const sessionKey = await storeSession({ a: 1 });
    resetCalls();
    const session = request(sessionKey);
    await service.flush(session);
    expect(calls).toEqual({ load: 0, save: 0, delete: 1 });
    expect(session.isEmpty()).toBe(true);
    expect(session.sessionKey).toBeUndefined();
    expect(session.version).toBe(0);
    expect(await store.load(sessionKey)).toBeUndefined();
    expect((await readAgain(sessionKey)).isEmpty()).toBe(true);
  });
});
