import { Client } from "pg";
import { newSessionKey } from "../../src/session/keys";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { createPostgresStore } from "../../src/stores/postgres";
import { ManualClock } from "../helpers/clock";
import { createThrowawayDatabase } from "../helpers/postgres";
import { describeWithService, startBeforeAll } from "../helpers/services";
import { describeSessionStore } from "./contract";
import { describeStoresSharingOneBackend } from "./shared-backend";

describeWithService("postgres", "PostgreSQL", () => {
  const database = startBeforeAll(createThrowawayDatabase, (database) => database.drop());

  // A table per store, as the SQLite suite uses a file per store, so no case sees another's records.
  let tables = 0;
  describeSessionStore(
    "postgres",
    (clock) => createPostgresStore(database().url, clock, { table: `contract_${++tables}` }),
    { answersLostChecks: true },
  );

  const opened: SessionStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  async function sql<T>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: database().url });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }

  test("a record is one row with its expiry and version in indexed columns", async () => {
    const clock = new ManualClock();
    const store = createStore(database().url, clock);
    opened.push(store);
    const sessionKey = newSessionKey();
    const record = { data: { a: 1 }, expiresAtMs: clock.now() + 600_000, version: 3 };
    await store.save(sessionKey, record, undefined);

    const rows = await sql<{ expires: string; version: number }>(
      "SELECT expires, version FROM sessionql_sessions WHERE key = $1",
      [`sessionql:${sessionKey}`],
    );
    expect(rows).toEqual([{ expires: String(record.expiresAtMs), version: 3 }]);
    const indexes = await sql<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'sessionql_sessions'",
    );
    expect(indexes.map((index) => index.indexdef).join("\n")).toMatch(/\(expires\)/);
  });

  test("clearExpired deletes in bounded batches until none are left", async () => {
    const clock = new ManualClock();
    const store = createStore(database().url, clock);
    opened.push(store);
    await store.clearExpired();
    const expiring = 2_500;
    await sql(
      `INSERT INTO sessionql_sessions (key, value, expires, version)
       SELECT 'sessionql:bulk' || n, '{"value":{"data":{},"expiresAtMs":0,"version":1}}', $1, 1
       FROM generate_series(1, $2::int) AS n`,
      [clock.now() + 1_000, expiring],
    );
    const live = newSessionKey();
    await store.save(
      live,
      { data: { live: true }, expiresAtMs: clock.now() + 3_600_000, version: 1 },
      undefined,
    );
    clock.advance(2);
    await expect(store.clearExpired()).resolves.toBe(expiring);
    await expect(store.load(live)).resolves.toMatchObject({ data: { live: true } });
  });

  test("many instances starting at once create the table once, without an error", async () => {
    const fresh = await createThrowawayDatabase();
    const stores = Array.from({ length: 6 }, () => createStore(fresh.url));
    try {
      await Promise.all(stores.map((store) => store.ping()));
    } finally {
      for (const store of stores) await store.close();
      await fresh.drop();
    }
  });

  describeStoresSharingOneBackend("one database", (clock) => createPostgresStore(database().url, clock));
});
