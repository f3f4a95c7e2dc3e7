import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { CookieSigner } from "../../src/http/cookie";
import { newSessionKey } from "../../src/session/keys";
import type { SessionStore } from "../../src/session/store";
import { createStore } from "../../src/stores/index";
import { ManualClock } from "../helpers/clock";
import { CookieJar, expectSessionCookie } from "../helpers/cookies";
import { createThrowawayDatabase } from "../helpers/postgres";
import { redisCommand, startRedisServer } from "../helpers/redis";
import { GraphQLClient, startTestServer, TEST_SECRET, type TestServer } from "../helpers/server";
import { describeWithService } from "../helpers/services";

// Encryption at rest (SESSION_ENCRYPTION_KEYS): no store holds a session value or key name in clear, a sealed
// record moved under another session key does not open, keys rotate, and records from before encryption still
// read. Each store's raw bytes are read the way someone with a copy of the file, table or key would.

const KEY_1 = randomBytes(32).toString("base64");
const KEY_2 = randomBytes(32).toString("base64");
const SECRET_NAME = "patient-record-number";
const SECRET_VALUE = "diagnosis-kept-private-4711";
const signer = new CookieSigner([TEST_SECRET]);

/** One store backend: its URL, and everything it holds as raw text (undefined where nothing outside the process can read it). */
interface Backend {
  url: string;
  raw?(): Promise<string>;
  stop(): Promise<void>;
}

/** The backends every machine has; Redis and PostgreSQL follow, each run only where its service is. */
const LOCAL_BACKENDS: Array<[string, () => Promise<Backend>]> = [
  // The memory store lives inside the process: its records are read beneath the sealing, through the store.
  ["memory", async () => ({ url: "memory://", stop: async () => {} })],
  [
    "SQLite (the file and its WAL)",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "sessionql-sealed-"));
      const file = join(dir, "sessions.sqlite");
      return {
        url: `sqlite://${file}`,
        raw: async () =>
          [file, `${file}-wal`]
            .filter((path) => existsSync(path))
            .map((path) => readFileSync(path).toString("latin1"))
            .join(""),
        stop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
];

const SERVICE_BACKENDS: Array<["redis" | "postgres", string, () => Promise<Backend>]> = [
  [
    "redis",
    "Redis (every key's value)",
    async () => {
      const redis = await startRedisServer();
      return {
        url: redis.url,
        raw: async () => {
          const keys = (await redisCommand(redis.port, "KEYS *"))
            .split("\r\n")
            .filter((line) => /^[^*$]/.test(line));
          const values = await Promise.all(keys.map((key) => redisCommand(redis.port, `GET ${key}`)));
          return keys.join("\n") + values.join("\n");
        },
        stop: () => redis.stop(),
      };
    },
  ],
  [
    "postgres",
    "PostgreSQL (every table's rows)",
    async () => {
      const database = await createThrowawayDatabase();
      return {
        url: database.url,
        raw: async () => {
          const client = new Client({ connectionString: database.url });
          await client.connect();
          try {
            const tables = await client.query("select tablename from pg_tables where schemaname = 'public'");
            const rows = await Promise.all(
              tables.rows.map((row: { tablename: string }) =>
                client.query(`select * from "${row.tablename}"`),
              ),
            );
            return JSON.stringify(rows.map((result) => result.rows));
          } finally {
            await client.end();
          }
        },
        stop: () => database.drop(),
      };
    },
  ],
];

for (const [name, open] of LOCAL_BACKENDS)
  describe(`Encryption at rest on ${name}`, () => describeSealing(open));
for (const [service, name, open] of SERVICE_BACKENDS) {
  describeWithService(service, `Encryption at rest on ${name}`, () => describeSealing(open));
}

/** Every rule of encryption at rest, through servers on the backend `open` makes. */
function describeSealing(open: () => Promise<Backend>): void {
  let backend: Backend;
  const servers: TestServer[] = [];
  const clock = new ManualClock();
  /** For memory://, the one store every server of this file shares (each createStore would be a new one). */
  let memory: SessionStore | undefined;

  beforeAll(async () => {
    backend = await open();
    if (backend.url === "memory://") memory = createStore(backend.url, clock);
  });
  afterAll(async () => {
    for (const server of servers.splice(0)) await server.close();
    await backend?.stop();
  });

  async function serve(keys: string[]): Promise<TestServer> {
    const env: Record<string, string> = keys.length > 0 ? { SESSION_ENCRYPTION_KEYS: keys.join(",") } : {};
    const server = await startTestServer({ env, clock, store: memory ?? createStore(backend.url, clock) });
    servers.push(server);
    return server;
  }

  async function store(client: GraphQLClient): Promise<void> {
    const { errors } = await client.request(
      `mutation { setSession(key: "${SECRET_NAME}", value: "${SECRET_VALUE}", expiresIn: 3600) { version } }`,
    );
    expect(errors).toBeUndefined();
    await client.request(`mutation { updateSession(values: { second: "${SECRET_VALUE}-too" }) { version } }`);
  }

  test("the store holds no session value or key name in clear, and the session reads back", async () => {
    const server = await serve([KEY_1]);
    const visitor = server.client();
    await store(visitor);
    const stored = JSON.stringify(
      await server.store.load(signer.unsign(visitor.jar.get() as string) as string),
    );
    const raw = backend.raw === undefined ? stored : await backend.raw();
    expect(stored).toMatch(/"sealed":"v1\./);
    expect(raw.length).toBeGreaterThan(0);
    for (const text of [stored, raw]) {
      expect(text).not.toContain(SECRET_VALUE);
      expect(text).not.toContain(SECRET_NAME);
      expect(text).not.toContain("second");
    }
    expect(await visitor.data()).toEqual({ [SECRET_NAME]: SECRET_VALUE, second: `${SECRET_VALUE}-too` });
  });

  test("a sealed record copied under another session key does not open: it reads as no session", async () => {
    const server = await serve([KEY_1]);
    const visitor = server.client();
    await store(visitor);
    const victimKey = signer.unsign(visitor.jar.get() as string) as string;
    // Copied the way someone with write access to the store would, beneath the sealing.
    const plain = server.store;
    {
      const sealed = await plain.load(victimKey);
      expect(sealed?.sealed).toEqual(expect.any(String));
      const otherKey = newSessionKey();
      expect(await plain.save(otherKey, sealed as NonNullable<typeof sealed>, undefined)).toBe(true);
      const jar = new CookieJar();
      jar.set("sessionid", signer.sign(otherKey));
      const intruder = new GraphQLClient(server.graphqlUrl, jar);
      const { status, data } = await intruder.request<{ session: { version: number; data: unknown } }>(
        "{ session { version data } }",
      );
      expect(status).toBe(200);
      expect(data?.session).toEqual({ version: 0, data: {} });
    }
  });

  test("keys rotate: a new first key reads what the old one sealed, and seals the next save with itself", async () => {
    const before = await serve([KEY_1]);
    const after = await serve([KEY_2, KEY_1]);
    const only = await serve([KEY_2]);
    const visitor = before.client();
    await store(visitor);
    const jar = visitor.jar;
    const rotated = new GraphQLClient(after.graphqlUrl, jar);
    expect(await rotated.data()).toMatchObject({ [SECRET_NAME]: SECRET_VALUE });
    await rotated.request('mutation { setSession(key: "resealed", value: true) { version } }');
    expect(await new GraphQLClient(only.graphqlUrl, jar).data()).toMatchObject({ resealed: true });
  });

  test("records written before encryption was turned on are read, and sealed at their next save", async () => {
    const plainServer = await serve([]);
    const sealedServer = await serve([KEY_1]);
    const visitor = plainServer.client();
    const { res } = await visitor.request(
      `mutation { setSession(key: "legacy", value: "${SECRET_VALUE}-legacy") { version } }`,
    );
    expectSessionCookie(res);
    const legacyKey = signer.unsign(visitor.jar.get() as string) as string;
    expect(JSON.stringify(await plainServer.store.load(legacyKey))).toContain(`${SECRET_VALUE}-legacy`);
    const later = new GraphQLClient(sealedServer.graphqlUrl, visitor.jar);
    expect(await later.data()).toMatchObject({ legacy: `${SECRET_VALUE}-legacy` });
    await later.request('mutation { setSession(key: "touched", value: 1) { version } }');
    expect(await later.data()).toMatchObject({ legacy: `${SECRET_VALUE}-legacy`, touched: 1 });
    const record = await sealedServer.store.load(legacyKey);
    expect(record?.sealed).toEqual(expect.any(String));
    expect(JSON.stringify(record)).not.toContain("legacy");
  });
}
