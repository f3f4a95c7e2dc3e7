import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteKeyvAdapter } from "../../src/stores/sqlite-adapter";
import { collect, describeKeyvTestSuite } from "./keyv-suite";

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "sessionql-sqlite-adapter-"));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe("@keyv/test-suite", () => {
  // A fresh adapter on each call, as the suite needs; they all share one database file.
  const opened: SqliteKeyvAdapter[] = [];
  const store = () => {
    const adapter = new SqliteKeyvAdapter({ path: join(tmp, "suite", "keyv.sqlite") });
    opened.push(adapter);
    return adapter;
  };
  const closeAll = async () => {
    for (const adapter of opened.splice(0)) await adapter.disconnect();
  };
  afterEach(closeAll);
  afterAll(closeAll);

  describeKeyvTestSuite(store);
});

describe("SqliteKeyvAdapter", () => {
  let nowMs: number;
  const adapters: SqliteKeyvAdapter[] = [];
  const open = (name: string, table?: string) => {
    const adapter = new SqliteKeyvAdapter({
      path: join(tmp, "own", `${name}.sqlite`),
      table,
      now: () => nowMs,
    });
    adapters.push(adapter);
    return adapter;
  };
  beforeEach(() => {
    nowMs = 1_700_000_000_000;
  });
  afterEach(async () => {
    for (const adapter of adapters.splice(0)) if (adapter.db.open) await adapter.disconnect();
  });

  it("an expired row reads as absent", async () => {
    const adapter = open("expiry");
    await adapter.set("k", "v", 1000);
    await adapter.set("forever", "f");

    nowMs += 999;
    expect(await adapter.get("k")).toBe("v");
    expect(await adapter.has("k")).toBe(true);

    nowMs += 1;
    expect(await adapter.get("k")).toBeUndefined();
    expect(await adapter.has("k")).toBe(false);
    expect(await adapter.getMany(["k", "forever"])).toEqual([undefined, "f"]);
    expect(await collect(adapter.iterator())).toEqual([["forever", "f"]]);
  });

  it("a zero or missing ttl never expires", async () => {
    const adapter = open("no-ttl");
    await adapter.set("zero", "z", 0);
    await adapter.set("none", "n");
    nowMs += 10 * 365 * 24 * 3600 * 1000;
    expect(await adapter.getMany(["zero", "none"])).toEqual(["z", "n"]);
  });

  it("deleteExpired removes only expired rows, in batches", async () => {
    const adapter = open("purge");
    await adapter.setMany(Array.from({ length: 25 }, (_, i) => ({ key: `old${i}`, value: "x", ttl: 1000 })));
    await adapter.setMany(Array.from({ length: 5 }, (_, i) => ({ key: `young${i}`, value: "y", ttl: 5000 })));
    await adapter.set("forever", "f");
    nowMs += 1000;

    // Statements share one prototype, so spying on it sees every batch the adapter runs.
    const statementProto = Object.getPrototypeOf(adapter.db.prepare("SELECT 1"));
    const run = jest.spyOn(statementProto, "run");
    try {
      expect(await adapter.deleteExpired(10)).toBe(25);
      const batches = run.mock.contexts.filter((stmt) =>
        /^\s*DELETE/.test((stmt as { source: string }).source),
      );
      expect(batches).toHaveLength(3);
    } finally {
      run.mockRestore();
    }

    const remaining = adapter.db.prepare(`SELECT key FROM ${adapter.table} ORDER BY key`).pluck().all();
    expect(remaining).toEqual(["forever", "young0", "young1", "young2", "young3", "young4"]);
    expect(await adapter.deleteExpired()).toBe(0);
  });

  describe("when deleteExpired has many batches to do", () => {
    const expiredLeft = (adapter: SqliteKeyvAdapter) =>
      adapter.db.prepare(`SELECT count(*) FROM ${adapter.table} WHERE expires <= ?`).pluck().get(nowMs);

    /** A new adapter holding 25 rows that have just expired. */
    const openWithExpired = async (name: string) => {
      const adapter = open(name);
      await adapter.setMany(
        Array.from({ length: 25 }, (_, i) => ({ key: `old${i}`, value: "x", ttl: 1000 })),
      );
      nowMs += 1000;
      return adapter;
    };

    it("other work runs between its batches", async () => {
      const adapter = await openWithExpired("purge-yields");

      // Work queued alongside the purge, as a request's I/O would be, keeps getting turns until it is done.
      const seenLeft = new Set<unknown>();
      let purging = true;
      const otherWork = () => {
        if (!purging) return;
        seenLeft.add(expiredLeft(adapter));
        setImmediate(otherWork);
      };
      setImmediate(otherWork);
      const removed = await adapter.deleteExpired(10);
      purging = false;

      expect(removed).toBe(25);
      expect(expiredLeft(adapter)).toBe(0);
      expect([...seenLeft].filter((left) => left !== 0 && left !== 25)).not.toHaveLength(0);
    });

    it("aborting its signal ends it after the current batch, with the count so far", async () => {
      const adapter = await openWithExpired("purge-aborted");

      const stopping = new AbortController();
      const purging = adapter.deleteExpired(10, stopping.signal);
      stopping.abort();
      await expect(purging).resolves.toBe(10);
      expect(expiredLeft(adapter)).toBe(15);
    });

    it("closing the database ends it with the count so far", async () => {
      const adapter = await openWithExpired("purge-closed");

      const purging = adapter.deleteExpired(10);
      await adapter.disconnect();
      await expect(purging).resolves.toBe(10);
    });
  });

  it("data survives reopening the file", async () => {
    const first = open("reopen", "custom_table");
    await first.set("session:1", "payload", 60_000);
    await first.set("session:2", "kept");
    await first.disconnect();

    const second = open("reopen", "custom_table");
    expect(second.table).toBe("custom_table");
    expect(await second.getMany(["session:1", "session:2"])).toEqual(["payload", "kept"]);
    nowMs += 60_000;
    expect(await second.get("session:1")).toBeUndefined();
  });

  it("clear removes only its namespace", async () => {
    const adapter = open("namespaces");
    // "a_" must not behave like a LIKE pattern that also matches "ab:".
    for (const key of ["a_:1", "a_:2", "ab:1", "a_", "b:1", "plain"]) await adapter.set(key, key);

    adapter.namespace = "a_";
    await adapter.clear();
    adapter.namespace = undefined;
    expect(await collect(adapter.iterator())).toEqual(
      ["ab:1", "a_", "b:1", "plain"].map((key) => [key, key]),
    );

    await adapter.clear();
    expect(await collect(adapter.iterator())).toEqual([]);
  });

  it("iterator yields every live row of a namespace across batches", async () => {
    const adapter = open("iterate");
    const keys = Array.from({ length: 250 }, (_, i) => `ns:${i}`);
    await adapter.setMany(keys.map((key) => ({ key, value: key })));
    await adapter.set("other:1", "o");
    await adapter.set("ns:short", "s", 10);
    nowMs += 10;

    const seen = await collect(adapter.iterator("ns"));
    expect(seen.map(([key]) => key).sort()).toEqual([...keys].sort());
    expect(seen.every(([key, value]) => key === value)).toBe(true);
  });

  it("delete and deleteMany report whether anything was removed", async () => {
    const adapter = open("delete");
    await adapter.setMany([
      { key: "a", value: "1" },
      { key: "b", value: "2" },
    ]);
    expect(await adapter.delete("a")).toBe(true);
    expect(await adapter.delete("a")).toBe(false);
    expect(await adapter.deleteMany(["a", "b", "c"])).toBe(true);
    expect(await adapter.deleteMany(["a", "b"])).toBe(false);
  });

  it("rejects unsafe table names", () => {
    expect(() => open("bad", "sessions; DROP TABLE x")).toThrow(/Invalid SQLite table name/);
  });

  it("surfaces driver errors instead of swallowing them", async () => {
    const adapter = open("errors");
    await expect(adapter.set("k", { not: "a string" })).rejects.toThrow(TypeError);
    await adapter.disconnect();
    await expect(adapter.get("k")).rejects.toThrow(/not open/);
    await expect(adapter.set("k", "v")).rejects.toThrow(/not open/);
  });

  it("works on an in-memory database", async () => {
    const adapter = new SqliteKeyvAdapter({ path: ":memory:" });
    adapters.push(adapter);
    await adapter.set("k", "v");
    expect(await adapter.get("k")).toBe("v");
  });
});
