import KeyvRedis, { type RedisClientConnectionType } from "@keyv/redis";
import {
  type CommandParser,
  createClient,
  createCluster,
  defineScript,
  type RedisClientOptions,
} from "@redis/client";
import { encodeChange, topicOf } from "../session/change-feed";
import type { Clock } from "../session/session";
import type { StoredSession } from "../session/store";
import {
  type AtomicWrites,
  envelope,
  fromEnvelope,
  KEYV_NAMESPACE,
  KeyvSessionStore,
  sessionKeyv,
} from "./keyv-store";
import { changeChannel, redisChangeFeed } from "./redis-feed";

/** A connect that has not finished by then fails, so an unreachable Redis is reported instead of awaited. */
const CONNECT_TIMEOUT_MS = 1000;
/** A command without a reply by then fails; the session service gives up on the whole operation at 1.5 s. */
const COMMAND_TIMEOUT_MS = 1000;
/** Reconnect quickly at first, then once a second, so service resumes within a second of Redis's return. */
const reconnectDelay = (retries: number) => Math.min(50 * 2 ** retries, 1000);

/**
 * Writes the record only while the live record's version is ARGV[1] ('' = only when there is no live record),
 * and answers 1; otherwise answers the live row that won (so the caller need not read it again), or 0 when
 * there is none. Liveness is judged against ARGV[2], the caller's clock, as every other store does; the native
 * TTL (ARGV[4]) makes Redis drop the key by itself once the session has expired. A save also publishes its change
 * (ARGV[6]) on the session's channel (ARGV[5], '' for none), so live sessions cost no command of their own.
 */
const SAVE_SCRIPT = defineScript({
  SCRIPT: `
local live
local stored = redis.call('GET', KEYS[1])
if stored then
  local record = cjson.decode(stored).value
  if record.expiresAtMs > tonumber(ARGV[2]) then live = record.version end
end
if ARGV[1] == '' then
  if live ~= nil then return stored end
elseif live ~= tonumber(ARGV[1]) then
  if live == nil then return 0 end
  return stored
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return 1`,
  NUMBER_OF_KEYS: 1,
  parseCommand(
    parser: CommandParser,
    key: string,
    expected: string,
    now: string,
    row: string,
    ttl: string,
    channel: string,
    change: string,
  ) {
    parser.pushKey(key);
    parser.push(expected, now, row, ttl, channel, change);
  },
  transformReply: (reply: unknown) => reply as number | string,
});

/** Deletes the key only while the stored record's version is ARGV[1]. */
const DELETE_SCRIPT = defineScript({
  SCRIPT: `
local stored = redis.call('GET', KEYS[1])
if not stored or cjson.decode(stored).value.version ~= tonumber(ARGV[1]) then return 0 end
redis.call('UNLINK', KEYS[1])
return 1`,
  NUMBER_OF_KEYS: 1,
  parseCommand(parser: CommandParser, key: string, expected: string) {
    parser.pushKey(key);
    parser.push(expected);
  },
  transformReply: (reply: unknown) => reply as number,
});

const scripts = { saveSession: SAVE_SCRIPT, deleteSession: DELETE_SCRIPT };

/** The two calls our atomic writes need, whichever client (single server or cluster) runs them. */
interface ScriptRunner {
  saveSession(
    key: string,
    expected: string,
    now: string,
    row: string,
    ttl: string,
    channel: string,
    change: string,
  ): Promise<number | string>;
  deleteSession(key: string, expected: string): Promise<number>;
}

/** The commands the user index takes, on either client. */
interface IndexCommands {
  zAdd(key: string, member: { score: number; value: string }): Promise<number>;
  zRangeWithScores(key: string, start: number, stop: number): Promise<{ value: string; score: number }[]>;
  zRem(key: string, members: string[]): Promise<number>;
  get(key: string): Promise<string | null>;
  mGet(keys: string[]): Promise<(string | null)[]>;
}

/** How many sessions one MGET of a listing reads at most, so no single command carries a whole large listing. */
const LIST_BATCH = 500;

/**
 * How long an index entry with no record behind it is left alone: a login writes the entry and the record at
 * once, but on a cluster they go to different nodes, so a listing may see the entry a moment before the record.
 */
const INDEX_GRACE_MS = 60_000;

const CLUSTER_SCHEME = "redis+cluster://";

/**
 * A store on Redis (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://h1:p1,h2:p2`). Each session is
 * one key, so everything about a session lives in one hash slot and each script touches a single key, which is
 * what lets it run on a cluster. Expiry is native: every save sets the key's TTL to the session's expiry age.
 */
export function createRedisStore(url: string, clock?: Clock): KeyvSessionStore {
  const client = url.startsWith(CLUSTER_SCHEME)
    ? createCluster({
        rootNodes: clusterRootNodes(url).map((node) => ({ url: node })),
        defaults: clientDefaults(),
        scripts,
      })
    : createClient({ url, ...clientDefaults(), scripts });
  // The adapter's types know clients without scripts only; the scripts are ours, reached through ScriptRunner.
  const adapter = new KeyvRedis(client as unknown as RedisClientConnectionType, {
    // The adapter's own flags: without them it turns a failed command or connect into "no value".
    throwOnErrors: true,
    throwOnConnectError: true,
    connectionTimeout: CONNECT_TIMEOUT_MS,
  });
  // Only the adapter prefixes keys (Keyv's prefix is off), so a session lives at `sessionql::<sessionKey>`.
  const keyv = sessionKeyv(adapter, { useKeyPrefix: false });
  const now = () => (clock ?? Date).now();
  // The adapter connects on first use but lets concurrent first calls through before the connection (or, for a
  // cluster, the slot map) is ready, so every operation waits on one shared connect here. A failed connect
  // closes the client again, so the next operation starts a new attempt.
  let connecting: Promise<unknown> | undefined;
  const ready = async () => {
    if (client.isOpen && connecting === undefined) return;
    connecting ??= adapter.getClient().finally(() => {
      connecting = undefined;
    });
    await connecting;
  };
  const runner = client as unknown as ScriptRunner;
  const storageKey = (sessionKey: string) => adapter.createKeyPrefix(sessionKey, adapter.namespace);
  const commands = client as unknown as IndexCommands;
  // A user's sessions are a sorted set of session keys (scored by when each was indexed) beside the records. On a
  // cluster the set and the records sit in different slots, so no script can keep them in step: the set is only
  // ever a superset, written before (or with) the record it names, and a listing trusts only the records it finds
  // there, dropping the entries whose record is gone, expired or another user's.
  const indexKey = (owner: string) => `${KEYV_NAMESPACE}:user:${owner}`;
  // A listing's sessions sit in random slots, so a cluster reads them one GET each (its client routes every one
  // to its node); a single server takes them in MGETs, each one command with one timeout instead of one per
  // session (1,000 sessions: 4.4 ms against 41 ms, bench:scale).
  const onCluster = url.startsWith(CLUSTER_SCHEME);
  const readRows = async (keys: string[]): Promise<(string | null)[]> => {
    if (onCluster) return Promise.all(keys.map((key) => commands.get(key)));
    const batches: Promise<(string | null)[]>[] = [];
    for (let start = 0; start < keys.length; start += LIST_BATCH) {
      batches.push(commands.mGet(keys.slice(start, start + LIST_BATCH)));
    }
    return (await Promise.all(batches)).flat();
  };
  const changes = redisChangeFeed(client as Parameters<typeof redisChangeFeed>[0], onCluster, ready);
  const atomic: AtomicWrites = {
    async save(sessionKey, record, expected) {
      const at = now();
      const ttl = Math.max(1, Math.ceil(record.expiresAtMs - at));
      // An owned record is always created under a new key (a login cycles it), so that is when it is indexed;
      // both commands leave in one write, so the login still costs one round trip on a single server.
      const indexed =
        expected === undefined && record.owner !== undefined
          ? commands.zAdd(indexKey(record.owner), { score: at, value: sessionKey })
          : undefined;
      // Live sessions: a single server publishes the change from the script itself. On a cluster the channel is
      // sharded to its own slot, which a script on the session's slot may not touch, so the SPUBLISH follows a
      // save that went through, without the caller waiting for it.
      const change =
        expected === undefined
          ? undefined
          : { topic: topicOf(sessionKey), kind: "saved" as const, version: record.version };
      const saving = runner.saveSession(
        storageKey(sessionKey),
        expected === undefined ? "" : String(expected),
        String(at),
        envelope(record),
        String(ttl),
        change === undefined || onCluster ? "" : changeChannel(change.topic),
        change === undefined || onCluster ? "" : encodeChange(change),
      );
      const [answer] = await Promise.all([saving, indexed]);
      if (answer === 1) {
        if (change !== undefined && onCluster) changes.publish(change).catch(() => undefined);
        return { saved: true };
      }
      return { saved: false, current: typeof answer === "string" ? fromEnvelope(answer) : null };
    },
    async delete(sessionKey, expected) {
      return (await runner.deleteSession(storageKey(sessionKey), String(expected))) === 1;
    },
  };
  // Redis drops expired keys by itself, so there is nothing for the sweeper to do.
  return new KeyvSessionStore({
    keyv,
    clock,
    atomic,
    async listOwnedBy(owner) {
      const key = indexKey(owner);
      const entries = await commands.zRangeWithScores(key, 0, -1);
      const keys = entries.map(({ value }) => storageKey(value));
      const rows = await readRows(keys);
      const at = now();
      const found: StoredSession[] = [];
      const stale: string[] = [];
      entries.forEach(({ value: sessionKey, score }, i) => {
        const row = rows[i];
        const record = row === null || row === undefined ? undefined : fromEnvelope(row);
        if (record !== undefined && record.owner === owner && record.expiresAtMs > at) {
          found.push({ sessionKey, record });
        } else if (record !== undefined || score < at - INDEX_GRACE_MS) {
          stale.push(sessionKey);
        }
      });
      if (stale.length > 0) await commands.zRem(key, stale);
      return found;
    },
    ready,
    clearExpired: async () => 0,
    outOfProcess: true,
    changes,
  });
}

/**
 * What every connection gets. Commands issued while the client is (re)connecting wait in its queue, but never
 * longer than the command timeout, so an outage is reported within a second and the first requests after a
 * start or a reconnect are not refused. (Disabling the offline queue instead would also refuse every command
 * issued during the very first connect.)
 */
function clientDefaults(): Partial<RedisClientOptions> {
  return {
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelay },
  };
}

/**
 * `redis+cluster://[user:password@]h1:p1,h2:p2` → one `redis://` URL per seed node, each with the credentials.
 * The client learns the rest of the cluster from any seed that answers.
 */
export function clusterRootNodes(url: string): string[] {
  const rest = url.slice(CLUSTER_SCHEME.length).replace(/[/?#].*$/, "");
  const at = rest.lastIndexOf("@");
  const credentials = at < 0 ? "" : rest.slice(0, at + 1);
  const hosts = rest
    .slice(at + 1)
    .split(",")
    .map((host) => host.trim())
    .filter((host) => host !== "");
  if (hosts.length === 0) throw new Error("a redis+cluster:// URL needs at least one host:port");
  for (const host of hosts) {
    if (!/^[^:\s]+:\d{1,5}$/.test(host) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(host)) {
      throw new Error(`"${host}" in the redis+cluster:// URL is not host:port`);
    }
  }
  return hosts.map((host) => `redis://${credentials}${host}`);
}
