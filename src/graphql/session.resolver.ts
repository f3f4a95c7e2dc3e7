import { Arg, Ctx, Int, Mutation, Query, Resolver } from "type-graphql";
import type { RequestSession } from "../http/request-session";
import { BadInputError } from "../session/errors";
import { codedErrors, sessionGraphQLError } from "./errors";
import { refusePrivateKeys } from "./public-view";
import { DateTimeISOScalar, JSONObjectScalar, JSONScalar } from "./scalars";
import { PopSessionResult, SessionType, SetSessionDefaultResult } from "./session.type";
import { REQUEST_SESSION, type SessionContext, type WriteOptions } from "./session-context";

/** `ifVersion`, which every mutation takes. */
const IF_VERSION = ["ifVersion", () => Int, { nullable: true }] as const;

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

  @Mutation(() => SessionType, {
    description:
      "Store `value` under `key`; with `expiresIn`, the entry disappears by itself after that many seconds.",
  })
  async setSession(
    @Arg("key", () => String) key: string,
    @Arg("value", () => JSONScalar) value: unknown,
    @Arg("expiresIn", () => Int, { nullable: true }) expiresIn: number | null,
    @Arg(...IF_VERSION) ifVersion: number | null,
    @Ctx() { session }: SessionContext,
  ): Promise<RequestSession> {
    refusePrivateKeys(session[REQUEST_SESSION], [key]);
    await session.set(key, value, { expiresIn: expiresIn ?? undefined, ...versioned(ifVersion) });
    return session[REQUEST_SESSION];
  }

  @Mutation(() => SetSessionDefaultResult, {
    description: "Store `value` under `key` unless `key` already holds a value (Django's setdefault).",
  })
  async setSessionDefault(
    @Arg("key", () => String) key: string,
    @Arg("value", () => JSONScalar) value: unknown,
    @Arg("expiresIn", () => Int, { nullable: true }) expiresIn: number | null,
    @Arg(...IF_VERSION) ifVersion: number | null,
    @Ctx() { session }: SessionContext,
  ): Promise<SetSessionDefaultResult> {
    refusePrivateKeys(session[REQUEST_SESSION], [key]);
    const result = await session.modify(
      (draft) => draft.setDefault(key, value, expiresIn ?? undefined),
      versioned(ifVersion),
    );
    return { ...result, session: session[REQUEST_SESSION] };
  }

  @Mutation(() => PopSessionResult, { description: "Remove `key` and return what it held." })
  async popSession(
    @Arg("key", () => String) key: string,
    @Arg("default", () => JSONScalar, { nullable: true }) defaultValue: unknown,
    @Arg(...IF_VERSION) ifVersion: number | null,
    @Ctx() { session }: SessionContext,
  ): Promise<PopSessionResult> {
    refusePrivateKeys(session[REQUEST_SESSION], [key]);
    const popped = await session.pop(key, defaultValue ?? null, versioned(ifVersion));
    return { ...popped, session: session[REQUEST_SESSION] };
  }

  @Mutation(() => SessionType, {
    description: "Remove every entry; an empty session is deleted and its cookie expired.",
  })
  async clearSession(
    @Arg(...IF_VERSION) ifVersion: number | null,
    @Ctx() { session }: SessionContext,
  ): Promise<RequestSession> {
    await session.clear(versioned(ifVersion));
    return session[REQUEST_SESSION];
  }

  @Mutation(() => SessionType, { description: "Store every entry of `values` (like dict.update)." })
  async updateSession(
    @Arg("values", () => JSONObjectScalar) values: Record<string, unknown>,
    @Arg(...IF_VERSION) ifVersion: number | null,
    @Ctx() { session }: SessionContext,
  ): Promise<RequestSession> {
    refusePrivateKeys(session[REQUEST_SESSION], Object.keys(values));
    await session.update(values, versioned(ifVersion));
    return session[REQUEST_SESSION];
  }

  @Mutation(() => SessionType, {
    description: "Delete the session and its data and expire the cookie (logout).",
  })
  async flushSession(
    @Arg(...IF_VERSION) ifVersion: number | null,
    @Ctx() { session }: SessionContext,
  ): Promise<RequestSession> {
    await session.flush(versioned(ifVersion));
    return session[REQUEST_SESSION];
  }

  @Mutation(() => SessionType, {
    description: "Keep the data under a new session key; the old key stops working (call on login).",
  })
  async cycleSessionKey(
    @Arg(...IF_VERSION) ifVersion: number | null,
    @Ctx() { session }: SessionContext,
  ): Promise<RequestSession> {
    await session.cycleKey(versioned(ifVersion));
    return session[REQUEST_SESSION];
  }

  @Mutation(() => SessionType, {
    description:
      "Seconds of inactivity before expiry (> 0; 0 = when the browser closes), or a fixed moment `at`; neither = the default policy.",
  })
  async setSessionExpiry(
    @Arg("seconds", () => Int, { nullable: true }) seconds: number | null,
    @Arg("at", () => DateTimeISOScalar, { nullable: true }) at: Date | null,
    @Arg(...IF_VERSION) ifVersion: number | null,
    @Ctx() { session }: SessionContext,
  ): Promise<RequestSession> {
    if (at !== null && at !== undefined && seconds !== null && seconds !== undefined) {
      throw sessionGraphQLError(new BadInputError("give seconds or at, not both"));
    }
    await session.setExpiry(at ?? seconds ?? null, versioned(ifVersion));
    return session[REQUEST_SESSION];
  }
}

function versioned(ifVersion: number | null | undefined): WriteOptions {
  return ifVersion === null || ifVersion === undefined ? {} : { ifVersion };
}
