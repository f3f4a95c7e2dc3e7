import WebSocket from "ws";
import {
  createSessionClient,
  type LiveEnd,
  type SessionClient,
  SessionClientError,
  type SessionClientOptions,
  type SessionSnapshot,
  type Unsubscribe,
} from "../../src/client/index";
import { createStore } from "../../src/stores/index";
import { type FollowTracker, RealClock, trackFollows } from "../helpers/live";
import { startTestServer, type TestServer } from "../helpers/server";

const TOKEN_HEADER = "X-Session-Token";
const PAGE_ORIGIN = "http://app.example";
const WAIT_MS = 3000;

/** What one `subscribe` was told, with a way to wait for it. */
interface Followed {
  sessions: SessionSnapshot[];
  ends: LiveEnd[];
  errors: SessionClientError[];
  unsubscribe: Unsubscribe;
  /** Resolves with the `count`th session once it has arrived. */
  nth(count: number): Promise<SessionSnapshot>;
}

/** Subscribes through `client`, keeping every session and end it is told of. */
function record(client: SessionClient, sinceVersion?: number): Followed {
  const sessions: SessionSnapshot[] = [];
  const ends: LiveEnd[] = [];
  const errors: SessionClientError[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const unsubscribe = client.subscribe(
    (session) => {
      sessions.push(session);
      wake();
    },
    { onEnd: (how) => ends.push(how), onError: (error) => errors.push(error), sinceVersion },
  );
  return {
    sessions,
    ends,
    errors,
    unsubscribe,
    nth: (count) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (sessions.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(sessions[count - 1] as SessionSnapshot);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no session ${count} within ${WAIT_MS} ms; had ${JSON.stringify(sessions)}`));
        }, WAIT_MS);
        waiters.add(check);
        check();
      }),
  };
}

/** Rejects unless `promise` settles within WAIT_MS. */
function soon<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${WAIT_MS} ms`)), WAIT_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A server over a memory store whose followers can be waited for: graphql-ws acknowledges no subscription. */
async function startFollowedServer(env: Record<string, string> = {}) {
  const clock = new RealClock();
  const store = createStore("memory://", clock);
  const follows = trackFollows(store);
  const server = await startTestServer({ env: { CORS_ORIGINS: PAGE_ORIGIN, ...env }, store, clock });
  return { server, follows };
}

describe("subscribe, outside a browser, with the cookie the client keeps", () => {
  let server: TestServer;
  let follows: FollowTracker;
  const opened: Unsubscribe[] = [];
  beforeAll(async () => {
    ({ server, follows } = await startFollowedServer());
  });
  afterEach(() => {
    for (const unsubscribe of opened.splice(0)) unsubscribe();
  });
  afterAll(() => server.close());

  const newClient = (options: Partial<SessionClientOptions> = {}): SessionClient =>
    createSessionClient({ url: server.graphqlUrl, webSocketImpl: WebSocket, ...options });

  /** Subscribes and resolves once the server follows the session, so no later change can be missed. */
  async function follow(client: SessionClient): Promise<Followed> {
    const before = follows.count;
    const followed = record(client);
    opened.push(followed.unsubscribe);
    await follows.reach(before + 1);
    return followed;
  }

  test("receives a change made by another client of the same session, then the empty session on flush", async () => {
    const tab = newClient();
    await tab.set("cart", ["tea"]);
    const followed = await follow(tab);
    const otherTab = newClient({ token: tab.token as string });

    const saved = await otherTab.set("cart", ["tea", "mug"]);
    expect(await followed.nth(1)).toEqual(saved);
    expect(saved).toMatchObject({ data: { cart: ["tea", "mug"] }, version: 2 });

    await otherTab.flush();
    expect(await followed.nth(2)).toMatchObject({ id: null, data: {}, keys: [], isEmpty: true, version: 0 });
    expect(await soon(followed.unsubscribe.done, "the end")).toBe("ended");
    expect(followed.ends).toEqual(["ended"]);
    expect(followed.errors).toEqual([]);
    expect(followed.sessions).toHaveLength(2);
  });

  test("cycleKey completes the subscription without an event; one opened again follows the new key", async () => {
    const client = newClient();
    await client.set("user", "ada");
    const before = await follow(client);
    await client.cycleKey();
    expect(await soon(before.unsubscribe.done, "the completion")).toBe("completed");
    expect(before.ends).toEqual(["completed"]);
    expect(before.sessions).toEqual([]);

    const after = await follow(client);
    const saved = await newClient({ token: client.token as string }).set("theme", "dark");
    expect(await after.nth(1)).toEqual(saved);
    expect(saved.data).toEqual({ user: "ada", theme: "dark" });
  });

  test("sinceVersion: a change saved after the client read the session, before it subscribed, is sent at once", async () => {
    const client = newClient();
    const read = await client.set("cart", ["tea"]);
    const saved = await newClient({ token: client.token as string }).set("cart", ["tea", "pot"]);
    const caughtUp = record(client, read.version);
    opened.push(caughtUp.unsubscribe);
    expect(await caughtUp.nth(1)).toEqual(saved);
    // At the version the session is at, nothing is sent until the next change.
    const current = record(client, saved.version);
    opened.push(current.unsubscribe);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(current.sessions).toEqual([]);
  });

  test("unsubscribe stops the events and settles done", async () => {
    const client = newClient();
    await client.set("n", 1);
    const followed = await follow(client);
    followed.unsubscribe();
    expect(await followed.unsubscribe.done).toBe("unsubscribed");
    await newClient({ token: client.token as string }).set("n", 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(followed.sessions).toEqual([]);
    expect(followed.ends).toEqual([]);
  });

  test("a client without a session is sent the empty session, and the subscription ends", async () => {
    const followed = record(newClient());
    expect(await soon(followed.unsubscribe.done, "the end")).toBe("ended");
    expect(followed.sessions).toEqual([expect.objectContaining({ id: null, isEmpty: true })]);
  });

  test("a page of another origin is refused: onError gets a SessionClientError with status 403", async () => {
    class ForeignPage extends WebSocket {
      constructor(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions) {
        super(url, protocols, { ...options, origin: "http://evil.example" });
      }
    }
    const client = newClient({ webSocketImpl: ForeignPage });
    await client.set("user", "ada");
    const followed = record(client);
    const error = await followed.unsubscribe.done.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionClientError);
    expect(error).toMatchObject({ status: 403 });
    expect(followed.errors).toEqual([error]);
    expect(followed.ends).toEqual([]);
  });

  test("with a cookie to send and no webSocketImpl, subscribe throws instead of connecting without it", async () => {
    const client = newClient({ webSocketImpl: undefined });
    await client.set("user", "ada");
    expect(() => client.subscribe(() => {})).toThrow(/webSocketImpl/);
  });
});

describe("subscribe over the header transport", () => {
  let server: TestServer;
  let follows: FollowTracker;
  beforeAll(async () => {
    ({ server, follows } = await startFollowedServer({ SESSION_HEADER: TOKEN_HEADER }));
  });
  afterAll(() => server.close());

  test("the token travels in the connection params, under the header's name", async () => {
    const newClient = (token?: string) =>
      createSessionClient({
        url: server.graphqlUrl,
        transport: { header: TOKEN_HEADER },
        webSocketImpl: WebSocket,
        ...(token === undefined ? {} : { token }),
      });
    const device = newClient();
    await device.set("cart", []);
    const before = follows.count;
    const followed = record(device);
    try {
      await follows.reach(before + 1);
      const other = newClient(device.token as string);
      const saved = await other.set("cart", ["pot"]);
      expect(await followed.nth(1)).toEqual(saved);
      await other.clear();
      expect(await followed.nth(2)).toMatchObject({ id: null, isEmpty: true });
      expect(await soon(followed.unsubscribe.done, "the end")).toBe("ended");
    } finally {
      followed.unsubscribe();
    }
  });
});
