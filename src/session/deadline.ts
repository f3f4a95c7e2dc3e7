/** Real elapsed time in ms; deadlines use it rather than the injected session clock, which tests move at will. */
export function monotonicNow(): number {
  return performance.now();
}

/** Settles like `promise`, or rejects with `onTimeout()` once `timeoutMs` has passed first. */
export async function raceTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.max(0, timeoutMs));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
