import { SessionService, type SessionServiceOptions } from "../../src/session/service";
import type { Session } from "../../src/session/session";
import type { SessionData, SessionStore } from "../../src/session/store";
import { createMemoryStore } from "../../src/stores/memory";
import { ManualClock } from "../helpers/clock";

/** The cookie age of every service here, short so tests can step past it. */
export const AGE = 100;
export const LIMITS = { maxKeyLength: 256, maxValueBytes: 65536, maxSessionBytes: 262144, maxDepth: 32 };
/** Where every ManualClock here starts, so stores and services built apart still agree on the time. */
export const START_MS = 1_700_000_000_000;

/** A real store that counts the calls reaching it, to prove what the service does not do. */
export function counting(inner: SessionStore) {
  const calls = { load: 0, save: 0, delete: 0 };
  const store: SessionStore = {
    load: (sessionKey) => {
      calls.load++;
      return inner.load(sessionKey);
    },
    save: (sessionKey, record, expected) => {
      calls.save++;
      return inner.save(sessionKey, record, expected);
    },
    delete: (sessionKey, expected) => {
      calls.delete++;
      return inner.delete(sessionKey, expected);
    },
    clearExpired: () => inner.clearExpired(),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return { store, calls };
}

export interface SetUpOptions {
  clock?: ManualClock;
  store?: SessionStore;
  saveEveryRequest?: boolean;
  storeTimeoutMs?: number;
}

/** A service over a real store (a fresh memory store unless given), with time that moves only when told. */
export function setUp(options: SetUpOptions = {}) {
  const clock = options.clock ?? new ManualClock(START_MS);
  const { store, calls } = counting(options.store ?? createMemoryStore(clock));
  const serviceOptions: SessionServiceOptions = {
    store,
    policy: {
      cookieAgeSeconds: AGE,
      expireAtBrowserClose: false,
      saveEveryRequest: !!options.saveEveryRequest,
    },
    limits: LIMITS,
    idSecret: "id-secret",
    clock,
    storeTimeoutMs: options.storeTimeoutMs ?? 1000,
  };
  const service = new SessionService(serviceOptions);
  /** Stores `data` as a new session would, and returns its key. */
  const storeSession = async (data: SessionData): Promise<string> => {
    const session = service.open(undefined, false);
    await service.change(session, (draft) => draft.update(data));
    return session.sessionKey as string;
  };
  /** A later request presenting the cookie of `sessionKey`. */
  const request = (sessionKey: string): Session => service.open(sessionKey, true);
  const readAgain = async (sessionKey: string) => service.read(request(sessionKey));
  const resetCalls = () => Object.assign(calls, { load: 0, save: 0, delete: 0 });
  return { clock, store, calls, service, storeSession, request, readAgain, resetCalls };
}
