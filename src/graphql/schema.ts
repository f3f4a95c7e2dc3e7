import { type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import {
  buildSchemaSync,
  buildTypeDefsAndResolversSync,
  type NonEmptyArray,
  type PubSub,
} from "type-graphql";
import { DevicesResolver } from "./devices.resolver";
import { LiveSessionResolver } from "./live.resolver";
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

/**
 * The `sessionChanged` subscription's resolver class, kept apart: type-graphql refuses a schema with a
 * subscription unless `buildSchema` is given a `pubSub`, which this one never uses (any will do).
 */
// biome-ignore lint/complexity/noBannedTypes: type-graphql takes resolver classes as Function.
export const sessionSubscriptionResolvers: NonEmptyArray<Function> = [LiveSessionResolver];

// biome-ignore lint/complexity/noBannedTypes: type-graphql takes resolver classes as Function.
const allResolvers: NonEmptyArray<Function> = [...sessionResolvers, ...sessionSubscriptionResolvers];

/**
 * type-graphql asks for a PubSub whenever a schema has a subscription, though `sessionChanged` brings its own
 * `subscribe` (the store's change feed) and never uses one.
 */
const unusedPubSub: PubSub = {
  publish() {
    throw new Error("sessionql's subscriptions do not use a PubSub");
  },
  subscribe() {
    throw new Error("sessionql's subscriptions do not use a PubSub");
  },
};

let schema: GraphQLSchema | undefined;
let typeDefsAndResolvers: { typeDefs: string; resolvers: Record<string, unknown> } | undefined;

/** The executable schema of the session operations, built from the resolvers once per process. */
export function buildSessionSchema(): GraphQLSchema {
  schema ??= buildSchemaSync({ resolvers: allResolvers, validate: false, pubSub: unusedPubSub });
  return schema;
}

/** The same operations as SDL and a resolver map, for schema-first applications to merge with their own. */
export function sessionTypeDefsAndResolvers(): { typeDefs: string; resolvers: Record<string, unknown> } {
  typeDefsAndResolvers ??= buildTypeDefsAndResolversSync({
    resolvers: allResolvers,
    validate: false,
    pubSub: unusedPubSub,
  });
  return typeDefsAndResolvers;
}

/** The schema as committed in schema.graphql: sorted, so the file only changes when the API does. */
export function printSessionSchema(schema: GraphQLSchema = buildSessionSchema()): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
