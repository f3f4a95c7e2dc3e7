/**
 * The bench's `express-library` server: sessionql's library on Express 5 through @as-integrations/express5,
 * written the way an application would write it (the README's setup, no tuning), so its rows show what an
 * application gets from `createSessions()`. Configured like sessionql: PORT, HOST, SESSION_STORE (memory:// or
 * redis://…), SESSION_SECRET; GET /healthz answers 200 and SIGTERM closes Apollo and the store, then exits 0.
 */
import "reflect-metadata";
import { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { createSessions } from "../src/index";
import { APOLLO_SETTINGS, requiredEnv, runServer, stopOnSignals } from "./express-process";

async function main(): Promise<void> {
  const sessions = await createSessions({
    store: requiredEnv("SESSION_STORE"),
    secrets: [requiredEnv("SESSION_SECRET")],
  });
  const apollo = new ApolloServer({
    typeDefs: sessions.typeDefs,
    resolvers: sessions.resolvers,
    plugins: [sessions.plugin],
    ...APOLLO_SETTINGS,
  });
  await apollo.start();

  const app = express();
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.use(
    "/graphql",
    express.json(),
    expressMiddleware(apollo, { context: async ({ req, res }) => sessions.context({ req, res }) }),
  );
  const server = app.listen(Number(requiredEnv("PORT")), process.env.HOST ?? "127.0.0.1");

  stopOnSignals(server, apollo, () => sessions.close());
}

runServer(main);
