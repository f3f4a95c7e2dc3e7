import { RateLimiterMemory } from "rate-limiter-flexible";

/** Answers whether a client address may create one more session now. */
export type CreationLimit = (clientAddress: string) => Promise<boolean>;

/**
 * Limits how many new sessions one client address creates per window, so a client that never keeps its cookie
 * cannot fill the store. Counted in this process's memory: N instances admit up to N times the rate in all,
 * which bounds a flood just the same without a store round trip on every new visitor. Undefined when off.
 */
export function createCreationLimit(rate: {
  limit: number;
  windowSeconds: number;
}): CreationLimit | undefined {
  if (rate.limit === 0) return undefined;
  const limiter = new RateLimiterMemory({ points: rate.limit, duration: rate.windowSeconds });
  return async (clientAddress) => {
    try {
      await limiter.consume(clientAddress);
      return true;
    } catch (rejection) {
      // The limiter rejects with its state when the address is over the limit, and with an Error on a fault.
      if (rejection instanceof Error) throw rejection;
      return false;
    }
  };
}
