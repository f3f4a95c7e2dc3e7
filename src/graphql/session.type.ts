import { Arg, Field, FieldResolver, ID, Int, ObjectType, Resolver, Root } from "type-graphql";
import type { RequestSession } from "../http/request-session";
import { publicGet, publicHas, publicItems, publicKeyExpiresAt, publicKeys } from "./public-view";
import { DateTimeISOScalar, JSONObjectScalar, JSONScalar } from "./scalars";

/** The GraphQL face of a request's session; its fields are resolved by SessionFieldsResolver. */
@ObjectType("Session", { description: "The caller's session, found through the session cookie." })
export class SessionType {}

/** What setSessionDefault answers. */
@ObjectType("SetSessionDefaultResult")
export class SetSessionDefaultResult {
  @Field(() => Boolean, { description: "Whether `key` already held a value (then nothing was saved)." })
  found!: boolean;

  @Field(() => JSONScalar, { nullable: true, description: "The value now stored under `key`." })
  value!: unknown;

  @Field(() => SessionType)
  session!: RequestSession;
}

/** What popSession answers. */
@ObjectType("PopSessionResult")
export class PopSessionResult {
  @Field(() => Boolean, { description: "Whether `key` was present." })
  found!: boolean;

  @Field(() => JSONScalar, {
    nullable: true,
    description: "The removed value, or `default` when `key` was absent.",
  })
  value!: unknown;

  @Field(() => SessionType)
  session!: RequestSession;
}

/**
 * Reads each Session field from the request's session, showing no private key; keys are checked against the
 * limits like everywhere else.
 */
@Resolver(() => SessionType)
export class SessionFieldsResolver {
  @FieldResolver(() => ID, {
    nullable: true,
    description:
      "A stable, non-secret handle for this session (never the cookie value); null until the session is stored. Changes when the key is cycled.",
  })
  id(@Root() request: RequestSession): string | null {
    return request.publicId();
  }

  @FieldResolver(() => JSONObjectScalar, { description: "Every entry, as one JSON object." })
  data(@Root() request: RequestSession): Record<string, unknown> {
    return publicItems(request);
  }

  @FieldResolver(() => [String])
  keys(@Root() request: RequestSession): string[] {
    return publicKeys(request);
  }

  @FieldResolver(() => JSONScalar, {
    nullable: true,
    description: "The value stored under `key`, or `default` when there is none.",
  })
  get(
    @Root() request: RequestSession,
    @Arg("key", () => String) key: string,
    @Arg("default", () => JSONScalar, { nullable: true }) defaultValue: unknown,
  ): unknown {
    return publicGet(request, key, defaultValue ?? null);
  }

  @FieldResolver(() => Boolean)
  has(@Root() request: RequestSession, @Arg("key", () => String) key: string): boolean {
    return publicHas(request, key);
  }

  @FieldResolver(() => Boolean)
  isEmpty(@Root() { session }: RequestSession): boolean {
    return session.isEmpty();
  }

  @FieldResolver(() => DateTimeISOScalar, {
    nullable: true,
    description: "When the session expires; null when it ends with the browser.",
  })
  expiresAt(@Root() { session }: RequestSession): Date | null {
    return session.getExpireAtBrowserClose() ? null : session.getExpiryDate();
  }

  @FieldResolver(() => Int, {
    description: "Seconds until the session expires (the cookie age for a browser-close session).",
  })
  expiryAge(@Root() { session }: RequestSession): number {
    return session.getExpiryAge();
  }

  @FieldResolver(() => Boolean)
  expireAtBrowserClose(@Root() { session }: RequestSession): boolean {
    return session.getExpireAtBrowserClose();
  }

  @FieldResolver(() => Int, {
    description: "Goes up by one with every saved change; 0 for a session never stored.",
  })
  version(@Root() { session }: RequestSession): number {
    return session.version;
  }

  @FieldResolver(() => DateTimeISOScalar, {
    nullable: true,
    description:
      "When the session was first stored; null until then. Kept by every later save and by cycleSessionKey.",
  })
  createdAt(@Root() { session }: RequestSession): Date | null {
    return session.createdAtMs === undefined ? null : new Date(session.createdAtMs);
  }

  @FieldResolver(() => DateTimeISOScalar, {
    nullable: true,
    description:
      "When the entry under `key` expires on its own (set with `expiresIn`); null when it has no expiry or is absent.",
  })
  keyExpiresAt(@Root() request: RequestSession, @Arg("key", () => String) key: string): Date | null {
    return publicKeyExpiresAt(request, key);
  }
}
