import cluster from "node:cluster";
import {
  type ChangeFeed,
  decodeChange,
  encodeChange,
  OutageListeners,
  TopicListeners,
} from "../session/change-feed";

/** What a worker sends its primary with a change, and the primary sends every worker. */
interface ChangeMessage {
  sessionqlChange: string;
}

function isChangeMessage(message: unknown): message is ChangeMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    typeof (message as ChangeMessage).sessionqlChange === "string"
  );
}

/**
 * Session changes between the workers of `--workers` on SQLite: the file is shared but has no publish of its
 * own, so each change goes to the cluster primary over the IPC channel and the primary hands it to every worker,
 * the sender included (see `relayChanges`).
 */
export function clusterChangeFeed(): ChangeFeed {
  const listeners = new TopicListeners();
  const outages = new OutageListeners();
  const onMessage = (message: unknown) => {
    if (!isChangeMessage(message)) return;
    const change = decodeChange(message.sessionqlChange);
    if (change !== undefined) listeners.deliver(change);
  };
  process.on("message", onMessage);
  return {
    async publish(change) {
      process.send?.({ sessionqlChange: encodeChange(change) } satisfies ChangeMessage);
    },
    async watch(topic, listener) {
      listeners.add(topic, listener);
      return async () => {
        listeners.remove(topic, listener);
      };
    },
    onOutage: (listener) => outages.add(listener),
    async close() {
      process.off("message", onMessage);
    },
  };
}

/** In the cluster primary: passes every worker's change on to all the workers. */
export function relayChanges(): void {
  cluster.on("message", (_sender, message: unknown) => {
    if (!isChangeMessage(message)) return;
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) worker.send(message);
    }
  });
}

/** Whether this process is a worker of `--workers`, whose changes must reach the other workers. */
export const inClusterWorker = (): boolean => cluster.isWorker;
