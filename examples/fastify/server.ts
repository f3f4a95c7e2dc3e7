/**
 * The example shop on fastify: Apollo Server through @as-integrations/fastify, with sessionql's session layer in
 * its context and plugins. `npm run example:fastify`.
 */
import "reflect-metadata";
import { ApolloServer } from "@apollo/server";
import fastifyApollo, { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import fastifyCookie from "@fastify/cookie";
import fastifyCors from "@fastify/cors";
import { makeExecutableSchema } from "@graphql-tools/schema";
import Fastify from "fastify";
import { createSessions } from "sessionql";
import {
  localeOf,
  type RunningShop,
  SHOP_COOKIE,
  SHOP_COOKIE_AGE_SECONDS,
  type ShopOptions,
  shopOptionsFromEnv,
} from "../shop/options";
import { type ShopContext, shopResolvers, shopSocketContext, shopTypeDefs } from "../shop/schema";
import { demoUsers } from "../shop/users";

/** Starts the shop on fastify; resolves once it listens. */
export async function startShop(options: ShopOptions): Promise<RunningShop> {
  const sessions = await createSessions({
    store: options.store ?? "memory://",
    secrets: options.secrets,
    privateKeyPrefix: "_",
  });
  const users = await demoUsers();
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifyCors, { origin: options.corsOrigins ?? [], credentials: true });
  const schema = makeExecutableSchema({
    typeDefs: [shopTypeDefs, sessions.typeDefs],
    resolvers: [shopResolvers, sessions.resolvers],
  });
  // Subscriptions over graphql-ws on fastify's own HTTP server, on the GraphQL path.
  const subscriptions = sessions.serveSubscriptions({
    server: app.server,
    path: "/graphql",
    schema,
    allowedOrigins: options.corsOrigins,
    context: (argument) => shopSocketContext(sessions, users, argument),
  });
  const server = new ApolloServer<ShopContext>({
    schema,
    plugins: [sessions.plugin, fastifyApolloDrainPlugin(app)],
    includeStacktraceInErrorResponses: false,
  });
  await server.start();

  // A hook of the shop's own that sets a cookie: sessionql's cookie is written beside it.
  app.addHook("onRequest", async (request, reply) => {
    if (request.cookies.locale === undefined) {
      reply.setCookie("locale", localeOf(request.headers["accept-language"]), {
        ...SHOP_COOKIE,
        maxAge: SHOP_COOKIE_AGE_SECONDS,
      });
    }
  });
  await app.register(fastifyApollo(server), {
    context: async (request, reply) => ({
      ...sessions.context({ request, reply }),
      users,
      sessions,
      currency: request.cookies.currency,
      setCookie: (name: string, value: string) => {
        reply.setCookie(name, value, { ...SHOP_COOKIE, maxAge: SHOP_COOKIE_AGE_SECONDS });
      },
    }),
  });

  await app.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1" });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}/graphql`,
    wsUrl: `ws://${options.host ?? "127.0.0.1"}:${port}/graphql`,
    async close() {
      await subscriptions.close();
      await app.close();
      await server.stop();
      await sessions.close();
    },
  };
}

if (require.main === module) {
  startShop(shopOptionsFromEnv(process.env, 4002)).then((shop) =>
    console.log(`shop on fastify at ${shop.url}`),
  );
}
