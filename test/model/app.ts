/**
 * The application a model run logs its visitors in through. The standalone server serves `mySessions`,
 * `revokeSession` and `revokeOtherSessions` but no login: logging in is an application's own resolver calling
 * `context.session.login`. So beside the server runs the login application of test/helpers/login-app.ts over the
 * server's own session layer (its store, secrets, cookie settings and clock): one instance, reached on two ports,
 * whose cookies a visitor's jar shares as a browser would.
 */
import type { Sessions } from "../../src/index";
import { serveLoginApp } from "../helpers/login-app";

/** A running application: the URL of its GraphQL endpoint, and a way to stop it (the session layer stays open). */
export interface ModelApp {
  graphqlUrl: string;
  stop(): Promise<void>;
}

/** Starts the login application on a free loopback port over `sessions`. */
export async function startModelApp(sessions: Sessions): Promise<ModelApp> {
  const { url, stop } = await serveLoginApp(sessions);
  // Under the server's GraphQL path, so that a cookie with SESSION_COOKIE_PATH=/graphql would reach it too.
  return { graphqlUrl: new URL("graphql/app", url).href, stop };
}
