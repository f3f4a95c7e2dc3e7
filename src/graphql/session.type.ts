import { Arg, Ctx, Field, FieldResolver, ID, Int, ObjectType, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../http/context";
import type { Session } from "../session/session";
import { DateTimeISOScalar, JSONObjectScalar, JSONScalar } from "./scalars";

/** The GraphQL face of a Session; its fields are resolved from the domain Session by SessionFieldsResolver. */
@ObjectType("Session", { description: "The caller's session, found through the session cookie." })
export class SessionType {}

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
  session!: Session;
}

/** Reads each Session field from the domain Session; keys are checked against the limits like everywhere else. */
@Resolver(() => SessionType)
export class SessionFieldsResolver {
  @FieldResolver(() => ID, {
    nullable: true,
    description:
      "A stable, non-secret handle for this session (never the cookie value); null until the session is stored. Changes when the key is cycled.",
  })
  id(@Root() session: Session, @Ctx() context: RequestContext): string | null {
    return context.sessions.publicId(session);
  }

  @FieldResolver(() => JSONObjectScalar, { description: "Every entry, as one JSON object." })
  data(@Root() session: Session): Record<string, unknown> {
    return session.items();
  }

  @FieldResolver(() => [String])
  keys(@Root() session: Session): string[] {
    return session.keys();
  }

  @FieldResolver(() => JSONScalar, {
    nullable: true,
    description: "The value stored under `key`, or `default` when there is none.",
  })
  get(
    @Root() session: Session,
    @Arg("key", () => String) key: string,
    @Arg("default", () => JSONScalar, { nullable: true }) defaultValue: unknown,
  ): unknown {
    return session.get(key, defaultValue ?? null);
  }

  @FieldResolver(() => Boolean)
  has(@Root() session: Session, @Arg("key", () => String) key: string): boolean {
    return session.has(key);
  }

  @FieldResolver(() => Boolean)
  isEmpty(@Root() session: Session): boolean {
    return session.isEmpty();
  }

  @FieldResolver(() => DateTimeISOScalar, {
    nullable: true,
    description: "When the session expires; null when it ends with the browser.",
  })
  expiresAt(@Root() session: Session): Date | null {
    return session.getExpireAtBrowserClose() ? null : session.getExpiryDate();
  }

  @FieldResolver(() => Int, {
    description: "Seconds until the session expires (the cookie age for a browser-close session).",
  })
  expiryAge(@Root() session: Session): number {
    return session.getExpiryAge();
  }

  @FieldResolver(() => Boolean)
  expireAtBrowserClose(@Root() session: Session): boolean {
    return session.getExpireAtBrowserClose();
  }

  @FieldResolver(() => Int, {
    description: "Goes up by one with every saved change; 0 for a session never stored.",
  })
  version(@Root() session: Session): number {
    return session.version;
  }
}
