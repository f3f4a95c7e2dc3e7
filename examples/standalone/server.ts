/**
 * The example shop on Apollo Server's own `startStandaloneServer`, with sessionql's session layer in its context
 * and plugins. `npm run example:standalone`.
 */
import "reflect-metadata";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { stringifySetCookie } from "cookie";
import { createSessions } from "sessionql";
import {
  cookieValue,
  type RunningShop,
  SHOP_COOKIE,
  SHOP_COOKIE_AGE_SECONDS,
  type ShopOptions,
  shopOptionsFromEnv,
} from "../shop/options";
import { type ShopContext, shopResolvers, shopSocketContext, shopTypeDefs } from "../shop/schema";
import { demoUsers } from "../shop/users";

/** Starts the shop on startStandaloneServer; resolves once it listens. */
export async function startShop(options: ShopOptions): Promise<RunningShop> {
  const sessions = await createSessions({
    store: options.store ?? "memory://",
    secrets: options.secrets,
    privateKeyPrefix: "_",
  });
  const users = await demoUsers();
  const schema = makeExecutableSchema({
    typeDefs: [shopTypeDefs, sessions.typeDefs],
    resolvers: [shopResolvers, sessions.resolvers],
  });
  const server = new ApolloServer<ShopContext>({
    schema,
    plugins: [sessions.plugin],
    includeStacktraceInErrorResponses: false,
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: options.port ?? 0, host: options.host ?? "127.0.0.1" },
    context: async ({ req, res }) => ({
      ...sessions.context({ req, res }),
      users,
      sessions,
      currency: cookieValue(req.headers.cookie, "currency"),
      // Node's own response: appendHeader adds a Set-Cookie beside any already there.
      setCookie: (name, value) => {
        res.appendHeader(
          "set-cookie",
          stringifySetCookie(name, value, { ...SHOP_COOKIE, maxAge: SHOP_COOKIE_AGE_SECONDS }),
        );
      },
    }),
  });
  // startStandaloneServer keeps its HTTP server to itself, so subscriptions get a port of their own.
  const subscriptions = sessions.serveSubscriptions({
    port: options.wsPort ?? 0,
    host: options.host ?? "127.0.0.1",
    path: "/graphql",
    schema,
    allowedOrigins: options.corsOrigins,
    context: (argument) => shopSocketContext(sessions, users, argument),
  });
  return {
    url: new URL("graphql", url).href,
    wsUrl: await subscriptions.url,
    async close() {
      await subscriptions.close();
      await server.stop();
      await sessions.close();
    },
  };
}

if (require.main === module) {
  startShop(shopOptionsFromEnv(process.env, 4003)).then((shop) =>
    console.log(`shop on startStandaloneServer at ${shop.url}`),
  );
}
