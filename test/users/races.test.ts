import { ManualClock } from "../helpers/clock";
import { CookieJar } from "../helpers/cookies";
import { createThrowawayDatabase } from "../helpers/postgres";
import { startRedisCluster, startRedisServer } from "../helpers/redis";
import { describeWithService, startBeforeAll } from "../helpers/services";
import { logIn, sessionId, startUsersApp, type UsersApp } from "./users-app";

/** How many times each race runs per store; RACE_RUNS raises it for a longer hunt. */
const RUNS = Number(process.env.RACE_RUNS ?? 20);

/**
 * The races of a user index, each run many times with two instances over one store: whatever the interleaving,
 * every live session of the user is listed (so a revoke can reach it), and an ended session never comes back.
 */
function describeRaces(storeUrl: () => string): void {
  let apps: UsersApp[] = [];
  // A user of its own for every run of every race, so no run sees another's sessions in the shared store.
  let serial = 0;
  let name = "";
  const user = () => name;
  const nextRun = () => {
    name = `racer-${++serial}`;
  };

  async function instances(options: Parameters<typeof startUsersApp>[1] = {}): Promise<[UsersApp, UsersApp]> {
    const clock = new ManualClock();
    const started = [
      await startUsersApp(storeUrl(), { clock, ...options }),
      await startUsersApp(storeUrl(), { clock, ...options }),
    ] as [UsersApp, UsersApp];
    apps.push(...started);
    return started;
  }

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.stop();
    apps = [];
  });

  /** The ids of the sessions behind `jars` that are live and logged in as the run's user. */
  async function liveIds(app: UsersApp, jars: CookieJar[]): Promise<string[]> {
    const ids: string[] = [];
    for (const jar of jars) {
      const { data } = await app
        .client(jar)
        .request<{ me: string | null; session: { id: string | null } }>("{ me session { id } }");
      if (data?.me === user() && data.session.id !== null) ids.push(data.session.id);
    }
    return ids.sort();
  }

  async function listedIds(app: UsersApp): Promise<string[]> {
    return (await app.sessions.userSessions(user())).map((session) => session.id).sort();
  }

  test(`a login racing a revoke: every session it leaves live is listed (${RUNS} runs)`, async () => {
    const [a, b] = await instances();
    for (let run = 0; run < RUNS; run++) {
      nextRun();
      const [old, fresh] = [new CookieJar(), new CookieJar()];
      await logIn(a.client(old), user());
      const [, ended] = await Promise.all([
        logIn(a.client(fresh), user()),
        b.sessions.revokeUserSessions(user()),
      ]);
      expect(ended).toBeGreaterThanOrEqual(1);
      expect(await sessionId(b.client(old))).toBeNull();
      expect(await listedIds(b)).toEqual(await liveIds(a, [old, fresh]));
    }
  });

  test(`logins racing past maxSessionsPerUser leave the cap's number of sessions, all listed (${RUNS} runs)`, async () => {
    const [a, b] = await instances({ maxSessionsPerUser: 2 });
    for (let run = 0; run < RUNS; run++) {
      nextRun();
      const jars = [new CookieJar(), new CookieJar(), new CookieJar(), new CookieJar()];
      await logIn(a.client(jars[0]), user());
      await Promise.all(jars.slice(1).map((jar, i) => logIn((i % 2 === 0 ? a : b).client(jar), user())));
      const live = await liveIds(a, jars);
      expect(live).toHaveLength(2);
      expect(await listedIds(b)).toEqual(live);
    }
  });

  test(`a write racing a revoke never brings the session back (${RUNS} runs)`, async () => {
    const [a, b] = await instances();
    for (let run = 0; run < RUNS; run++) {
      nextRun();
      const jar = new CookieJar();
      await logIn(a.client(jar), user());
      await a.client(jar).request('mutation { note(text: "before") }');
      const before = jar.get() as string;
      const [write] = await Promise.all([
        a
          .client(jar)
          .request<{ setSession: { id: string } }>('mutation { setSession(key: "n", value: 1) { id } }'),
        b.sessions.revokeUserSessions(user()),
      ]);
      const code = write.errors?.[0]?.extensions?.code;
      if (write.errors !== undefined) expect(code).toBe("SESSION_INTERRUPTED");
      const stale = new CookieJar();
      stale.set("sessionid", before);
      expect(await sessionId(b.client(stale))).toBeNull();
      // Whatever the write answered, what the visitor holds now is not the ended session.
      const { data } = await b
        .client(jar)
        .request<{ me: string | null; session: { data: object } }>("{ me session { data } }");
      expect(data?.me).toBeNull();
      expect(data?.session.data).not.toHaveProperty("note");
      expect(await listedIds(a)).toEqual([]);
    }
  });

  test(`a key cycle racing listings: always listed under its old or its new id (${RUNS} runs)`, async () => {
    const [a, b] = await instances();
    for (let run = 0; run < RUNS; run++) {
      nextRun();
      const jar = new CookieJar();
      const oldId = await logIn(a.client(jar), user());
      const listings: Promise<string[]>[] = [];
      const cycling = a
        .client(jar)
        .request<{ cycleSessionKey: { id: string } }>("mutation { cycleSessionKey { id } }");
      for (let i = 0; i < 4; i++) listings.push(listedIds(b));
      const [cycled, ...seen] = await Promise.all([cycling, ...listings]);
      const newId = cycled.data?.cycleSessionKey.id as string;
      expect(newId).not.toBe(oldId);
      for (const ids of seen) expect(ids.includes(oldId) || ids.includes(newId)).toBe(true);
      expect(await listedIds(b)).toEqual([newId]);
    }
  });
}

describeWithService("redis", "users and devices under races on Redis (two instances)", () => {
  const server = startBeforeAll(startRedisServer, (server) => server.stop());
  describeRaces(() => server().url);
});

// On a cluster a user's index and the sessions it names sit on different nodes, so no write keeps them in step.
describeWithService(
  "redis-cluster",
  "users and devices under races on a Redis Cluster (two instances)",
  () => {
    const cluster = startBeforeAll(startRedisCluster, (cluster) => cluster.stop(), 60_000);
    describeRaces(() => cluster().url);
  },
);

describeWithService("postgres", "users and devices under races on PostgreSQL (two instances)", () => {
  const database = startBeforeAll(createThrowawayDatabase, (database) => database.drop());
  describeRaces(() => database().url);
});
