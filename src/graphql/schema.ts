import { type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import { buildSchemaSync } from "type-graphql";
import { SessionResolver } from "./session.resolver";
import { SessionFieldsResolver } from "./session.type";

/** The executable schema, built from the resolvers (once per process). */
export function buildSessionSchema(): GraphQLSchema {
  return buildSchemaSync({ resolvers: [SessionResolver, SessionFieldsResolver], validate: false });
}

/** The schema as committed in schema.graphql: sorted, so the file only changes when the API does. */
export function printSessionSchema(schema: GraphQLSchema = buildSessionSchema()): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
