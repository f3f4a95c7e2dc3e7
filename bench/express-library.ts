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

async function main(): Promise<void> {
  const sessions = await createSessions({
    store: requiredEnv("SESSION_STORE"),
    secrets: [requiredEnv("SESSION_SECRET")],
  });
  const apollo = new ApolloServer({
    typeDefs: sessions.typeDefs,
    resolvers: sessions.resolvers,
    plugins: [sessions.plugin],
    includeStacktraceInErrorResponses: false,
    // This server stops Apollo itself on SIGTERM, after which it closes the store; Apollo's own handler would
    // race it, and a second concurrent stop() never settles in Apollo Server 5.
    stopOnTerminationSignals: false,
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

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // The bench's keep-alive connections would hold server.close() open, so they are cut first.
    server.close();
    server.closeAllConnections();
    apollo
      .stop()
      .then(() => sessions.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
