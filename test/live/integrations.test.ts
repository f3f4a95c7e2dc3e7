import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";
import type { RunningShop } from "../../examples/shop/options";
import { GraphQLClient, TEST_SECRET } from "../helpers/server";
import { SHOP_INTEGRATIONS } from "../integrations/shops";

const PAGE_ORIGIN = "http://127.0.0.1:5173";
const ADD = "mutation($id: ID!) { addToCart(productId: $id) { totalCents } }";

/** A graphql-ws client that sends `headers` with its upgrade, as a browser sends its cookie and origin. */
function socketClient(url: string, headers: Record<string, string>): Client {
  class HeaderWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  return createClient({ url, webSocketImpl: HeaderWebSocket, retryAttempts: 0, lazy: true });
}

/** The events of one subscription, with a way to wait for the next ones and for its end. */
function subscribe(client: Client, query: string) {
  const events: unknown[] = [];
  const waiters: Array<() => void> = [];
  let ended: { error?: unknown } | undefined;
  const wake = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const started = new Promise<void>((resolve) => setTimeout(resolve, 300));
  client.subscribe(
    { query },
    {
      next: (value) => {
        events.push(value.data);
        wake();
      },
      error: (error) => {
        ended = { error };
        wake();
      },
      complete: () => {
        ended = {};
        wake();
      },
    },
  );
  const until = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!done()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; had ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return {
    events,
    started,
    nth: async (count: number) => {
      await until(() => events.length >= count, `${count} events`);
      return events[count - 1];
    },
    end: async () => {
      await until(() => ended !== undefined, "the end");
      return ended as { error?: unknown };
    },
  };
}

describe.each(SHOP_INTEGRATIONS)("subscriptions in the example shop on $name", (integration) => {
  let shop: RunningShop;
  const sockets: Client[] = [];
  const connect = (headers: Record<string, string>) => {
    const client = socketClient(shop.wsUrl, headers);
    sockets.push(client);
    return client;
  };

  beforeAll(async () => {
    shop = await integration.start({ secrets: [TEST_SECRET], corsOrigins: [PAGE_ORIGIN] });
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((client) => client.dispose()));
  });
  afterAll(() => shop?.close());

  test("the shop's own subscription reads context.session, beside sessionChanged, after each change", async () => {
    const visitor = new GraphQLClient(shop.url);
    await visitor.request(ADD, { id: "tea" });
    const socket = connect({ cookie: visitor.jar.header() ?? "", origin: PAGE_ORIGIN });
    const cart = subscribe(socket, "subscription { cartChanged { totalCents lines { quantity } } }");
    const session = subscribe(socket, "subscription { sessionChanged { version data } }");
    await Promise.all([cart.started, session.started]);

    await visitor.request(ADD, { id: "tea" });
    expect(await cart.nth(1)).toEqual({ cartChanged: { totalCents: 1300, lines: [{ quantity: 2 }] } });
    expect(await session.nth(1)).toEqual({ sessionChanged: { version: 2, data: { cart: { tea: 2 } } } });

    await visitor.request("mutation { logout }");
    expect(await cart.nth(2)).toEqual({ cartChanged: { totalCents: 0, lines: [] } });
    expect(await session.nth(2)).toEqual({ sessionChanged: { version: 0, data: {} } });
    expect(await cart.end()).toEqual({});
    expect(await session.end()).toEqual({});
  });

  test("another visitor's changes never reach a subscriber", async () => {
    const mine = new GraphQLClient(shop.url);
    const theirs = new GraphQLClient(shop.url);
    await mine.request(ADD, { id: "tea" });
    await theirs.request(ADD, { id: "mug" });
    const cart = subscribe(
      connect({ cookie: mine.jar.header() ?? "" }),
      "subscription { cartChanged { totalCents } }",
    );
    await cart.started;
    await theirs.request(ADD, { id: "pot" });
    await mine.request(ADD, { id: "mug" });
    expect(await cart.nth(1)).toEqual({ cartChanged: { totalCents: 1850 } });
    expect(cart.events).toHaveLength(1);
  });

  test("a page of another origin cannot open the socket", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(shop.wsUrl, "graphql-transport-ws", {
        headers: { origin: "http://evil.example" },
      });
      socket.on("unexpected-response", (_request, response) => {
        resolve(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.on("open", () => reject(new Error("the socket opened")));
      socket.on("error", () => undefined);
    });
    expect(status).toBe(403);
  });
});
