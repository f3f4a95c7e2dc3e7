import { type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import { buildSchemaSync, buildTypeDefsAndResolversSync, type NonEmptyArray } from "type-graphql";
import { DevicesResolver } from "./devices.resolver";
import { SessionResolver } from "./session.resolver";
import { SessionFieldsResolver } from "./session.type";

/**
 * sessionql's type-graphql resolver classes, for an application that builds its schema with type-graphql:
 * `buildSchema({ resolvers: [...appResolvers, ...sessionResolvers] })`.
 */
// biome-ignore lint/complexity/noBannedTypes: type-graphql takes resolver classes as Function.
export const sessionResolvers: NonEmptyArray<Function> = [
  SessionResolver,
  SessionFieldsResolver,
  DevicesResolver,
];

let schema: GraphQLSchema | undefined;
let typeDefsAndResolvers: { typeDefs: string; resolvers: Record<string, unknown> } | undefined;

/** The executable schema of the session operations, built from the resolvers once per process. */
export function buildSessionSchema(): GraphQLSchema {
  schema ??= buildSchemaSync({ resolvers: sessionResolvers, validate: false });
  return schema;
}

/** The same operations as SDL and a resolver map, for schema-first applications to merge with their own. */
export function sessionTypeDefsAndResolvers(): { typeDefs: string; resolvers: Record<string, unknown> } {
  typeDefsAndResolvers ??= buildTypeDefsAndResolversSync({ resolvers: sessionResolvers, validate: false });
  return typeDefsAndResolvers;
}

/** The schema as committed in schema.graphql: sorted, so the file only changes when the API does. */
export function printSessionSchema(schema: GraphQLSchema = buildSessionSchema()): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
