import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import { GraphQLError, type ValidationContext, type ValidationRule } from "graphql";
import type { GraphQLConfig } from "../config";

/**
 * Validation rules that refuse abusive documents (deep nesting, alias bombs, very wide or costly selections,
 * directive floods) before anything runs. The token limit is not here: graphql-js enforces it while parsing
 * (Apollo's `parseOptions.maxTokens`), before a huge document is even built.
 */
export function queryLimitRules(limits: GraphQLConfig): ValidationRule[] {
  return [
    maxDepthRule({ n: limits.maxDepth, flattenFragments: true, ...refusal("GRAPHQL_MAX_DEPTH") }),
    maxAliasesRule({ n: limits.maxAliases, ...refusal("GRAPHQL_MAX_ALIASES") }),
    costLimitRule({ maxCost: limits.maxCost, flattenFragments: true, ...refusal("GRAPHQL_MAX_COST") }),
    maxDirectivesRule({ n: limits.maxDirectives, ...refusal("GRAPHQL_MAX_DIRECTIVES") }),
  ] as ValidationRule[];
}

/**
 * GraphQL Armor's rules throw their error by default (their envelop plugins catch it; as plain validation rules
 * a throw would surface as an internal error), and word it as a syntax error. Reported through the validation
 * context instead, a refusal is an ordinary GRAPHQL_VALIDATION_FAILED naming the setting that allows more.
 */
function refusal(setting: string) {
  return {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        const reason = error.message.replace(/^Syntax Error: /, "");
        context?.reportError(new GraphQLError(`${reason} (${setting})`));
      },
    ],
  };
}
