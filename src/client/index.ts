/**
 * sessionql/client: a typed client for a sessionql server, in the browser and outside it.
 *
 * Everything here uses only the graphql package (to print the documents), the cookie package, graphql-ws (for
 * `subscribe`) and the generated typed documents, never the server's own modules, its web framework or Apollo Server, so that a browser bundle
 * of this module stays small.
 */

export type { LiveEnd, SubscribeOptions, Unsubscribe, WebSocketClass } from "./live";
export {
  createSessionClient,
  type SessionClient,
  type SessionClientOptions,
  type SessionSnapshot,
  type SetOptions,
  type UserSessionInfo,
  type WriteOptions,
} from "./session-client";
export { SessionClientError } from "./session-client-error";
export type { SessionTransport } from "./token-keeper";
