import type { FastifyInstance } from "fastify";
import { raceTimeout } from "../session/deadline";
import type { SessionStore } from "../session/store";

/** Registers `/healthz` (the process serves) and `/readyz` (the store answers within `timeoutMs`). */
export function registerHealthRoutes(app: FastifyInstance, store: SessionStore, timeoutMs: number): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (request, reply) => {
    try {
      await raceTimeout(store.ping(), timeoutMs, () => new Error("store ping timed out"));
      return { status: "ok" };
    } catch (error) {
      request.log.warn({ err: error }, "the session store is not answering");
      return reply.code(503).send({ status: "unavailable" });
    }
  });
}
