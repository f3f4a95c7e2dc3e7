import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";
import { type ChangeFeed, topicOf } from "../../src/session/change-feed";
import type { SessionRecord, SessionStore } from "../../src/session/store";
import { ManualClock } from "./clock";

/** The subscription of the contract, with every field a test looks at. */
export const SESSION_CHANGED = "subscription { sessionChanged { id version data isEmpty } }";

/** One event of `sessionChanged`. */
export interface ShownSession {
  id: string | null;
  version: number;
  data: Record<string, unknown>;
  isEmpty: boolean;
}

/** The empty session, as a subscriber is sent it when its session ends. */
export const EMPTY_SESSION: ShownSession = { id: null, version: 0, data: {}, isEmpty: true };

/**
 * A clock that follows real time (the live timers are real `setTimeout`s, so expiry needs a clock that moves on
 * its own), plus whatever a test adds with `advance`.
 */
export class RealClock extends ManualClock {
  private offsetMs = 0;

  override now(): number {
    return Date.now() + this.offsetMs;
  }

  override advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

/** The ws:// URL of a server's GraphQL endpoint, from its http:// URL. */
export function wsUrlOf(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}

/** What a socket sends with its upgrade and its connection_init. */
export interface SocketOptions {
  cookie?: string;
  origin?: string;
  connectionParams?: Record<string, unknown>;
}

/** A graphql-ws client of its own connection, with the close codes it saw. */
export interface LiveClient {
  client: Client;
  /** Close codes of the connection, in order. */
  readonly closes: number[];
  dispose(): Promise<void>;
}

/** A graphql-ws client (no retries, connecting on the first subscription) whose upgrade carries `options`. */
export function liveClient(url: string, options: SocketOptions = {}): LiveClient {
  const headers: Record<string, string> = {};
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.origin !== undefined) headers.origin = options.origin;
  class HeaderWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const closes: number[] = [];
  const client = createClient({
    url,
    webSocketImpl: HeaderWebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: options.connectionParams,
    on: {
      closed: (event) => {
        closes.push((event as { code: number }).code);
      },
    },
  });
  return { client, closes, dispose: () => client.dispose() as Promise<void> };
}

/** How a subscription ended. */
export type SubscriptionEnd = { complete: true } | { error: unknown };

/** The events of one subscription, with ways to wait for them. */
export interface Subscription<T> {
  readonly events: T[];
  /** Undefined while the subscription runs. */
  readonly ended: SubscriptionEnd | undefined;
  /** Resolves with the `count`th event once it has arrived; rejects after `timeoutMs`. */
  nth(count: number, timeoutMs?: number): Promise<T>;
  /** Resolves with how the subscription ended; rejects after `timeoutMs`. */
  end(timeoutMs?: number): Promise<SubscriptionEnd>;
  /** Waits `ms` and resolves with the events that arrived meanwhile. */
  during(ms: number): Promise<T[]>;
  unsubscribe(): void;
}

/** Subscribes with `query` on `client` and keeps what it is sent (`data` of each result). */
export function subscribe<T = ShownSession>(
  live: LiveClient,
  query = SESSION_CHANGED,
  pick: (data: Record<string, unknown>) => T = (data) => data.sessionChanged as T,
): Subscription<T> {
  const events: T[] = [];
  let ended: SubscriptionEnd | undefined;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const unsubscribe = live.client.subscribe<Record<string, unknown>>(
    { query },
    {
      next: (result) => {
        if (result.errors !== undefined) ended ??= { error: result.errors };
        else events.push(pick(result.data ?? {}));
        wake();
      },
      error: (error) => {
        ended ??= { error };
        wake();
      },
      complete: () => {
        ended ??= { complete: true };
        wake();
      },
    },
  );
  const until = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; had ${JSON.stringify(events)}, ended ${JSON.stringify(ended)}`,
          ),
        );
      }, timeoutMs);
      waiters.add(check);
    });
  return {
    events,
    get ended() {
      return ended;
    },
    async nth(count, timeoutMs = 3000) {
      await until(() => events.length >= count, `event ${count}`, timeoutMs);
      return events[count - 1] as T;
    },
    async end(timeoutMs = 3000) {
      await until(() => ended !== undefined, "the end of the subscription", timeoutMs);
      return ended as SubscriptionEnd;
    },
    async during(ms) {
      const before = events.length;
      await new Promise((resolve) => setTimeout(resolve, ms));
      return events.slice(before);
    },
    unsubscribe,
  };
}

/** The `extensions.code` of the first GraphQL error a subscription ended with, if any. */
export function errorCodeOf(end: SubscriptionEnd): string | undefined {
  if (!("error" in end)) return undefined;
  const errors = end.error as Array<{ extensions?: { code?: string } }> | undefined;
  return Array.isArray(errors) ? errors[0]?.extensions?.code : undefined;
}

/**
 * Tells when a follower of a session on the instance over `store` is set up: its feed watch confirmed and its
 * first read of the session done. A change saved after that must reach it; graphql-ws itself has no
 * acknowledgement of a subscription a client could wait for. It wraps the store's `changes.watch` and `load`.
 */
export interface FollowTracker {
  /** Followers set up so far. */
  readonly count: number;
  /** Resolves once `count` followers have been set up in all; rejects after `timeoutMs`. */
  reach(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Holds the first read of the next follower until the returned function is called, to put a change between
   * its watch and its read.
   */
  holdNextFirstRead(): { held: Promise<void>; release: () => void };
}

export function trackFollows(store: SessionStore): FollowTracker {
  const feed = store.changes;
  if (feed === undefined) throw new Error("the store has no change feed to track");
  /** Topics whose watch was confirmed and whose first read has not yet begun, with how many such. */
  const watched = new Map<string, number>();
  let count = 0;
  const waiters = new Set<() => void>();
  let hold: { gate: Promise<void>; reached: () => void } | undefined;

  const watch = feed.watch.bind(feed);
  (feed as { watch: ChangeFeed["watch"] }).watch = async (topic, listener) => {
    const unwatch = await watch(topic, listener);
    watched.set(topic, (watched.get(topic) ?? 0) + 1);
    return unwatch;
  };
  const load = store.load.bind(store);
  (store as { load: (sessionKey: string) => Promise<SessionRecord | undefined> }).load = async (
    sessionKey,
  ) => {
    const topic = topicOf(sessionKey);
    const pending = watched.get(topic) ?? 0;
    if (pending === 0) return load(sessionKey);
    if (pending === 1) watched.delete(topic);
    else watched.set(topic, pending - 1);
    const holding = hold;
    hold = undefined;
    if (holding !== undefined) {
      holding.reached();
      await holding.gate;
    }
    try {
      return await load(sessionKey);
    } finally {
      count++;
      for (const waiter of [...waiters]) waiter();
    }
  };

  return {
    get count() {
      return count;
    },
    reach(target, timeoutMs = 3000) {
      return new Promise<void>((resolve, reject) => {
        if (count >= target) return resolve();
        const check = () => {
          if (count < target) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`only ${count} of ${target} followers were set up within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    holdNextFirstRead() {
      let release = () => {};
      let reached = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const held = new Promise<void>((resolve) => {
        reached = resolve;
      });
      hold = { gate, reached };
      return { held, release };
    },
  };
}

/** A bare `ws` connection speaking graphql-transport-ws by hand, for what the graphql-ws client hides. */
export interface RawSocket {
  socket: WebSocket;
  /** Resolves with the HTTP status when the upgrade is refused, or 101 once the socket opens. */
  readonly opened: Promise<number>;
  /** Resolves with the close code once the connection is closed. */
  readonly closed: Promise<number>;
  /** Sends connection_init and resolves once connection_ack arrives (rejects if the socket closes first). */
  init(payload?: Record<string, unknown>): Promise<void>;
  close(): void;
}

export function rawSocket(url: string, headers: Record<string, string> = {}, autoPong = true): RawSocket {
  const socket = new WebSocket(url, "graphql-transport-ws", { headers, autoPong });
  socket.on("error", () => undefined);
  const opened = new Promise<number>((resolve) => {
    socket.once("open", () => resolve(101));
    socket.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
  });
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  return {
    socket,
    opened,
    closed,
    async init(payload) {
      if ((await opened) !== 101) throw new Error("the upgrade was refused");
      const acked = new Promise<void>((resolve, reject) => {
        const onMessage = (data: WebSocket.RawData) => {
          if ((JSON.parse(String(data)) as { type?: string }).type !== "connection_ack") return;
          socket.off("message", onMessage);
          resolve();
        };
        socket.on("message", onMessage);
        closed.then((code) => reject(new Error(`closed with ${code} before connection_ack`)));
      });
      socket.send(JSON.stringify({ type: "connection_init", ...(payload ? { payload } : {}) }));
      return acked;
    },
    close: () => socket.terminate(),
  };
}

/** Rejects with `what` once `ms` have passed, unless `promise` settles first. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
