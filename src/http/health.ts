import type { FastifyInstance } from "fastify";
import type { SessionStore } from "../session/store";

/** Registers `/healthz` (the process serves) and `/readyz` (the store answers within `timeoutMs`). */
export function registerHealthRoutes(app: FastifyInstance, store: SessionStore, timeoutMs: number): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (request, reply) => {
    try {
      await withTimeout(store.ping(), timeoutMs);
      return { status: "ok" };
    } catch (error) {
      request.log.warn({ err: error }, "the session store is not answering");
      return reply.code(503).send({ status: "unavailable" });
    }
  });
}

async function withTimeout(promise: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("store ping timed out")), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
