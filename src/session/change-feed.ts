import { createHash } from "node:crypto";

/**
 * What happened to a session: saved with a new version, ended (flushed, emptied, revoked, a login of another user),
 * or moved to a new key (cycleKey, login), which ends the old key without emptying the session.
 */
export type SessionChangeKind = "saved" | "ended" | "rekeyed";

/**
 * One change as it travels between instances. It names the session by its topic (a hash of the key) and says
 * what happened, never what the session holds: a subscriber reads the session itself, so the message stays small
 * enough for any engine (PostgreSQL's NOTIFY takes 8,000 bytes) and carries no session data or key.
 */
export interface SessionChange {
  topic: string;
  kind: SessionChangeKind;
  /** The version saved ("saved"), or the last one the session had. */
  version: number;
}

/** Undoes a `watch`. */
export type Unwatch = () => Promise<void>;

/**
 * The store engine's publish and subscribe, through which every instance tells the others of the changes it
 * saved: Redis pub/sub, PostgreSQL LISTEN/NOTIFY, the cluster primary for SQLite workers, or this process alone.
 */
export interface ChangeFeed {
  /**
   * Whether the store's own save already tells its "saved" change, in the same round trip as the write (a NOTIFY
   * in the UPDATE, a PUBLISH pipelined behind the script), so the service must not tell it again.
   */
  readonly sentWithSaves?: boolean;
  /** Tells every instance's watchers of `change`, this instance's included. */
  publish(change: SessionChange): Promise<void>;
  /**
   * Delivers the changes of `topic` to `listener` until the returned function is called; resolves once the
   * engine has confirmed the subscription, so no change published afterwards is missed. Rejects while the feed
   * cannot reach its engine.
   */
  watch(topic: string, listener: (change: SessionChange) => void): Promise<Unwatch>;
  /**
   * Calls `listener` when the feed loses its engine, after which changes may have gone by unseen: every watcher
   * must then give up and be set up again. Returns the function that stops the calls.
   */
  onOutage(listener: (error: Error) => void): () => void;
  /** Ends every subscription and the connection behind them. */
  close(): Promise<void>;
}

/** The topic a session's changes travel under: a hash of its key, so no feed message carries a session key. */
export function topicOf(sessionKey: string): string {
  return createHash("sha256").update(sessionKey).digest("base64url").slice(0, 22);
}

/** The listeners of each topic, as every feed keeps them on its own side of the engine. */
export class TopicListeners {
  private readonly byTopic = new Map<string, Set<(change: SessionChange) => void>>();

  /** Adds `listener`; true when it is the topic's first, so the engine must be subscribed. */
  add(topic: string, listener: (change: SessionChange) => void): boolean {
    const listeners = this.byTopic.get(topic);
    if (listeners !== undefined) {
      listeners.add(listener);
      return false;
    }
    this.byTopic.set(topic, new Set([listener]));
    return true;
  }

  /** Removes `listener`; true when it was the topic's last, so the engine may be unsubscribed. */
  remove(topic: string, listener: (change: SessionChange) => void): boolean {
    const listeners = this.byTopic.get(topic);
    if (listeners === undefined || !listeners.delete(listener) || listeners.size > 0) return false;
    this.byTopic.delete(topic);
    return true;
  }

  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  topics(): IterableIterator<string> {
    return this.byTopic.keys();
  }

  /** Hands `change` to every listener of its topic. */
  deliver(change: SessionChange): void {
    const listeners = this.byTopic.get(change.topic);
    if (listeners === undefined) return;
    for (const listener of [...listeners]) listener(change);
  }
}

/** Outage listeners, as every feed keeps them. */
export class OutageListeners {
  private readonly listeners = new Set<(error: Error) => void>();

  add(listener: (error: Error) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  report(error: Error): void {
    for (const listener of [...this.listeners]) listener(error);
  }
}

/** A feed message as text, and back; a message that is not one of ours is dropped. */
export function encodeChange(change: SessionChange): string {
  return JSON.stringify([change.topic, change.kind, change.version]);
}

export function decodeChange(text: string): SessionChange | undefined {
  try {
    const [topic, kind, version] = JSON.parse(text) as unknown[];
    if (typeof topic !== "string" || typeof version !== "number") return undefined;
    if (kind !== "saved" && kind !== "ended" && kind !== "rekeyed") return undefined;
    return { topic, kind, version };
  } catch {
    return undefined;
  }
}

/** The feed of a store that lives in this process alone (memory, a single SQLite process, a Keyv instance). */
export function inProcessFeed(): ChangeFeed {
  const listeners = new TopicListeners();
  const outages = new OutageListeners();
  return {
    async publish(change) {
      // Delivered on a later tick, as a remote engine would, so a watcher never runs inside the saving request.
      queueMicrotask(() => listeners.deliver(change));
    },
    async watch(topic, listener) {
      listeners.add(topic, listener);
      return async () => {
        listeners.remove(topic, listener);
      };
    },
    onOutage: (listener) => outages.add(listener),
    async close() {},
  };
}
