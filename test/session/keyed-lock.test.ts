import { KeyedLock } from "../../src/session/keyed-lock";

class TurnTimeout extends Error {}

const now = () => performance.now();
const onTimeout = () => new TurnTimeout();
const FAR = () => now() + 10_000;

/** A promise with its resolver, so a test decides when a task ends. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Lets every pending callback and short timer run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe("tasks on one key", () => {
  test("run one at a time, in arrival order", async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let running = 0;
    const tasks = Array.from({ length: 5 }, (_, index) =>
      lock.run("session", FAR(), now, onTimeout, async () => {
        running++;
        expect(running).toBe(1);
        log.push(`start ${index}`);
        await settle();
        log.push(`end ${index}`);
        running--;
        return index;
      }),
    );
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4]);
    expect(log).toEqual([0, 1, 2, 3, 4].flatMap((index) => [`start ${index}`, `end ${index}`]));
  });

  test("the next one runs after a task that failed", async () => {
    const lock = new KeyedLock();
    const failing = lock.run("session", FAR(), now, onTimeout, async () => {
      throw new Error("task failed");
    });
    const next = lock.run("session", FAR(), now, onTimeout, async () => "ran");
    await expect(failing).rejects.toThrow("task failed");
    await expect(next).resolves.toBe("ran");
  });

  test("a waiter past its deadline gets the timeout error and its task never runs", async () => {
    const lock = new KeyedLock();
    const holder = deferred();
    const first = lock.run("session", FAR(), now, onTimeout, () => holder.promise);
    const late = jest.fn(async () => "late");
    const started = now();
    await expect(lock.run("session", now() + 50, now, onTimeout, late)).rejects.toBeInstanceOf(TurnTimeout);
    expect(now() - started).toBeLessThan(1000);
    expect(late).not.toHaveBeenCalled();
    holder.resolve();
    await first;
  });

  test("the waiter after one that gave up still waits for the running task", async () => {
    const lock = new KeyedLock();
    const holder = deferred();
    const log: string[] = [];
    const first = lock.run("session", FAR(), now, onTimeout, async () => {
      await holder.promise;
      log.push("first ends");
    });
    const impatient = lock.run("session", now() + 20, now, onTimeout, async () => log.push("impatient runs"));
    const patient = lock.run("session", FAR(), now, onTimeout, async () => log.push("patient runs"));

    await expect(impatient).rejects.toBeInstanceOf(TurnTimeout);
    await settle();
    expect(log).toEqual([]);

    holder.resolve();
    await Promise.all([first, patient]);
    expect(log).toEqual(["first ends", "patient runs"]);
  });

  test("a task with no waiting to do runs even when its deadline has passed", async () => {
    const lock = new KeyedLock();
    await expect(lock.run("session", now() - 1, now, onTimeout, async () => "ran")).resolves.toBe("ran");
  });
});

describe("tasks on different keys", () => {
  test("run concurrently", async () => {
    const lock = new KeyedLock();
    const a = deferred();
    const b = deferred();
    // Each task waits for the other to start: serialising them would leave both waiting until the deadline.
    const onA = lock.run("a", now() + 2000, now, onTimeout, async () => {
      a.resolve();
      await b.promise;
      return "a";
    });
    const onB = lock.run("b", now() + 2000, now, onTimeout, async () => {
      b.resolve();
      await a.promise;
      return "b";
    });
    expect(await Promise.all([onA, onB])).toEqual(["a", "b"]);
  });

  test("without a key run at once, never queued", async () => {
    const lock = new KeyedLock();
    const holder = deferred();
    const first = lock.run(undefined, FAR(), now, onTimeout, () => holder.promise);
    await expect(lock.run(undefined, now() + 20, now, onTimeout, async () => "ran")).resolves.toBe("ran");
    holder.resolve();
    await first;
  });
});
