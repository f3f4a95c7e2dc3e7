import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import type { GraphQLConfig } from "../config";
import { formatError } from "./errors";
import { queryLimitRules } from "./query-limits";

/**
 * How Apollo Server treats every request sessionql serves: its error formatter with no stack traces, CSRF
 * prevention, batching and introspection as configured, the query limits, and only the plugins we use. The
 * bench's Apollo floor is built from the same settings, so the two cannot drift apart.
 */
export function apolloRequestSettings(graphql: GraphQLConfig) {
  return {
    formatError,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    allowBatchedHttpRequests: graphql.batching,
    introspection: graphql.introspection,
    validationRules: queryLimitRules(graphql),
    parseOptions: { maxTokens: graphql.maxTokens },
  };
}

/**
 * The plugins Apollo would install by default, switched off: sessionql serves its own IDE, and no field carries
 * a cache hint (every answer depends on the session), so the cache-control plugin would only wrap every resolver
 * call to compute a policy that is always "do not cache".
 */
export function withoutDefaultPlugins(): ApolloServerPlugin<BaseContext>[] {
  return [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled()];
}
