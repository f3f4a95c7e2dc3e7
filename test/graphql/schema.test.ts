import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildSchema,
  findBreakingChanges,
  findDangerousChanges,
  type GraphQLNamedType,
  type GraphQLSchema,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
} from "graphql";
import { buildSessionSchema, printSessionSchema } from "../../src/graphql/schema";

const ROOT = join(__dirname, "..", "..");

// A verbatim copy of the schema block of CONTRACT.md, so the suite runs wherever the repository is cloned.
const contract = buildSchema(readFileSync(join(__dirname, "..", "fixtures", "contract.graphql"), "utf8"));
const built = buildSessionSchema();

/** The schema's own types: no introspection types and no built-in scalars. */
function ownTypes(schema: GraphQLSchema): GraphQLNamedType[] {
  return Object.values(schema.getTypeMap()).filter(
    (type) => !isIntrospectionType(type) && !isSpecifiedScalarType(type),
  );
}

/** Every type, field and argument as `path: type`, the way a client sees them. */
function signatures(schema: GraphQLSchema): string[] {
  return ownTypes(schema).flatMap((type) => {
    if (!isObjectType(type)) return [`${type.name}: ${type.constructor.name}`];
    return Object.values(type.getFields()).flatMap((field) => [
      `${type.name}.${field.name}: ${String(field.type)}`,
      ...field.args.map(
        (arg) =>
          `${type.name}.${field.name}(${arg.name}): ${String(arg.type)}` +
          (arg.defaultValue === undefined ? "" : ` = ${JSON.stringify(arg.defaultValue)}`),
      ),
    ]);
  });
}

/** Every description, keyed by the path of what it describes. */
function descriptions(schema: GraphQLSchema): Record<string, string | null | undefined> {
  const entries = ownTypes(schema).flatMap((type) => {
    const own: Array<[string, string | null | undefined]> = [[type.name, type.description]];
    if (!isObjectType(type)) return own;
    return own.concat(
      Object.values(type.getFields()).flatMap((field) => [
        [`${type.name}.${field.name}`, field.description] as [string, string | null | undefined],
        ...field.args.map(
          (arg) =>
            [`${type.name}.${field.name}(${arg.name})`, arg.description] as [
              string,
              string | null | undefined,
            ],
        ),
      ]),
    );
  });
  return Object.fromEntries(entries.filter(([, description]) => description));
}

function describeChanges(changes: ReadonlyArray<{ type: string; description: string }>): string[] {
  return changes.map((change) => `${change.type}: ${change.description}`);
}

describe("the built schema against the contract", () => {
  test("has no breaking change for a client written against the contract", () => {
    expect(describeChanges(findBreakingChanges(contract, built))).toEqual([]);
  });

  test("has no dangerous change for a client written against the contract", () => {
    expect(describeChanges(findDangerousChanges(contract, built))).toEqual([]);
  });

  test("offers nothing breaking beyond the contract (breaking changes checked in reverse)", () => {
    expect(describeChanges(findBreakingChanges(built, contract))).toEqual([]);
  });

  test("offers nothing dangerous beyond the contract (dangerous changes checked in reverse)", () => {
    expect(describeChanges(findDangerousChanges(built, contract))).toEqual([]);
  });

  test("has every type, field and argument of the contract with the same type", () => {
    const builtSignatures = new Set(signatures(built));
    const missing = signatures(contract).filter((signature) => !builtSignatures.has(signature));
    expect(missing).toEqual([]);
  });

  test("has nothing the contract does not list", () => {
    const contractSignatures = new Set(signatures(contract));
    const extra = signatures(built).filter((signature) => !contractSignatures.has(signature));
    expect(extra).toEqual([]);
  });

  test("answers queries and mutations from the contract's root types", () => {
    expect(built.getQueryType()?.name).toBe(contract.getQueryType()?.name);
    expect(built.getMutationType()?.name).toBe(contract.getMutationType()?.name);
    expect(built.getSubscriptionType()?.name).toBe(contract.getSubscriptionType()?.name);
  });

  test("keeps the contract's descriptions", () => {
    expect(descriptions(built)).toEqual(descriptions(contract));
  });
});

describe("the committed schema.graphql", () => {
  test("is what the resolvers print (run `npm run schema:write` when this fails)", () => {
    const committed = readFileSync(join(ROOT, "schema.graphql"), "utf8");
    expect(committed).toBe(printSessionSchema());
  });

  test("describes the same API as the contract", () => {
    const committed = buildSchema(readFileSync(join(ROOT, "schema.graphql"), "utf8"));
    expect(describeChanges(findBreakingChanges(contract, committed))).toEqual([]);
    expect(describeChanges(findBreakingChanges(committed, contract))).toEqual([]);
    expect(signatures(committed).sort()).toEqual(signatures(contract).sort());
  });
});

describe("against the schema of sessionql 0.1 (before the features beyond Django)", () => {
  // The schema.graphql that clients generated their code from before ifVersion, expiresIn, setSessionDefault,
  // keyExpiresAt and createdAt were added.
  const released = buildSchema(readFileSync(join(__dirname, "..", "fixtures", "schema-0.1.graphql"), "utf8"));

  test("has no breaking change for an existing client", () => {
    expect(findBreakingChanges(released, built)).toEqual([]);
  });
});
