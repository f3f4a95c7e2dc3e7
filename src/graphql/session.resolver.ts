import { Arg, Ctx, Int, Mutation, Query, Resolver } from "type-graphql";
import type { RequestSession } from "../http/request-session";
import { codedErrors } from "./errors";
import { refusePrivateKeys } from "./public-view";
import { JSONObjectScalar, JSONScalar } from "./scalars";
import { PopSessionResult, SessionType } from "./session.type";
import { REQUEST_SESSION, type SessionContext } from "./session-context";

/**
 * The session query and mutations: each one call into `context.session`, answering with the request's session.
 * Keys under the private prefix are refused here, since a browser can send any of these.
 */
@Resolver()
export class SessionResolver {
  @Query(() => SessionType)
  async session(@Ctx() { session }: SessionContext): Promise<RequestSession> {
    const request = session[REQUEST_SESSION];
    await codedErrors(() => request.layer.sessions.read(request.session));
    return request;
  }

  @Mutation(() => SessionType, { description: "Store `value` under `key`." })
  async setSession(
    @Arg("key", () => String) key: string,
    @Arg("value", () => JSONScalar) value: unknown,
    @Ctx() { session }: SessionContext,
  ): Promise<RequestSession> {
    refusePrivateKeys(session[REQUEST_SESSION], [key]);
    await session.set(key, value);
    return session[REQUEST_SESSION];
  }

  @Mutation(() => PopSessionResult, { description: "Remove `key` and return what it held." })
  async popSession(
    @Arg("key", () => String) key: string,
    @Arg("default", () => JSONScalar, { nullable: true }) defaultValue: unknown,
    @Ctx() { session }: SessionContext,
  ): Promise<PopSessionResult> {
    refusePrivateKeys(session[REQUEST_SESSION], [key]);
    const popped = await session.pop(key, defaultValue ?? null);
    return { ...popped, session: session[REQUEST_SESSION] };
  }

  @Mutation(() => SessionType, {
    description: "Remove every entry; an empty session is deleted and its cookie expired.",
  })
  async clearSession(@Ctx() { session }: SessionContext): Promise<RequestSession> {
    await session.clear();
    return session[REQUEST_SESSION];
  }

  @Mutation(() => SessionType, { description: "Store every entry of `values` (like dict.update)." })
  async updateSession(
    @Arg("values", () => JSONObjectScalar) values: Record<string, unknown>,
    @Ctx() { session }: SessionContext,
  ): Promise<RequestSession> {
    refusePrivateKeys(session[REQUEST_SESSION], Object.keys(values));
    await session.update(values);
    return session[REQUEST_SESSION];
  }

  @Mutation(() => SessionType, {
    description: "Delete the session and its data and expire the cookie (logout).",
  })
  async flushSession(@Ctx() { session }: SessionContext): Promise<RequestSession> {
    await session.flush();
    return session[REQUEST_SESSION];
  }

  @Mutation(() => SessionType, {
    description: "Keep the data under a new session key; the old key stops working (call on login).",
  })
  async cycleSessionKey(@Ctx() { session }: SessionContext): Promise<RequestSession> {
    await session.cycleKey();
    return session[REQUEST_SESSION];
  }

  @Mutation(() => SessionType, {
    description:
      "Seconds of inactivity before expiry: > 0 seconds; 0 = when the browser closes; null = the default policy.",
  })
  async setSessionExpiry(
    @Arg("seconds", () => Int, { nullable: true }) seconds: number | null,
    @Ctx() { session }: SessionContext,
  ): Promise<RequestSession> {
    await session.setExpiry(seconds ?? null);
    return session[REQUEST_SESSION];
  }
}
