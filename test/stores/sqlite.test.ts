import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { newSessionKey } from "../../src/session/keys";
import type { SessionRecord, SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { createSqliteStore } from "../../src/stores/sqlite";
import { ManualClock } from "../helpers/clock";
import { describeSessionStore } from "./contract";

let tmp: string;
let files = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "sessionql-sqlite-store-"));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A path no other store has used, so every store starts from an empty file. */
function freshFile(): string {
  files += 1;
  return join(tmp, `store-${files}.sqlite`);
}

describeSessionStore("sqlite", (clock) => createSqliteStore(freshFile(), clock), { answersLostChecks: true });

const opened: SessionStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

function track<T extends SessionStore>(store: T): T {
  opened.push(store);
  return store;
}

function recordOf(clock: ManualClock, data: Record<string, unknown>, version: number): SessionRecord {
  return { data, expiresAtMs: clock.now() + 600_000, version };
}

describe("when two store instances share one file", () => {
  test("of two saves expecting the same version exactly one wins", async () => {
    const clock = new ManualClock();
    const file = freshFile();
    const first = track(createSqliteStore(file, clock));
    const second = track(createSqliteStore(file, clock));
    const sessionKey = newSessionKey();
    await first.save(sessionKey, recordOf(clock, { n: 0 }, 1), undefined);

    const [seenByFirst, seenBySecond] = await Promise.all([first.load(sessionKey), second.load(sessionKey)]);
    expect(seenByFirst?.version).toBe(1);
    expect(seenBySecond?.version).toBe(1);
    const outcomes = await Promise.all([
      first.save(sessionKey, recordOf(clock, { n: 1, by: "first" }, 2), 1),
      second.save(sessionKey, recordOf(clock, { n: 1, by: "second" }, 2), 1),
    ]);

    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes[0] ? "first" : "second";
    await expect(first.load(sessionKey)).resolves.toMatchObject({ version: 2, data: { by: winner } });
    await expect(second.load(sessionKey)).resolves.toMatchObject({ version: 2, data: { by: winner } });
  });

  test("of two creates of the same key exactly one wins", async () => {
    const clock = new ManualClock();
    const file = freshFile();
    const first = track(createSqliteStore(file, clock));
    const second = track(createSqliteStore(file, clock));
    const sessionKey = newSessionKey();
    const outcomes = await Promise.all([
      first.save(sessionKey, recordOf(clock, { by: "first" }, 1), undefined),
      second.save(sessionKey, recordOf(clock, { by: "second" }, 1), undefined),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  });

  test("a delete through one is seen by the other", async () => {
    const clock = new ManualClock();
    const file = freshFile();
    const first = track(createSqliteStore(file, clock));
    const second = track(createSqliteStore(file, clock));
    const sessionKey = newSessionKey();
    await first.save(sessionKey, recordOf(clock, { a: 1 }, 1), undefined);
    await expect(second.delete(sessionKey, 1)).resolves.toBe(true);
    await expect(first.load(sessionKey)).resolves.toBeUndefined();
  });
});

describe("createStore with a sqlite:// URL", () => {
  test("a relative path opens that file under the working directory", async () => {
    const clock = new ManualClock();
    const file = freshFile();
    const store = track(createStore(`sqlite://${relative(process.cwd(), file)}`, clock));
    const sessionKey = newSessionKey();
    await store.save(sessionKey, recordOf(clock, { via: "relative" }, 1), undefined);
    expect(existsSync(file)).toBe(true);
    const direct = track(createSqliteStore(file, clock));
    await expect(direct.load(sessionKey)).resolves.toMatchObject({ data: { via: "relative" } });
  });

  test("an absolute path opens that file", async () => {
    const clock = new ManualClock();
    const file = freshFile();
    const store = track(createStore(`sqlite://${file}`, clock));
    const sessionKey = newSessionKey();
    await store.save(sessionKey, recordOf(clock, { via: "absolute" }, 1), undefined);
    expect(existsSync(file)).toBe(true);
    const direct = track(createSqliteStore(file, clock));
    await expect(direct.load(sessionKey)).resolves.toMatchObject({ data: { via: "absolute" } });
  });

  test("a missing directory is created", async () => {
    const clock = new ManualClock();
    const file = join(tmp, "nested", "deeper", "sessions.sqlite");
    const store = track(createStore(`sqlite://${file}`, clock));
    await store.save(newSessionKey(), recordOf(clock, { a: 1 }, 1), undefined);
    expect(existsSync(file)).toBe(true);
  });
});

describe("createStore with an unknown scheme", () => {
  test("it refuses with a message naming the scheme and the supported ones", () => {
    expect(() => createStore("mongodb://localhost/sessions")).toThrow(
      /unsupported session store scheme "mongodb:".*memory:.*sqlite:/,
    );
  });

  test("a URL without a scheme is refused too", () => {
    expect(() => createStore("sessions.sqlite")).toThrow(/unsupported session store scheme/);
  });
});
