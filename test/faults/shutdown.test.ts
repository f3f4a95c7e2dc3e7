import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CookieJar } from "../helpers/cookies";
import { type Exit, type SessionqlInstance, startInstance } from "../helpers/instance";

/*
 * Graceful shutdown of the real CLI on SQLite: a signal stops new work at once (closed listener, 503 or a closed
 * socket on kept-alive connections), lets requests already being served finish and persist, then exits 0.
 */

const HOST = "127.0.0.1";
/** How long any request may take once the signal is sent before it counts as hanging. */
const REQUEST_TIMEOUT_MS = 5_000;
/** The exit must follow the signal within this (nothing is stuck, so only draining the burst takes time). */
const EXIT_WITHIN_MS = 5_000;
const VERBOSE = process.env.SESSIONQL_FAULTS_VERBOSE === "1";

const UPDATE = "mutation($values: JSONObject!) { updateSession(values: $values) { version data } }";
const READ = "{ session { version data } }";

const started: SessionqlInstance[] = [];
const sockets: Socket[] = [];
let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "sessionql-shutdown-"));
});
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const instance of started.splice(0)) if (!instance.exitedYet()) process.kill(instance.pid, "SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

/** Starts the real CLI on the SQLite file and resolves once /healthz answers. */
async function launch(file: string, env: Record<string, string> = {}): Promise<SessionqlInstance> {
  const instance = await startInstance({ SESSION_STORE: `sqlite://${file}`, ...env });
  started.push(instance);
  return instance;
}

/** Resolves with the exit, or rejects once `ms` have passed without one. */
function exitWithin(server: SessionqlInstance, ms: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms:\n${server.output()}`)), ms);
  });
  return Promise.race([server.exited, late]).finally(() => clearTimeout(timer));
}

type Outcome = "ok" | "refused" | "reset" | "unavailable" | "hung" | "failed";
interface Answer {
  outcome: Outcome;
  ms: number;
  session?: { version: number; data: Record<string, unknown> };
  detail?: string;
}

/** One GraphQL POST with the visitor's cookie, classified; never throws. */
async function post(
  server: SessionqlInstance,
  jar: CookieJar,
  query: string,
  variables?: object,
): Promise<Answer> {
  const startedAt = performance.now();
  const ms = () => Math.round(performance.now() - startedAt);
  try {
    const cookie = jar.header();
    const res = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status === 503) return { outcome: "unavailable", ms: ms() };
    const body = JSON.parse(text) as { data?: Record<string, Answer["session"]>; errors?: unknown };
    const session = body.data && Object.values(body.data)[0];
    if (res.status !== 200 || body.errors || !session) return { outcome: "failed", ms: ms(), detail: text };
    jar.update(res);
    return { outcome: "ok", ms: ms(), session };
  } catch (error) {
    const { name, cause } = error as { name?: string; cause?: { code?: string } };
    if (name === "TimeoutError") return { outcome: "hung", ms: ms() };
    if (cause?.code === "ECONNREFUSED") return { outcome: "refused", ms: ms() };
    const resets = ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"];
    if (cause?.code && resets.includes(cause.code)) return { outcome: "reset", ms: ms() };
    return { outcome: "failed", ms: ms(), detail: String(cause ?? error) };
  }
}

interface Visitor {
  jar: CookieJar;
  step: number;
  /** The pair and version of the last answered write (version 0: nothing answered yet). */
  acked: { x?: number; version: number };
  /** The pair of the write sent and not answered. */
  pending?: number;
}

/** Counts of what happened to requests around the signal, for the checks and the verbose summary. */
interface Tally {
  ackedBeforeSignal: number;
  inFlightAtSignal: number;
  /** Outcomes of the requests in flight when the signal was sent. */
  inFlight: Partial<Record<Outcome, number>>;
  /** Outcomes of the requests sent after it. */
  after: Partial<Record<Outcome, number>>;
  slowestAfterMs: number;
  problems: string[];
}

/** Visitors write pairs {x: i, y: i} one after another; after `signal`, each stops at its first refusal. */
async function burstThenSignal(
  server: SessionqlInstance,
  visitors: Visitor[],
  signal: NodeJS.Signals,
  ackedBefore: number,
) {
  const tally: Tally = {
    ackedBeforeSignal: 0,
    inFlightAtSignal: 0,
    inFlight: {},
    after: {},
    slowestAfterMs: 0,
    problems: [],
  };
  let signalledAt: number | undefined;
  const drive = async (visitor: Visitor) => {
    for (;;) {
      const x = visitor.step;
      const sentAfterSignal = signalledAt !== undefined;
      visitor.pending = x;
      const answer = await post(server, visitor.jar, UPDATE, { values: { x, y: x } });
      if (signalledAt !== undefined) {
        const bucket = sentAfterSignal ? tally.after : tally.inFlight;
        bucket[answer.outcome] = (bucket[answer.outcome] ?? 0) + 1;
        if (sentAfterSignal) tally.slowestAfterMs = Math.max(tally.slowestAfterMs, answer.ms);
      }
      if (answer.outcome !== "ok") {
        if (answer.outcome === "failed" || signalledAt === undefined) {
          tally.problems.push(`write ${x}: ${answer.outcome} ${answer.detail ?? ""}`);
        }
        return;
      }
      const expected = visitor.acked.version + 1;
      if (answer.session?.version !== expected || answer.session.data.x !== x) {
        tally.problems.push(`write ${x}: answered ${JSON.stringify(answer.session)}, version ${expected}`);
        return;
      }
      visitor.acked = { x, version: expected };
      visitor.pending = undefined;
      visitor.step++;
      if (signalledAt === undefined) tally.ackedBeforeSignal++;
    }
  };
  const streams = Promise.all(visitors.map(drive));
  const deadline = performance.now() + 3_000;
  while (
    tally.ackedBeforeSignal < ackedBefore &&
    performance.now() < deadline &&
    tally.problems.length === 0
  ) {
    await new Promise((done) => setTimeout(done, 5));
  }
  tally.inFlightAtSignal = visitors.filter((visitor) => visitor.pending !== undefined).length;
  process.kill(server.pid, signal);
  signalledAt = performance.now();
  await streams;
  return { tally, signalledAt };
}

/** Restarts on the file and checks every answered write is there, with its pair whole. */
async function expectPersisted(file: string, visitors: Visitor[]) {
  const server = await launch(file);
  try {
    for (const visitor of visitors) {
      const answer = await post(server, visitor.jar, READ);
      expect(answer.outcome).toBe("ok");
      const { version, data } = answer.session ?? { version: -1, data: {} };
      const { acked, pending } = visitor;
      expect(data.x).toBe(data.y);
      // The answered write, or the unanswered one after it; never anything older.
      const allowed = [acked.x, ...(pending === undefined ? [] : [pending])];
      expect(allowed).toContain(data.x);
      expect(version).toBe(data.x === acked.x ? acked.version : acked.version + 1);
    }
  } finally {
    process.kill(server.pid, "SIGTERM");
    await exitWithin(server, EXIT_WITHIN_MS);
  }
}

describe.each(["SIGTERM", "SIGINT"] as const)("on %s during a burst of writes", (signal) => {
  test("answered writes persist, later requests are refused, not left hanging, and the exit is 0", async () => {
    const file = join(tmp, "sessions.sqlite");
    const server = await launch(file);
    const visitors: Visitor[] = Array.from({ length: 8 }, () => ({
      jar: new CookieJar(),
      step: 0,
      acked: { version: 0 },
    }));

    const { tally, signalledAt } = await burstThenSignal(server, visitors, signal, 150);
    const exit = await exitWithin(server, EXIT_WITHIN_MS);
    const exitMs = Math.round(exit.at - signalledAt);
    if (VERBOSE) process.stdout.write(`shutdown ${signal} ${JSON.stringify({ ...tally, exitMs })}\n`);

    expect(tally.problems).toEqual([]);
    expect(tally.inFlightAtSignal).toBeGreaterThan(0);
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(EXIT_WITHIN_MS);
    // After the signal nothing hangs: each request is answered (if already being served), 503'd or refused.
    expect(tally.inFlight.hung ?? 0).toBe(0);
    expect(tally.after.hung ?? 0).toBe(0);
    expect(tally.slowestAfterMs).toBeLessThan(2_000);
    await expectPersisted(file, visitors);
  }, 40_000);
});

/** Opens a raw connection, so a test can stop halfway through a request. */
async function rawConnection(port: number): Promise<Socket> {
  const socket = connect({ host: HOST, port });
  sockets.push(socket);
  await new Promise<void>((done, fail) => {
    socket.once("connect", done);
    socket.once("error", fail);
  });
  return socket;
}

/** Sends the headers and the first half of a setSession POST; `finish` sends the rest. */
function startUpload(socket: Socket, port: number, value: string) {
  const body = JSON.stringify({
    query: `mutation { setSession(key: "upload", value: "${value}") { version } }`,
  });
  const half = Math.floor(body.length / 2);
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: ${HOST}:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
  );
  return { finish: () => socket.write(body.slice(half)) };
}

/** The raw response text once the peer closes the connection or the response is complete. */
function responseOf(socket: Socket): Promise<string> {
  return new Promise((done) => {
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk;
      const [head, body = ""] = text.split("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(head ?? "")?.[1];
      if (text.includes("\r\n\r\n") && length !== undefined && Buffer.byteLength(body) >= Number(length)) {
        done(text);
      }
    });
    socket.once("close", () => done(text));
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((done) => {
    if (socket.destroyed) done();
    socket.once("close", () => done());
  });
}

function connectionRefused(port: number): Promise<string> {
  return new Promise((done) => {
    const socket = connect({ host: HOST, port });
    sockets.push(socket);
    socket.once("connect", () => done("connected"));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Sends SIGTERM while a setSession upload is half sent, then sends the rest; resolves with the raw answer. */
async function uploadAcrossSigterm(
  server: SessionqlInstance,
  betweenMs: number,
  meanwhile: () => Promise<void>,
) {
  const uploading = await rawConnection(server.port);
  const upload = startUpload(uploading, server.port, "finished");
  const answer = responseOf(uploading);
  await sleep(200); // Lets the server read the headers: from here on the request is in flight.
  process.kill(server.pid, "SIGTERM");
  const signalledAt = performance.now();
  await meanwhile();
  await sleep(betweenMs);
  upload.finish();
  const response = await answer;
  expect(response).toMatch(/^HTTP\/1\.1 200/);
  expect(response).toContain('"setSession":{"version":1}');
  return { uploading, response, signalledAt };
}

describe("when a request is still arriving at SIGTERM", () => {
  test("it is answered and persisted while new connections are refused and idle ones closed, then the exit is 0", async () => {
    const file = join(tmp, "sessions.sqlite");
    const server = await launch(file);
    const idle = await rawConnection(server.port);
    idle.write(`GET /healthz HTTP/1.1\r\nHost: ${HOST}:${server.port}\r\n\r\n`);
    expect(await responseOf(idle)).toMatch(/^HTTP\/1\.1 200/);
    let idleClosedMs = 0;

    const { uploading, response, signalledAt } = await uploadAcrossSigterm(server, 300, async () => {
      const signalledAt = performance.now();
      await closed(idle);
      idleClosedMs = Math.round(performance.now() - signalledAt);
      await sleep(100);
      // The listener is gone while the upload still holds the process.
      expect(await connectionRefused(server.port)).toBe("ECONNREFUSED");
      expect(server.exitedYet()).toBe(false);
    });
    uploading.end(); // See the next test for a client that keeps the connection open.
    const exit = await exitWithin(server, 2_000);
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(idleClosedMs).toBeLessThan(1_000);
    if (VERBOSE) {
      const exitMs = Math.round(exit.at - signalledAt);
      process.stdout.write(`shutdown upload ${JSON.stringify({ idleClosedMs, exitMs })}\n`);
    }

    const cookie = /set-cookie: sessionid=([^;\r\n]+)/i.exec(response)?.[1];
    expect(cookie).toBeDefined();
    const jar = new CookieJar();
    jar.set("sessionid", cookie as string);
    const restarted = await launch(file);
    try {
      const read = await post(restarted, jar, READ);
      expect(read.session).toEqual({ version: 1, data: { upload: "finished" } });
    } finally {
      process.kill(restarted.pid, "SIGTERM");
      await exitWithin(restarted, EXIT_WITHIN_MS);
    }
  }, 40_000);

  // Known bug, marked `failing` so the suite turns red once it is fixed: then drop `.failing`. The answer to a
  // request that was in flight at SIGTERM says `Connection: keep-alive` (timeout=72), and server.close() only
  // closes the connections idle at the moment it is called. A client that keeps the connection open (browsers,
  // proxies, load balancers) holds the drain until the grace period ends, and the process exits 1 with "in-flight
  // requests outlived the grace period" although nothing is in flight.
  test("a client keeping its connection open after the answer does not hold the exit", async () => {
    const server = await launch(join(tmp, "sessions.sqlite"), { SHUTDOWN_GRACE_SECONDS: "3" });
    const { signalledAt } = await uploadAcrossSigterm(server, 100, async () => {});
    const exit = await exitWithin(server, 5_000);
    if (VERBOSE) {
      const exitMs = Math.round(exit.at - signalledAt);
      process.stdout.write(`shutdown kept-open ${JSON.stringify({ ...exit, exitMs })}\n`);
    }
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(2_000);
  }, 20_000);

  test("with SHUTDOWN_GRACE_SECONDS=1 a request that never completes holds the exit for about 1 s, then it is non-zero", async () => {
    const server = await launch(join(tmp, "sessions.sqlite"), { SHUTDOWN_GRACE_SECONDS: "1" });
    const stuck = await rawConnection(server.port);
    startUpload(stuck, server.port, "never");
    await sleep(200);

    process.kill(server.pid, "SIGTERM");
    const signalledAt = performance.now();
    const exit = await exitWithin(server, 4_000);
    const exitMs = Math.round(exit.at - signalledAt);
    if (VERBOSE) process.stdout.write(`shutdown grace ${JSON.stringify({ ...exit, exitMs })}\n`);
    expect(exit.signal).toBeNull();
    expect(exit.code).not.toBe(0);
    expect(exitMs).toBeGreaterThanOrEqual(900);
    expect(exitMs).toBeLessThan(3_000);
  }, 20_000);
});
