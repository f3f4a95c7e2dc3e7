import type { Repeater as RepeaterClass } from "@repeaterjs/repeater" with { "resolution-mode": "import" };
import { Resolver, Root, Subscription } from "type-graphql";
import type { RequestSession } from "../http/request-session";
import { asGraphQLError } from "./errors";
import { SessionType } from "./session.type";
import { REQUEST_SESSION, type SessionContext } from "./session-context";

// The package is ESM-first and declares its types for `import` only, though it ships a CommonJS build too.
const { Repeater } = require("@repeaterjs/repeater") as { Repeater: typeof RepeaterClass };

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
    subscribe: ({ context }) => sessionChanges((context as SessionContext).session[REQUEST_SESSION]),
  })
  sessionChanged(@Root() shown: RequestSession): RequestSession {
    return shown;
  }
}

/** The events of one subscription, as an async iterator that stops following when the client unsubscribes. */
function sessionChanges(request: RequestSession): AsyncIterable<RequestSession> {
  const { live, sessions } = request.layer;
  const empty = () => request.showing(sessions.open(undefined, false));
  return new Repeater<RequestSession>(async (push, stop) => {
    const sessionKey = request.session.incomingKey;
    if (sessionKey === undefined) {
      // No session to follow: the subscriber is told it has none, and subscribes again once it has a cookie.
      await push(empty());
      stop();
      return;
    }
    let unfollow: (() => void) | undefined;
    try {
      unfollow = await live.follow(sessionKey, {
        changed: (session) => {
          push(request.showing(session)).catch(() => {});
        },
        ended: (how) => {
          if (how === "ended") push(empty()).catch(() => {});
          stop();
        },
        failed: (error) => stop(asGraphQLError(error)),
      });
    } catch (error) {
      stop(asGraphQLError(error));
      return;
    }
    await stop;
    unfollow();
  });
}
