/**
 * The example shop on Express 5: Apollo Server through @as-integrations/express5, with sessionql's session layer
 * in its context and plugins. `npm run example:express`.
 */
import "reflect-metadata";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import { makeExecutableSchema } from "@graphql-tools/schema";
import cors from "cors";
import express from "express";
import { createSessions } from "sessionql";
import {
  cookieValue,
  localeOf,
  type RunningShop,
  SHOP_COOKIE,
  SHOP_COOKIE_AGE_SECONDS,
  type ShopOptions,
  shopOptionsFromEnv,
} from "../shop/options";
import { type ShopContext, shopResolvers, shopSocketContext, shopTypeDefs } from "../shop/schema";
import { demoUsers } from "../shop/users";

/** Express counts a cookie's maxAge in milliseconds. */
const COOKIE_AGE_MS = SHOP_COOKIE_AGE_SECONDS * 1000;

/** Starts the shop on Express 5; resolves once it listens. */
export async function startShop(options: ShopOptions): Promise<RunningShop> {
  const sessions = await createSessions({
    store: options.store ?? "memory://",
    secrets: options.secrets,
    privateKeyPrefix: "_",
  });
  const users = await demoUsers();
  const app = express();
  const httpServer = createServer(app);
  // One schema for HTTP and WebSocket, as Apollo's subscription docs build it.
  const schema = makeExecutableSchema({
    typeDefs: [shopTypeDefs, sessions.typeDefs],
    resolvers: [shopResolvers, sessions.resolvers],
  });
  // Subscriptions (the shop's cartChanged, sessionql's sessionChanged) over graphql-ws on the same path.
  const subscriptions = sessions.serveSubscriptions({
    server: httpServer,
    path: "/graphql",
    schema,
    allowedOrigins: options.corsOrigins,
    context: (argument) => shopSocketContext(sessions, users, argument),
  });
  const server = new ApolloServer<ShopContext>({
    schema,
    plugins: [
      sessions.plugin,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: () => subscriptions.close() }) },
    ],
    includeStacktraceInErrorResponses: false,
  });
  await server.start();

  // A middleware of the shop's own that sets a cookie: sessionql's cookie is written beside it.
  app.use((req, res, next) => {
    if (cookieValue(req.headers.cookie, "locale") === undefined) {
      res.cookie("locale", localeOf(req.headers["accept-language"]), {
        ...SHOP_COOKIE,
        maxAge: COOKIE_AGE_MS,
      });
    }
    next();
  });
  app.use(
    "/graphql",
    cors({ origin: options.corsOrigins ?? [], credentials: true }),
    express.json(),
    expressMiddleware(server, {
      context: async ({ req, res }) => ({
        ...sessions.context({ req, res }),
        users,
        sessions,
        currency: cookieValue(req.headers.cookie, "currency"),
        setCookie: (name, value) => {
          res.cookie(name, value, { ...SHOP_COOKIE, maxAge: COOKIE_AGE_MS });
        },
      }),
    }),
  );

  await new Promise<void>((resolve) =>
    httpServer.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve),
  );
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}/graphql`,
    wsUrl: `ws://${options.host ?? "127.0.0.1"}:${port}/graphql`,
    async close() {
      await server.stop();
      await sessions.close();
    },
  };
}

if (require.main === module) {
  startShop(shopOptionsFromEnv(process.env, 4001)).then((shop) =>
    console.log(`shop on Express 5 at ${shop.url}`),
  );
}
