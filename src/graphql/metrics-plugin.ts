import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from "@apollo/server";
import { Kind, type OperationDefinitionNode } from "graphql";

/** Counts every GraphQL request by its root field and, when it failed, the first error's code. */
export function metricsPlugin(
  count: (operation: string, errorCode: string | undefined) => void,
): ApolloServerPlugin {
  // One listener object for every request: it keeps no per-request state.
  const listener: GraphQLRequestListener<BaseContext> = {
    async willSendResponse({ operation, response }) {
      const result = response.body.kind === "single" ? response.body.singleResult : undefined;
      const code = result?.errors?.[0]?.extensions?.code;
      count(rootField(operation), result?.errors ? String(code ?? "UNKNOWN") : undefined);
    },
  };
  return { requestDidStart: async () => listener };
}

/**
 * The first root field: a name from our schema, since only validated operations have one. The client's
 * operation name is not used: it is free text, and every distinct label value would be a new series.
 */
function rootField(operation: OperationDefinitionNode | undefined): string {
  const first = operation?.selectionSet.selections[0];
  return first?.kind === Kind.FIELD ? first.name.value : "none";
}
