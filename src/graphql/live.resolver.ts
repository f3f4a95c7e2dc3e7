import { Arg, Int, Resolver, Root, Subscription } from "type-graphql";
import type { RequestSession } from "../http/request-session";
import { SessionType } from "./session.type";
import { sessionChanges } from "./session-changes";
import { REQUEST_SESSION, type SessionContext } from "./session-context";

/**
 * `sessionChanged`: the caller's session after every saved change, from any request on any instance, until it
 * ends. The session is the one whose key the subscriber presented (its cookie or token), and nothing else:
 * ending it (flush, logout, revoke, emptying, expiry) sends the empty session and completes, and cycling its key
 * completes without a word, since the client's new cookie names a new subscription.
 */
@Resolver()
export class LiveSessionResolver {
  @Subscription(() => SessionType, {
    description:
      "The caller's session after every saved change; the empty session, then completion, once it ends. Completes when its key is cycled: subscribe again with the new cookie.",
    subscribe: ({ context, args }) =>
      sessionChanges(
        (context as SessionContext).session[REQUEST_SESSION],
        (args as { sinceVersion?: number | null }).sinceVersion ?? undefined,
      ),
  })
  sessionChanged(
    @Root() shown: RequestSession,
    @Arg("sinceVersion", () => Int, {
      nullable: true,
      description:
        "The version the client last read: when the session is already past it, the session is sent at once, so no change saved before the subscription began is missed.",
    })
    _sinceVersion: number | null,
  ): RequestSession {
    return shown;
  }
}
