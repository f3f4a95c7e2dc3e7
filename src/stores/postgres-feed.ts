import { Client, type Pool } from "pg";
import {
  type ChangeFeed,
  decodeChange,
  encodeChange,
  OutageListeners,
  TopicListeners,
} from "../session/change-feed";
import { StoreUnavailableError } from "../session/errors";

/** The channel every instance of one database listens on. */
export const CHANGES_CHANNEL = "sessionql_changes";
const CHANNEL = CHANGES_CHANNEL;

/**
 * Session changes over PostgreSQL's LISTEN/NOTIFY. Every instance listens on one channel, on a connection of its
 * own (a listening connection must stay out of the pool), and picks the topics its watchers follow. A NOTIFY
 * carries only the topic, kind and version (about 40 bytes, far below the 8,000-byte payload limit); the
 * subscriber reads the session itself.
 *
 * When the listening connection drops, notifications sent meanwhile are lost for good, so the outage is
 * reported and the connection is opened again by the next watch.
 */
export function postgresChangeFeed(pool: Pool, url: string, connectTimeoutMs: number): ChangeFeed {
  const listeners = new TopicListeners();
  const outages = new OutageListeners();
  let listening: Promise<Client> | undefined;
  let closed = false;

  const listen = (): Promise<Client> => {
    listening ??= (async () => {
      const client = new Client({
        connectionString: url,
        connectionTimeoutMillis: connectTimeoutMs,
        keepAlive: true,
        application_name: "sessionql-listen",
      });
      const drop = (error: unknown) => {
        if (listening === undefined) return;
        listening = undefined;
        client.end().catch(() => {});
        outages.report(
          error instanceof Error ? error : new Error("the PostgreSQL listening connection ended"),
        );
      };
      client.on("error", drop);
      client.on("end", () => drop(new Error("the PostgreSQL listening connection ended")));
      client.on("notification", (message) => {
        if (message.channel !== CHANNEL || message.payload === undefined) return;
        const change = decodeChange(message.payload);
        if (change !== undefined) listeners.deliver(change);
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
      } catch (error) {
        listening = undefined;
        client.end().catch(() => {});
        throw new StoreUnavailableError({ cause: error });
      }
      return client;
    })();
    return listening;
  };

  return {
    // The UPDATE of a save carries its NOTIFY (postgres-adapter.ts), so a write stays one statement.
    sentWithSaves: true,
    async publish(change) {
      await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, encodeChange(change)]);
    },
    async watch(topic, listener) {
      if (closed) throw new StoreUnavailableError();
      await listen();
      listeners.add(topic, listener);
      return async () => {
        listeners.remove(topic, listener);
      };
    },
    onOutage: (listener) => outages.add(listener),
    async close() {
      closed = true;
      const client = listening;
      listening = undefined;
      if (client !== undefined) await (await client.catch(() => undefined))?.end().catch(() => {});
    },
  };
}
