import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { parseCookie } from "cookie";
import { CookieSigner } from "../src/http/cookie";
import { newSessionKey } from "../src/session/keys";
import type { SessionData, SessionRecord } from "../src/session/store";
import { createStore } from "../src/stores/index";
import { COOKIE_NAME, SESSION_AGE_MS } from "./workloads";

/**
 * The bench's baseline: a bare node:http server doing the store work sessionql does for the bench's requests
 * (verify the signed cookie, load, versioned save) with no fastify, GraphQL or session layer, so the ratio of
 * the two isolates what those layers cost. Configured like sessionql: PORT, HOST, SESSION_STORE, SESSION_SECRET.
 */
const EMPTY_SESSION = JSON.stringify({ data: { session: { data: {} } } });

const store = createStore(requiredEnv("SESSION_STORE"));
const signer = new CookieSigner([requiredEnv("SESSION_SECRET")]);

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    answer(response, 500, JSON.stringify({ errors: [{ message: (error as Error).message }] }));
  });
});

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method === "GET" && request.url === "/healthz") return answer(response, 200, '{"status":"ok"}');
  if (request.method !== "POST") return answer(response, 405, '{"errors":[{"message":"POST only"}]}');
  const body = JSON.parse(await readBody(request)) as {
    query?: string;
    variables?: { n?: unknown };
    data?: SessionData;
  };
  if (request.url === "/seed") return seed(response, body.data ?? {});
  if (request.url !== "/graphql") return answer(response, 404, '{"errors":[{"message":"not found"}]}');
  const cookie = request.headers.cookie;
  const value = cookie === undefined ? undefined : parseCookie(cookie)[COOKIE_NAME];
  const sessionKey = value === undefined ? undefined : signer.unsign(value);
  if (body.query?.includes("setSession")) return write(response, sessionKey, body.variables?.n);
  if (sessionKey === undefined) return answer(response, 200, EMPTY_SESSION);
  const record = await loadLive(sessionKey);
  if (record === undefined) return answer(response, 200, EMPTY_SESSION);
  answer(response, 200, JSON.stringify({ data: { session: { data: record.data } } }));
}

/** `setSession(key: "counter", value: n)` on an existing session: load, then a version-checked save. */
async function write(response: ServerResponse, sessionKey: string | undefined, n: unknown): Promise<void> {
  const record = sessionKey === undefined ? undefined : await loadLive(sessionKey);
  if (sessionKey === undefined || record === undefined) {
    return answer(response, 200, '{"errors":[{"message":"the baseline only writes existing sessions"}]}');
  }
  const next: SessionRecord = {
    ...record,
    data: { ...record.data, counter: n },
    version: record.version + 1,
    expiresAtMs: Date.now() + SESSION_AGE_MS,
  };
  // No retry: the bench never has two requests on one session in flight, so a lost check is a wrong answer.
  if (!(await store.save(sessionKey, next, record.version))) {
    return answer(response, 200, '{"errors":[{"message":"version conflict"}]}');
  }
  answer(response, 200, JSON.stringify({ data: { setSession: { version: next.version } } }));
}

/** Stores a new session holding `data` and sets its cookie, as sessionql's first saving mutation would. */
async function seed(response: ServerResponse, data: SessionData): Promise<void> {
  const sessionKey = newSessionKey();
  const record: SessionRecord = { data, expiresAtMs: Date.now() + SESSION_AGE_MS, version: 1 };
  if (!(await store.save(sessionKey, record, undefined))) throw new Error("a fresh session key was taken");
  response.setHeader("set-cookie", `${COOKIE_NAME}=${signer.sign(sessionKey)}; Path=/; HttpOnly`);
  answer(response, 200, JSON.stringify({ data: { seed: { version: 1 } } }));
}

/** The record, unless it has expired (sessionql's service checks this too, whatever the store does). */
async function loadLive(sessionKey: string): Promise<SessionRecord | undefined> {
  const record = await store.load(sessionKey);
  return record !== undefined && record.expiresAtMs > Date.now() ? record : undefined;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function answer(response: ServerResponse, status: number, json: string): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(json);
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const stop = () => {
  server.close();
  server.closeAllConnections();
  store.close().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
server.listen(Number(requiredEnv("PORT")), process.env.HOST ?? "127.0.0.1");
