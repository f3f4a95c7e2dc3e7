import { Pool } from "pg";
import { PostgresKeyvAdapter } from "../../src/stores/postgres-adapter";
import { createThrowawayDatabase } from "../helpers/postgres";
import { describeWithService, startBeforeAll } from "../helpers/services";
import { collect, describeKeyvTestSuite } from "./keyv-suite";

describeWithService("postgres", "PostgresKeyvAdapter", () => {
  const database = startBeforeAll(createThrowawayDatabase, (database) => database.drop());

  const opened: PostgresKeyvAdapter[] = [];
  const open = (options: { table?: string; now?: () => number } = {}) => {
    const adapter = new PostgresKeyvAdapter({
      pool: new Pool({ connectionString: database().url }),
      ...options,
    });
    opened.push(adapter);
    return adapter;
  };
  const closeAll = async () => {
    for (const adapter of opened.splice(0)) await adapter.disconnect();
  };
  afterEach(closeAll);
  afterAll(closeAll);

  describe("@keyv/test-suite", () => {
    describeKeyvTestSuite(() => open({ table: "keyv_suite" }));
  });

  describe("its own behaviour", () => {
    let nowMs: number;
    beforeEach(() => {
      nowMs = 1_700_000_000_000;
    });

    test("an expired row reads as absent", async () => {
      const adapter = open({ table: "own_expiry", now: () => nowMs });
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

    test("deleteExpired removes only expired rows, in batches", async () => {
      const adapter = open({ table: "own_purge", now: () => nowMs });
      await adapter.setMany(
        Array.from({ length: 25 }, (_, i) => ({ key: `old${i}`, value: "x", ttl: 1000 })),
      );
      await adapter.setMany(
        Array.from({ length: 5 }, (_, i) => ({ key: `young${i}`, value: "y", ttl: 5000 })),
      );
      await adapter.set("forever", "f");
      nowMs += 1000;
      const query = jest.spyOn(adapter, "query");
      expect(await adapter.deleteExpired(10)).toBe(25);
      expect(query.mock.calls.filter(([name]) => name === "deleteExpired")).toHaveLength(3);
      query.mockRestore();
      const keys = (await collect(adapter.iterator())).map(([key]) => key);
      expect(keys).toEqual(["forever", "young0", "young1", "young2", "young3", "young4"]);
    });

    test("clear removes only its namespace, with _ and % taken literally", async () => {
      const adapter = open({ table: "own_namespaces" });
      await adapter.setMany([
        { key: "a_:1", value: "mine" },
        { key: "ab:1", value: "other" },
        { key: "a%:1", value: "other" },
      ]);
      adapter.namespace = "a_";
      await adapter.clear();
      adapter.namespace = undefined;
      expect(await adapter.getMany(["a_:1", "ab:1", "a%:1"])).toEqual([undefined, "other", "other"]);
    });

    test("a table name that is not an identifier is refused", () => {
      expect(() => open({ table: "x; DROP TABLE y" })).toThrow(/Invalid PostgreSQL table name/);
    });
  });
});
