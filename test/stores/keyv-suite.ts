import { keyvApiTests, keyvIteratorTests, keyvNamespaceTest, keyvValueTests } from "@keyv/test-suite";
import Keyv, { type KeyvStoreAdapter } from "keyv";

// The suite is written for vitest: it registers hooks via `test.beforeEach` and tests via `test.it(name, (t) => ...)`,
// reading `t.expect` from the test context. Its CommonJS build never imports vitest at runtime, so jest's globals
// can stand in. The callback must be wrapped: jest treats a one-argument test function as a `done`-style test.
type VitestApi = Parameters<typeof keyvApiTests>[0];
const vitestShim = {
  beforeEach,
  afterEach,
  it: (name: string, fn: (context: { expect: typeof expect }) => unknown) =>
    it(name, async () => fn({ expect })),
} as unknown as VitestApi;

/**
 * Runs @keyv/test-suite against the adapters `store` opens. The suite calls store() many times per test and gives
 * some instances different namespaces, so each call must return a fresh adapter: Keyv writes its namespace onto the
 * store it is given.
 */
export function describeKeyvTestSuite(store: () => KeyvStoreAdapter): void {
  // keyvTestSuite() is just api + values + namespace; calling them one by one keeps each group's hooks to itself.
  // keyvCompresstionTests is not run: it exercises a compression adapter on a Map store and never touches ours.
  describe("api", () => keyvApiTests(vitestShim, Keyv, store));
  describe("values", () => keyvValueTests(vitestShim, Keyv, store));
  describe("namespace", () => keyvNamespaceTest(vitestShim, Keyv, store));
  describe("iterator", () => keyvIteratorTests(vitestShim, Keyv, store));
}

/** Everything `iterable` yields, in order. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
