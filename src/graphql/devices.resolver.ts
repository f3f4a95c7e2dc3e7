import { Arg, Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from "type-graphql";
import { BadInputError } from "../session/errors";
import { codedErrors, sessionGraphQLError } from "./errors";
import { DateTimeISOScalar } from "./scalars";
import { REQUEST_SESSION, type SessionContext } from "./session-context";

/** A session id (`Session.id`) is 22 characters; anything much longer names no session. */
const MAX_SESSION_ID_LENGTH = 64;

/** One live session of the caller's user, for a "your devices" page. */
@ObjectType("SessionInfo")
export class SessionInfo {
  @Field(() => ID, { description: "The public id of that session (Session.id)." })
  id!: string;

  @Field(() => Boolean, { description: "Whether it is the caller's own session." })
  current!: boolean;

  @Field(() => DateTimeISOScalar)
  createdAt!: Date;

  @Field(() => DateTimeISOScalar, { description: "Its last save." })
  lastSeenAt!: Date;

  @Field(() => DateTimeISOScalar, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => String, {
    nullable: true,
    description: "The User-Agent it logged in with, cut to 256 characters.",
  })
  userAgent!: string | null;
}

/**
 * The caller's own user's sessions: listed, and ended one by one or all but the caller's. Everything is scoped to
 * the user the caller's session is logged in as, so no caller can see or end another user's sessions.
 */
@Resolver()
export class DevicesResolver {
  @Query(() => [SessionInfo], {
    description:
      "Every live session of the caller's user, newest first; empty when the caller is not logged in.",
  })
  async mySessions(@Ctx() { session }: SessionContext): Promise<SessionInfo[]> {
    const userId = await session.userId();
    if (userId === null) return [];
    const request = session[REQUEST_SESSION];
    const current = request.publicId();
    const listed = await codedErrors(() => request.layer.sessions.userSessions(userId));
    return listed.map((info) => ({ ...info, current: info.id === current }));
  }

  @Mutation(() => Boolean, {
    description:
      "End one session of the caller's own user; false when there is no such session of this user.",
  })
  async revokeSession(@Arg("id", () => ID) id: string, @Ctx() { session }: SessionContext): Promise<boolean> {
    if (id.length > MAX_SESSION_ID_LENGTH) {
      throw sessionGraphQLError(
        new BadInputError(`id must be at most ${MAX_SESSION_ID_LENGTH} characters, got ${id.length}`),
      );
    }
    const userId = await session.userId();
    if (userId === null) return false;
    const request = session[REQUEST_SESSION];
    // Ending one's own session is a logout: the cookie is expired with it.
    if (id === request.publicId()) {
      await session.flush();
      return true;
    }
    return codedErrors(() => request.layer.sessions.revokeUserSession(userId, id));
  }

  @Mutation(() => Int, {
    description: "End every session of the caller's user but the caller's own; how many ended.",
  })
  async revokeOtherSessions(@Ctx() { session }: SessionContext): Promise<number> {
    const userId = await session.userId();
    if (userId === null) return 0;
    const request = session[REQUEST_SESSION];
    const current = request.publicId();
    return codedErrors(() =>
      request.layer.sessions.revokeUserSessions(userId, { except: current === null ? [] : [current] }),
    );
  }
}
