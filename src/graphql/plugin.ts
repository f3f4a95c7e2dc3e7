import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from "@apollo/server";
import type { RequestSession, WarningLog } from "../http/request-session";
import { REQUEST_SESSION, type SessionHandle } from "./session-context";

/**
 * The Apollo Server plugin that writes the session back: after each operation (the last one, in a batch), it
 * re-saves the session when every request must and writes the cookie or header on the framework's own response,
 * where Apollo's single-valued header map cannot lose it. Requests whose context has no `session` from
 * `sessions.context()` pass through untouched.
 */
export function sessionsPlugin(): ApolloServerPlugin<BaseContext> {
  // One listener object for every request: the request's state lives on its context.
  const listener: GraphQLRequestListener<BaseContext> = {
    async willSendResponse({ contextValue, response, logger }) {
      const request = requestSessionOf(contextValue);
      if (request === undefined) return;
      const warn: WarningLog = (error, message) =>
        (logger.warn as (details: unknown, message: string) => void)({ err: error }, message);
      await request.operationEnded(response.http.headers, warn);
    },
  };
  return {
    async requestDidStart({ contextValue }) {
      const request = requestSessionOf(contextValue);
      if (request === undefined) return;
      request.operationStarted();
      return listener;
    },
  };
}

function requestSessionOf(context: BaseContext): RequestSession | undefined {
  const handle = (context as { session?: SessionHandle }).session;
  return handle?.[REQUEST_SESSION];
}
