import { GraphQLError, GraphQLScalarType } from "graphql";
import { GraphQLDateTimeISO, GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";
import { jsonDepth } from "../session/limits";

/** The deepest nesting SESSION_MAX_DEPTH can ever allow (its configured maximum). */
const DEEPEST_ALLOWED = 1000;

/**
 * graphql-scalars' implementations under the contract's descriptions, without their `@specifiedBy` links,
 * so the printed schema is exactly the contract's.
 */
function redescribe(scalar: GraphQLScalarType, description: string): GraphQLScalarType {
  return new GraphQLScalarType({ ...scalar.toConfig(), description, specifiedByURL: undefined });
}

/**
 * Refuses absurdly deep values while variables are coerced, before anything walks them recursively: type-graphql
 * converts arguments by recursion and runs out of stack on a few thousand nested arrays. The configured
 * SESSION_MAX_DEPTH is still checked by the session core, with its own message, on everything shallower.
 */
function boundedDepth(scalar: GraphQLScalarType): GraphQLScalarType {
  const config = scalar.toConfig();
  return new GraphQLScalarType({
    ...config,
    parseValue(value) {
      if (jsonDepth(value) > DEEPEST_ALLOWED) {
        throw new GraphQLError(
          `value must be nested at most ${DEEPEST_ALLOWED} levels deep (SESSION_MAX_DEPTH)`,
        );
      }
      return config.parseValue(value);
    },
  });
}

/** Any JSON value. */
export const JSONScalar = boundedDepth(redescribe(GraphQLJSON, "Any JSON value."));
/** A JSON object. */
export const JSONObjectScalar = boundedDepth(redescribe(GraphQLJSONObject, "A JSON object."));
/** An ISO-8601 date-time. */
export const DateTimeISOScalar = redescribe(GraphQLDateTimeISO, "An ISO-8601 date-time.");
