import { raceTimeout } from "./deadline";

/**
 * Runs tasks one at a time per key, in arrival order.
 *
 * A session's read-modify-write must not interleave with another on the same instance, or two requests that
 * each add a key would both save a copy missing the other's key. A promise chain per key is all that takes;
 * a library would add a dependency for twenty lines.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Runs `task` once every earlier task on `key` has settled. When the turn has not come by `deadlineMs`
   * (a clock reading), `onTimeout()` is thrown instead and `task` never runs.
   */
  async run<T>(
    key: string | undefined,
    deadlineMs: number,
    now: () => number,
    onTimeout: () => Error,
    task: () => Promise<T>,
  ): Promise<T> {
    if (key === undefined) return task();
    const previous = this.tails.get(key);
    let release = () => {};
    const turn = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous ? previous.then(() => turn) : turn;
    this.tails.set(key, tail);
    try {
      if (previous) await raceTimeout(previous, deadlineMs - now(), onTimeout);
      return await task();
    } finally {
      // Hand over only after the previous holder is done, even when this waiter gave up early.
      if (previous) void previous.then(release);
      else release();
      void tail.then(() => {
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
    }
  }
}
