import { type ChangeFeed, type SessionChange, topicOf, type Unwatch } from "./change-feed";
import { StoreUnavailableError } from "./errors";
import type { SessionService } from "./service";
import type { Clock, Session } from "./session";

/** How a followed session stopped: it ended (flushed, emptied, revoked, expired), or moved to a new key. */
export type FollowEnd = "ended" | "rekeyed";

/** What a follower is told; each is called on a later tick than the change that caused it. */
export interface FollowHandlers {
  /** The session changed: here it is as it now is, read after the change. */
  changed(session: Session): void;
  /** The session is over for this key; nothing more follows. */
  ended(how: FollowEnd): void;
  /** The feed or the store failed, so changes may go unseen; nothing more follows. */
  failed(error: unknown): void;
}

/** How a follow starts. */
export interface FollowOptions {
  /**
   * The version the follower last saw (from a query): when the session is already past it once following has
   * begun, the follower is told at once, so a change saved between its query and its subscription is not missed.
   */
  sinceVersion?: number;
}

/** The longest a timer may wait in Node (about 24.8 days); a later expiry is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Live sessions: follows a session by its key and tells the follower of every saved change, whichever instance
 * saved it, through the store's change feed. Each change is only a nudge: the follower's session is read again
 * from the store, so what it gets is the session as stored, never a message's copy of it. The session's own
 * expiry, and that of its `expiresIn` entries, is watched with a timer, since nothing is saved when they pass.
 */
export class LiveSessions {
  private readonly following = new Set<Follow>();
  private readonly stopOutages: () => void;

  constructor(
    private readonly service: SessionService,
    private readonly feed: ChangeFeed,
    private readonly clock: Clock,
  ) {
    // Changes published while the feed was away are lost, so every follower ends with the error and its client
    // subscribes again (and reads the session afresh) once the store is back.
    this.stopOutages = feed.onOutage((error) => {
      for (const follow of [...this.following]) follow.fail(new StoreUnavailableError({ cause: error }));
    });
  }

  /** How many sessions are followed on this instance. */
  get size(): number {
    return this.following.size;
  }

  /**
   * Starts following the session under `sessionKey`; resolves, with the function that stops it, once changes
   * are being received and the session has been read. A session that is not stored ends at once. Rejects with
   * STORE_UNAVAILABLE when the feed or the store cannot be reached.
   */
  async follow(
    sessionKey: string,
    handlers: FollowHandlers,
    options: FollowOptions = {},
  ): Promise<() => void> {
    const follow = new Follow(this, sessionKey, handlers, options.sinceVersion);
    this.following.add(follow);
    try {
      await follow.start();
    } catch (error) {
      follow.stop();
      throw error;
    }
    return () => follow.stop();
  }

  /** Stops every follower without a word (the sockets are closing anyway). */
  close(): void {
    this.stopOutages();
    for (const follow of [...this.following]) follow.stop();
  }

  /** @internal */
  watch(topic: string, listener: (change: SessionChange) => void): Promise<Unwatch> {
    return this.feed.watch(topic, listener);
  }

  /** @internal The session under `sessionKey` as stored now. */
  async read(sessionKey: string): Promise<Session> {
    const session = this.service.open(sessionKey, true);
    await this.service.read(session);
    return session;
  }

  /** @internal */
  now(): number {
    return this.clock.now();
  }

  /** @internal */
  forget(follow: Follow): void {
    this.following.delete(follow);
  }
}

/** One follower of one session. */
class Follow {
  private unwatch: Unwatch | undefined;
  private stopped = false;
  private version = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the next `expiresIn` entry of the session last read ends. */
  private entryDueAt: number | undefined;
  /** Reads run one after another, so the follower is told of versions in order. */
  private reading: Promise<void> = Promise.resolve();
  private readonly topic: string;

  constructor(
    private readonly live: LiveSessions,
    private readonly sessionKey: string,
    private readonly handlers: FollowHandlers,
    private readonly sinceVersion: number | undefined,
  ) {
    this.topic = topicOf(sessionKey);
  }

  async start(): Promise<void> {
    // Watching first, then reading: a change saved between the two is seen either in the read or as a message.
    const unwatch = await this.live.watch(this.topic, (change) => this.onChange(change));
    if (this.stopped) {
      await unwatch();
      return;
    }
    this.unwatch = unwatch;
    const session = await this.live.read(this.sessionKey);
    if (this.stopped) return;
    if (session.sessionKey !== undefined) {
      this.version = session.version;
      this.schedule(session);
      if (this.sinceVersion !== undefined && session.version > this.sinceVersion)
        this.handlers.changed(session);
    } else this.end("ended");
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.live.forget(this);
    this.unwatch?.().catch(() => {});
  }

  fail(error: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.failed(error);
  }

  private end(how: "ended" | "rekeyed"): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.ended(how);
  }

  private onChange(change: SessionChange): void {
    if (this.stopped) return;
    if (change.kind === "rekeyed") {
      this.end("rekeyed");
      return;
    }
    if (change.kind === "ended") {
      this.end("ended");
      return;
    }
    if (change.version > this.version) this.readAgain(false);
  }

  /** Reads the session again and tells the follower; `expiring`: a timer fired, so entries may have gone. */
  private readAgain(expiring: boolean): void {
    this.reading = this.reading.then(async () => {
      if (this.stopped) return;
      try {
        const session = await this.live.read(this.sessionKey);
        if (this.stopped) return;
        if (session.sessionKey === undefined) {
          this.end("ended");
          return;
        }
        const newer = session.version > this.version;
        const entriesWent = expiring && this.entryDueAt !== undefined && this.entryDueAt <= this.live.now();
        this.version = Math.max(this.version, session.version);
        this.schedule(session);
        if (newer || entriesWent) this.handlers.changed(session);
      } catch (error) {
        this.fail(error);
      }
    });
  }

  /** Wakes up when the session expires or its next `expiresIn` entry ends, whichever is first. */
  private schedule(session: Session): void {
    clearTimeout(this.timer);
    this.entryDueAt = session.nextEntryExpiryMs();
    const ends = [session.expiresAtMs, this.entryDueAt].filter((at) => at !== undefined);
    if (ends.length === 0) return;
    const delay = Math.min(Math.max(0, Math.min(...ends) - this.live.now()) + 1, MAX_TIMER_MS);
    this.timer = setTimeout(() => this.readAgain(true), delay);
    this.timer.unref();
  }
}
