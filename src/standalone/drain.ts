import type { IncomingMessage } from "node:http";

/**
 * Reads and discards the rest of a request body, up to `maxBytes` and `timeoutMs`. Answering 413 while a client is
 * still uploading would have the connection closed under it, and the client would see EPIPE or a reset instead of
 * the answer; once the body is read, the answer arrives as any other. A client that sends more than `maxBytes`, or
 * too slowly, is answered anyway: it may then miss the answer, which only a client abusing the server does.
 */
export function drainBody(body: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<void> {
  if (body.readableEnded || body.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let drained = 0;
    const finish = () => {
      clearTimeout(timer);
      body.removeListener("data", onData);
      body.removeListener("end", finish);
      body.removeListener("error", finish);
      body.removeListener("close", finish);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > maxBytes) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    body.on("data", onData);
    body.once("end", finish);
    body.once("error", finish);
    body.once("close", finish);
    body.resume();
  });
}
