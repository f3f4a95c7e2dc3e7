import { Arg, Ctx, Int, Mutation, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../http/context";
import type { Session } from "../session/session";
import { JSONObjectScalar, JSONScalar } from "./scalars";
import { PopSessionResult, SessionType } from "./session.type";

/** The session query and mutations: each one call into the service, answering with the Session. */
@Resolver()
export class SessionResolver {
  @Query(() => SessionType)
  session(@Ctx() { sessions, session }: RequestContext): Promise<Session> {
    return sessions.read(session);
  }

  @Mutation(() => SessionType, { description: "Store `value` under `key`." })
  async setSession(
    @Arg("key", () => String) key: string,
    @Arg("value", () => JSONScalar) value: unknown,
    @Ctx() { sessions, session }: RequestContext,
  ): Promise<Session> {
    await sessions.change(session, (draft) => draft.set(key, value));
    return session;
  }

  @Mutation(() => PopSessionResult, { description: "Remove `key` and return what it held." })
  async popSession(
    @Arg("key", () => String) key: string,
    @Arg("default", () => JSONScalar, { nullable: true }) defaultValue: unknown,
    @Ctx() { sessions, session }: RequestContext,
  ): Promise<PopSessionResult> {
    const popped = await sessions.change(session, (draft) => draft.pop(key, defaultValue ?? null));
    return { ...popped, session };
  }

  @Mutation(() => SessionType, {
    description: "Remove every entry; an empty session is deleted and its cookie expired.",
  })
  async clearSession(@Ctx() { sessions, session }: RequestContext): Promise<Session> {
    await sessions.change(session, (draft) => draft.clear());
    return session;
  }

  @Mutation(() => SessionType, { description: "Store every entry of `values` (like dict.update)." })
  async updateSession(
    @Arg("values", () => JSONObjectScalar) values: Record<string, unknown>,
    @Ctx() { sessions, session }: RequestContext,
  ): Promise<Session> {
    await sessions.change(session, (draft) => draft.update(values));
    return session;
  }

  @Mutation(() => SessionType, {
    description: "Delete the session and its data and expire the cookie (logout).",
  })
  async flushSession(@Ctx() { sessions, session }: RequestContext): Promise<Session> {
    await sessions.flush(session);
    return session;
  }

  @Mutation(() => SessionType, {
    description: "Keep the data under a new session key; the old key stops working (call on login).",
  })
  async cycleSessionKey(@Ctx() { sessions, session }: RequestContext): Promise<Session> {
    await sessions.cycleKey(session);
    return session;
  }

  @Mutation(() => SessionType, {
    description:
      "Seconds of inactivity before expiry: > 0 seconds; 0 = when the browser closes; null = the default policy.",
  })
  async setSessionExpiry(
    @Arg("seconds", () => Int, { nullable: true }) seconds: number | null,
    @Ctx() { sessions, session }: RequestContext,
  ): Promise<Session> {
    await sessions.change(session, (draft) => draft.setExpiry(seconds ?? null));
    return session;
  }
}
