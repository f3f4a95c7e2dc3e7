import type { FastifyReply, FastifyRequest } from "fastify";

/** The most operations one batched request may carry. */
export const MAX_BATCH_OPERATIONS = 10;

/**
 * With batching on, Apollo runs each entry of a batch on its own and answers 400 for the whole request when one
 * entry is malformed, after the well-formed ones have already run and saved. A batch is checked here first, as a
 * whole, so it either runs entirely or not at all; its length is bounded so one request cannot carry thousands
 * of operations.
 */
export async function refuseMalformedBatch(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { body } = request;
  if (!Array.isArray(body)) return;
  const problem =
    body.length === 0
      ? "A batch must contain at least one operation."
      : body.length > MAX_BATCH_OPERATIONS
        ? `A batch may contain at most ${MAX_BATCH_OPERATIONS} operations.`
        : body.some((entry) => !isOperation(entry))
          ? "Every entry of a batch must be an object with a string query and, if present, object variables."
          : undefined;
  if (problem === undefined) return;
  await reply.code(400).send({ errors: [{ message: problem, extensions: { code: "BAD_REQUEST" } }] });
}

function isOperation(entry: unknown): boolean {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return false;
  const { query, variables, operationName } = entry as Record<string, unknown>;
  const variablesOk =
    variables === undefined ||
    variables === null ||
    (typeof variables === "object" && !Array.isArray(variables));
  const nameOk = operationName === undefined || operationName === null || typeof operationName === "string";
  return typeof query === "string" && variablesOk && nameOk;
}
