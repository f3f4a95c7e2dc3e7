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
      if (previous && !(await settlesBefore(previous, deadlineMs - now()))) {
        throw onTimeout();
      }
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

/** Whether `promise` settles within `timeoutMs`. */
async function settlesBefore(promise: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
  });
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}
