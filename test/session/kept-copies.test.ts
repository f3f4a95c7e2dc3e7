import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionService } from "../../src/session/service";
import type { SessionStore } from "../../src/session/store";
import { createSqliteStore } from "../../src/stores/sqlite";
import { ManualClock } from "../helpers/clock";
import { AGE, LIMITS } from "./service-fixture";

// A store out of the process (here a SQLite file two services share, as two processes would) lets a service write
// the next change of a session it saved last from the copy it kept, with no read first. These are the cases where
// that copy is out of date: the version check refuses the save, and the change is applied to the stored record.

let dir: string;
const opened: SessionStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sessionql-kept-"));
});
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A service on this test's SQLite file, counting the loads that reach its store. */
function service(clock: ManualClock) {
  const inner = createSqliteStore(join(dir, "sessions.sqlite"), clock);
  opened.push(inner);
  const counts = { load: 0, save: 0 };
  const store: SessionStore = {
    outOfProcess: inner.outOfProcess,
    load: (key) => {
      counts.load++;
      return inner.load(key);
    },
    save: (key, record, expected) => {
      counts.save++;
      return inner.save(key, record, expected);
    },
    // SQLite sends back the record that won a lost check, so the service need not read it.
    saveOrRead: (key, record, expected) => {
      counts.save++;
      return inner.saveOrRead(key, record, expected);
    },
    delete: (key, expected) => inner.delete(key, expected),
    clearExpired: () => inner.clearExpired(),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  const sessions = new SessionService({
    store,
    policy: { cookieAgeSeconds: AGE, expireAtBrowserClose: false, saveEveryRequest: false },
    limits: LIMITS,
    idSecret: "id-secret",
    clock,
  });
  return { sessions, counts, request: (sessionKey: string) => sessions.open(sessionKey, true) };
}

async function created(on: ReturnType<typeof service>): Promise<string> {
  const session = on.sessions.open(undefined, false);
  await on.sessions.change(session, (draft) => draft.set("n", 0));
  return session.sessionKey as string;
}

describe("a service writing from the copy it kept of a session it saved last", () => {
  test("needs no read when nobody else wrote since", async () => {
    const clock = new ManualClock();
    const a = service(clock);
    const sessionKey = await created(a);
    a.counts.load = 0;
    a.counts.save = 0;
    await a.sessions.change(a.request(sessionKey), (draft) => draft.set("n", 1));
    expect(a.counts).toEqual({ load: 0, save: 1 });
  });

  test("applies the change to the other instance's newer record instead of losing it", async () => {
    const clock = new ManualClock();
    const [a, b] = [service(clock), service(clock)];
    const sessionKey = await created(a);
    await b.sessions.change(b.request(sessionKey), (draft) => draft.set("fromB", true));
    a.counts.load = 0;
    a.counts.save = 0;
    const onA = a.request(sessionKey);
    await a.sessions.change(onA, (draft) => draft.set("fromA", true));
    // The save from the stale copy is refused with the record that won, and the change saved on top of it.
    expect(a.counts).toEqual({ load: 0, save: 2 });
    expect(onA.version).toBe(3);
    const read = await b.sessions.read(b.request(sessionKey));
    expect(read.items()).toEqual({ n: 0, fromB: true, fromA: true });
  });

  test("after the other instance flushed the session, the change starts a new session and brings no old data back", async () => {
    const clock = new ManualClock();
    const [a, b] = [service(clock), service(clock)];
    const sessionKey = await created(a);
    await b.sessions.change(b.request(sessionKey), (draft) => draft.set("secret", "old"));
    await b.sessions.flush(b.request(sessionKey));
    const onA = a.request(sessionKey);
    await a.sessions.change(onA, (draft) => draft.set("fresh", true));
    expect(onA.sessionKey).not.toBe(sessionKey);
    expect(onA.items()).toEqual({ fresh: true });
    expect(await b.sessions.read(b.request(sessionKey)).then((session) => session.items())).toEqual({});
  });

  test("a value changed in place after it was read does not leak into the kept copy", async () => {
    const clock = new ManualClock();
    const a = service(clock);
    const first = a.sessions.open(undefined, false);
    await a.sessions.change(first, (draft) => draft.set("cart", [1]));
    const sessionKey = first.sessionKey as string;
    // A caller that changes a value it got, in place, without saving it.
    (first.get("cart") as number[]).push(99);
    const next = a.request(sessionKey);
    await a.sessions.change(next, (draft) => draft.set("other", true));
    expect(next.items()).toEqual({ cart: [1], other: true });
  });

  test("an ifVersion change reads the stored version rather than trusting the copy", async () => {
    const clock = new ManualClock();
    const [a, b] = [service(clock), service(clock)];
    const sessionKey = await created(a);
    await b.sessions.change(b.request(sessionKey), (draft) => draft.set("fromB", true));
    const onA = a.request(sessionKey);
    await a.sessions.change(onA, (draft) => draft.set("fromA", true), { ifVersion: 2 });
    expect(onA.version).toBe(3);
  });
});
