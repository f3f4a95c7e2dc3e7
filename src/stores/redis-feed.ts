import type { RedisClientType, RedisClusterType } from "@redis/client";
import {
  type ChangeFeed,
  decodeChange,
  encodeChange,
  OutageListeners,
  type SessionChange,
  TopicListeners,
} from "../session/change-feed";
import { StoreUnavailableError } from "../session/errors";

/** Redis's publish and subscribe, on either client. */
interface PubSubCommands {
  publish(channel: string, message: string): Promise<number>;
  sPublish(channel: string, message: string): Promise<number>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string, listener?: (message: string) => void): Promise<void>;
  sSubscribe(channel: string, listener: (message: string) => void): Promise<void>;
  sUnsubscribe(channel: string, listener?: (message: string) => void): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  readonly isReady?: boolean;
  readonly isOpen: boolean;
  duplicate(): PubSubCommands;
}

/** The channel a session's changes are published on. */
export const changeChannel = (topic: string): string => `sessionql:changed:${topic}`;

/**
 * Session changes over Redis pub/sub: one channel per session topic, subscribed while this instance has a watcher
 * of it, so an instance only hears the sessions its own sockets follow. On a Redis Cluster the channels are
 * sharded (SPUBLISH / SSUBSCRIBE): each lives on the node of its hash slot, and a change travels through that node
 * alone instead of being broadcast to every node of the cluster.
 *
 * A single server needs a connection of its own for subscribing (a subscribed connection takes no other command);
 * the cluster client keeps its sharded subscriptions on connections of their own already. When the subscribing
 * connection drops, the client resubscribes once it is back, but changes published meanwhile are gone: the
 * outage is reported, so that the watchers end and their clients subscribe again.
 */
export function redisChangeFeed(
  client: RedisClientType | RedisClusterType,
  onCluster: boolean,
  /** Connects the store's client (a cluster's, whose own pub/sub connections then serve the subscriptions). */
  ready: () => Promise<void>,
): ChangeFeed {
  const commands = client as unknown as PubSubCommands;
  const listeners = new TopicListeners();
  const outages = new OutageListeners();
  const channelOf = changeChannel;
  const onMessage = (message: string) => {
    const change = decodeChange(message);
    if (change !== undefined) listeners.deliver(change);
  };
  let subscriber: PubSubCommands | undefined;
  let connecting: Promise<PubSubCommands> | undefined;
  let closed = false;
  /** The SUBSCRIBE of a topic's first watcher, which later watchers of the topic wait on too. */
  const subscribing = new Map<string, Promise<void>>();
  const usable = (connection: PubSubCommands) => connection.isReady ?? connection.isOpen;

  const lost = (error: unknown) => {
    outages.report(error instanceof Error ? error : new Error(String(error)));
  };
  const subscriberReady = (): Promise<PubSubCommands> => {
    if (subscriber !== undefined && usable(subscriber)) return Promise.resolve(subscriber);
    if (subscriber !== undefined) return Promise.reject(new StoreUnavailableError());
    connecting ??= (async () => {
      if (onCluster) {
        try {
          await ready();
        } catch (error) {
          throw new StoreUnavailableError({ cause: error });
        }
        commands.on("node-reconnecting", () => lost(new Error("a Redis Cluster node is reconnecting")));
        subscriber = commands;
        return commands;
      }
      const duplicate = commands.duplicate();
      duplicate.on("error", () => undefined);
      duplicate.on("reconnecting", () => lost(new Error("the Redis subscriber connection is reconnecting")));
      try {
        await duplicate.connect();
      } catch (error) {
        duplicate.destroy();
        throw new StoreUnavailableError({ cause: error });
      }
      subscriber = duplicate;
      return duplicate;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  return {
    // A save's change is published by the store's own script, or right behind it on a cluster (redis.ts).
    sentWithSaves: true,
    async publish(change: SessionChange) {
      const message = encodeChange(change);
      const channel = channelOf(change.topic);
      await (onCluster ? commands.sPublish(channel, message) : commands.publish(channel, message));
    },
    async watch(topic, listener) {
      if (closed) throw new StoreUnavailableError();
      const connection = await subscriberReady();
      const channel = channelOf(topic);
      if (listeners.add(topic, listener)) {
        const subscribed = onCluster
          ? connection.sSubscribe(channel, onMessage)
          : connection.subscribe(channel, onMessage);
        subscribing.set(topic, subscribed);
        subscribed.finally(() => subscribing.delete(topic)).catch(() => {});
      }
      try {
        await subscribing.get(topic);
      } catch (error) {
        listeners.remove(topic, listener);
        throw new StoreUnavailableError({ cause: error });
      }
      return async () => {
        if (!listeners.remove(topic, listener) || !usable(connection)) return;
        await (onCluster ? connection.sUnsubscribe(channel) : connection.unsubscribe(channel)).catch(
          () => {},
        );
      };
    },
    onOutage: (listener) => outages.add(listener),
    async close() {
      closed = true;
      const connection = subscriber;
      subscriber = undefined;
      if (connection !== undefined && connection !== commands) await connection.close().catch(() => {});
    },
  };
}
