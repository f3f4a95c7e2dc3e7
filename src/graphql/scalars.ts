import { GraphQLScalarType } from "graphql";
import { GraphQLDateTimeISO, GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";

/**
 * graphql-scalars' implementations under the contract's descriptions, without their `@specifiedBy` links,
 * so the printed schema is exactly the contract's.
 */
function redescribe(scalar: GraphQLScalarType, description: string): GraphQLScalarType {
  return new GraphQLScalarType({ ...scalar.toConfig(), description, specifiedByURL: undefined });
}

/** Any JSON value. */
export const JSONScalar = redescribe(GraphQLJSON, "Any JSON value.");
/** A JSON object. */
export const JSONObjectScalar = redescribe(GraphQLJSONObject, "A JSON object.");
/** An ISO-8601 date-time. */
export const DateTimeISOScalar = redescribe(GraphQLDateTimeISO, "An ISO-8601 date-time.");
