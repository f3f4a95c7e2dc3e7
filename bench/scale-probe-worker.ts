/**
 * The probe's sending loop, run in a worker thread of its own: the bench's main thread has just stored up to
 * 100,000 sessions and its garbage collections pause it for tens of milliseconds, which would read as stalls of
 * the server. Started by startProbe (bench/scale-probe.ts); stops on any message and posts back its samples.
 */
import { Agent, request } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import type { ProbeSample, ProbeWork } from "./scale-probe";
import { READ_BODY, readProblem } from "./workloads";

const work = workerData as ProbeWork;
// A worker's performance.now() counts from its own start; samples are handed back on the main thread's clock.
const offsetMs = performance.timeOrigin - work.timeOrigin;
const now = () => performance.now() + offsetMs;

const url = new URL("/graphql", work.baseUrl);
const agent = new Agent({ keepAlive: true, maxSockets: work.connections });
const samples: ProbeSample[] = [];
let running = true;
let sent = 0;

// A request that stalls holds its connection's next one back, so a stall shows as one long latency rather than
// disappearing into a burst of requests afterwards.
async function connection(): Promise<void> {
  let nextMs = now();
  while (running) {
    const cookie = work.cookies[sent++ % work.cookies.length] as string;
    const sentMs = now();
    const problem = await readOnce(cookie);
    samples.push({ sentMs, answeredMs: now(), problem });
    nextMs = Math.max(nextMs + work.periodMs, now());
    await new Promise((resolve) => setTimeout(resolve, nextMs - now()));
  }
}

/** One read; resolves to what was wrong with its answer, undefined when it was right. */
function readOnce(cookie: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const headers = {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(READ_BODY),
      cookie,
    };
    const outgoing = request(url, { method: "POST", agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve(readProblem(response.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"))),
      );
      response.on("error", (error) => resolve(`response failed: ${error.message}`));
    });
    outgoing.on("error", (error) => resolve(`request failed: ${error.message}`));
    outgoing.end(READ_BODY);
  });
}

const connections = Array.from({ length: work.connections }, connection);
parentPort?.once("message", async () => {
  running = false;
  await Promise.all(connections);
  agent.destroy();
  parentPort?.postMessage(samples);
});
