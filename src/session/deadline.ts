/** Real elapsed time in ms; deadlines use it rather than the injected session clock, which tests move at will. */
export function monotonicNow(): number {
  return performance.now();
}

/**
 * Settles like `promise`, or rejects with `onTimeout()` once `timeoutMs` has passed first. One promise and one
 * timer per call, rather than a second promise and a `Promise.race`: every store call of every request goes
 * through here.
 */
export function raceTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.max(0, timeoutMs));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
