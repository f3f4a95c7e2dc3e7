import { newSessionKey } from "../../src/session/keys";
import type { SessionStore } from "../../src/session/store";
import { ManualClock } from "../helpers/clock";

/**
 * What instances of a deployment rely on: two store objects on one backend (one Redis, one database), where the
 * version check must be the engine's, not either process's. `open` gives a new store on that shared backend.
 */
export function describeStoresSharingOneBackend(
  backend: string,
  open: (clock: ManualClock) => SessionStore,
): void {
  describe(`when two stores share ${backend}`, () => {
    const opened: SessionStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    function pair(clock: ManualClock): readonly [SessionStore, SessionStore] {
      const stores = [open(clock), open(clock)] as const;
      opened.push(...stores);
      return stores;
    }

    test("of many saves expecting the same version exactly one wins", async () => {
      const clock = new ManualClock();
      const stores = pair(clock);
      const sessionKey = newSessionKey();
      await stores[0].save(
        sessionKey,
        { data: {}, expiresAtMs: clock.now() + 60_000, version: 1 },
        undefined,
      );
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          stores[i % 2 === 0 ? 0 : 1].save(
            sessionKey,
            { data: { by: i }, expiresAtMs: clock.now() + 60_000, version: 2 },
            1,
          ),
        ),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const winner = outcomes.indexOf(true);
      await expect(stores[1].load(sessionKey)).resolves.toMatchObject({ version: 2, data: { by: winner } });
    });

    test("of concurrent creates of one key exactly one wins", async () => {
      const clock = new ManualClock();
      const stores = pair(clock);
      const sessionKey = newSessionKey();
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          stores[i % 2 === 0 ? 0 : 1].save(
            sessionKey,
            { data: { by: i }, expiresAtMs: clock.now() + 60_000, version: 1 },
            undefined,
          ),
        ),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
    });
  });
}
