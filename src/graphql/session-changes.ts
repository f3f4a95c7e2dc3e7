import type { Repeater as RepeaterClass } from "@repeaterjs/repeater" with { "resolution-mode": "import" };
import type { RequestSession } from "../http/request-session";
import { asGraphQLError } from "./errors";

// The package is ESM-first and declares its types for `import` only, though it ships a CommonJS build too.
const { Repeater } = require("@repeaterjs/repeater") as { Repeater: typeof RepeaterClass };

/** The events of one subscription, as an async iterator that stops following when the client unsubscribes. */
export function sessionChanges(
  request: RequestSession,
  sinceVersion?: number,
): AsyncIterable<RequestSession> {
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
      unfollow = await live.follow(
        sessionKey,
        {
          changed: (session) => {
            push(request.showing(session)).catch(() => {});
          },
          ended: (how) => {
            if (how === "ended") push(empty()).catch(() => {});
            stop();
          },
          failed: (error) => stop(asGraphQLError(error)),
        },
        { sinceVersion },
      );
    } catch (error) {
      stop(asGraphQLError(error));
      return;
    }
    await stop;
    unfollow();
  });
}
