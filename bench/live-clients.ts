import WebSocket from "ws";
import { sessionCookieOf } from "./seed";

/**
 * The client side of `npm run bench:live`: sessions made through the server's own HTTP interface (so the memory
 * store, which lives in the server, gets them too), their changes sent as `setSession` mutations, and
 * subscribers speaking graphql-transport-ws straight over `ws` (connection_init, subscribe, next), one
 * connection and one subscription per session, with nothing else kept per connection than what the bench reads.
 */

const SUBSCRIPTION = "subscription Live { sessionChanged { version data } }";
const SET_QUERY = 'mutation Set($value: JSON!) { setSession(key: "stamp", value: $value) { version } }';
/** How long a subscriber gets from opening its socket to the server's connection_ack. */
const ACK_TIMEOUT_MS = 15_000;

/** What a change carries in its value: which one it was and when the bench sent it (ms since the epoch). */
export interface Stamp {
  seq: number;
  sentAt: number;
}

/** Milliseconds since the epoch with the monotonic clock's resolution. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One subscription on its own connection, following one session. */
export interface Subscriber {
  readonly index: number;
  /** The highest version a `next` has shown, 0 before any. */
  readonly version: number;
  /** Whether the socket is open and the subscription neither completed nor failed. */
  readonly live: boolean;
  /** Why it is not live, when it is not. */
  readonly problem: string | undefined;
  /** Closes the socket at once (no closing handshake); the server sees the connection end. */
  terminate(): void;
}

/** What a subscriber reports of each `next` it gets. */
export type OnNext = (index: number, version: number, stamp: Stamp | undefined, receivedAt: number) => void;

/**
 * Opens a graphql-ws connection to `url` with the session cookie, sends connection_init and, once acknowledged,
 * the `sessionChanged` subscription; resolves when the subscribe message is written (the server sends nothing
 * until the session next changes). Rejects when the connection is refused or not acknowledged.
 */
export function openSubscriber(
  url: string,
  cookie: string,
  index: number,
  onNext: OnNext,
): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, "graphql-transport-ws", {
      headers: { cookie },
      perMessageDeflate: false,
      handshakeTimeout: ACK_TIMEOUT_MS,
    });
    let version = 0;
    let live = false;
    let problem: string | undefined;
    let settled = false;
    const subscriber: Subscriber = {
      index,
      get version() {
        return version;
      },
      get live() {
        return live;
      },
      get problem() {
        return problem;
      },
      terminate: () => socket.terminate(),
    };
    const fail = (why: string) => {
      live = false;
      problem ??= why;
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        socket.terminate();
        reject(new Error(`subscriber ${index}: ${why}`));
      }
    };
    const timer = setTimeout(() => fail(`no connection_ack within ${ACK_TIMEOUT_MS} ms`), ACK_TIMEOUT_MS);
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init" })));
    socket.on("message", (raw) => {
      const receivedAt = nowMs();
      const message = JSON.parse(raw.toString()) as {
        type: string;
        payload?: { data?: { sessionChanged?: { version: number; data: Record<string, unknown> } } };
      };
      switch (message.type) {
        case "connection_ack":
          socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: SUBSCRIPTION } }));
          live = true;
          settled = true;
          clearTimeout(timer);
          resolve(subscriber);
          return;
        case "next": {
          const changed = message.payload?.data?.sessionChanged;
          if (changed === undefined) {
            problem ??= `a next without sessionChanged: ${raw.toString().slice(0, 200)}`;
            return;
          }
          version = Math.max(version, changed.version);
          onNext(index, changed.version, changed.data.stamp as Stamp | undefined, receivedAt);
          return;
        }
        case "error":
          live = false;
          problem ??= `error: ${JSON.stringify(message.payload).slice(0, 200)}`;
          return;
        case "complete":
          live = false;
          problem ??= "the server completed the subscription";
          return;
        case "ping":
          socket.send(JSON.stringify({ type: "pong" }));
          return;
        default:
          return;
      }
    });
    socket.on("unexpected-response", (_request, response) => fail(`upgrade answered ${response.statusCode}`));
    socket.on("error", (error) => fail(error.message));
    socket.on("close", (code, reason) => {
      if (live || !settled) fail(`closed ${code} ${reason.toString()}`.trim());
    });
  });
}

/**
 * Opens one subscriber per cookie, at most `inFlight` handshakes at a time; every refusal rejects (the bench
 * wants every one of them). Resolves in cookie order.
 */
export async function openSubscribers(
  url: string,
  cookies: readonly string[],
  inFlight: number,
  onNext: OnNext,
): Promise<Subscriber[]> {
  const subscribers: Subscriber[] = new Array(cookies.length);
  let next = 0;
  const worker = async () => {
    while (next < cookies.length) {
      const index = next++;
      subscribers[index] = await openSubscriber(url, cookies[index] as string, index, onNext);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, cookies.length) }, worker));
  return subscribers;
}

/** Sends one `setSession` of the `stamp` key on the session of `cookie`; resolves to the version it saved. */
export async function setStamp(baseUrl: string, cookie: string, value: Stamp): Promise<number> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: JSON.stringify({ query: SET_QUERY, variables: { value } }),
  });
  const text = await response.text();
  const version = (JSON.parse(text) as { data?: { setSession?: { version?: unknown } } }).data?.setSession
    ?.version;
  if (response.status !== 200 || typeof version !== "number") {
    throw new Error(`setSession: HTTP ${response.status} ${text.slice(0, 300)}`);
  }
  return version;
}

/** Creates `count` sessions through `setSession` without a cookie, `inFlight` at a time; their cookies, in order. */
export async function createSessions(baseUrl: string, count: number, inFlight: number): Promise<string[]> {
  const cookies: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      cookies[index] = await createSession(baseUrl);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return cookies;
}

async function createSession(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: SET_QUERY, variables: { value: { seq: -1, sentAt: 0 } } }),
  });
  const text = await response.text();
  const cookie = sessionCookieOf(response);
  if (response.status !== 200 || text.includes('"errors"') || cookie === undefined) {
    throw new Error(`could not create a session: HTTP ${response.status} ${text.slice(0, 300)}`);
  }
  return cookie;
}
