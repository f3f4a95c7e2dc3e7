import { randomBytes } from "node:crypto";
import { parseSetCookie } from "cookie";
import { CookieSigner } from "../../src/http/cookie";
import { newSessionKey } from "../../src/session/keys";
import { freePort } from "../helpers/free-port";
import { type SessionqlInstance, startInstance } from "../helpers/instance";

// Two real processes with request logging on (trace) and the header transport: one on the memory store, one on a
// Redis URL where nothing listens, so that a store failure is logged too. Every secret value that goes over the
// wire is collected and must never show up in what either process printed.
const HEADER = "X-Session-Token";
const SECRETS = [
  `logs-secret-${randomBytes(12).toString("hex")}`,
  `old-secret-${randomBytes(12).toString("hex")}`,
];
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";
const READ = "{ session { data } }";
const START_TIMEOUT_MS = 60_000;
const OUTPUT_TIMEOUT_MS = 5_000;

interface Answer {
  status: number;
  requestId: string | null;
  codes: string[];
  body: { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> };
}

/** Every cookie value, session key and header token seen, which no log line may contain. */
const sensitive = new Set<string>(SECRETS);
/** The x-request-id of every response, per process. */
const requestIds = new Map<SessionqlInstance, string[]>();
const instances: SessionqlInstance[] = [];

function remember(value: string | null | undefined): void {
  if (!value) return;
  sensitive.add(value);
  // The session key is the part before the signature; it must not leak on its own either.
  const dot = value.lastIndexOf(".");
  if (dot > 0) sensitive.add(value.slice(0, dot));
}

/** A visitor of one process, carrying its session in a cookie or, with `header`, in the X-Session-Token header. */
class Visitor {
  cookie: string | undefined;
  token: string | undefined;

  constructor(
    readonly instance: SessionqlInstance,
    readonly transport: "cookie" | "header" = "cookie",
  ) {}

  async post(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
    const session: Record<string, string> =
      this.transport === "header"
        ? { [HEADER]: this.token ?? "" }
        : this.cookie === undefined
          ? {}
          : { cookie: `sessionid=${this.cookie}` };
    const res = await fetch(this.instance.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...session, ...headers },
      body: JSON.stringify({ query, variables }),
    });
    this.keep(res);
    const body = (await res.json()) as Answer["body"];
    const requestId = res.headers.get("x-request-id");
    requestIds.get(this.instance)?.push(requestId ?? "(none)");
    const codes = (body.errors ?? []).map((error) => error.extensions?.code ?? "(no code)");
    return { status: res.status, requestId, codes, body } satisfies Answer;
  }

  private keep(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const cookie = parseSetCookie(header);
      remember(cookie.value);
      if (cookie.name === "sessionid") this.cookie = cookie.value || undefined;
    }
    const token = res.headers.get(HEADER);
    if (token !== null) {
      remember(token);
      this.token = token || undefined;
    }
  }
}

async function start(env: Record<string, string>): Promise<SessionqlInstance> {
  const instance = await startInstance({
    LOG_LEVEL: "trace",
    SESSION_HEADER: HEADER,
    SESSION_SECRET: SECRETS.join(","),
    ...env,
  });
  instances.push(instance);
  requestIds.set(instance, []);
  return instance;
}

/** Sets, reads, updates, cycles and flushes a cookie session, with a rejected input on the way. */
async function cookieSession(instance: SessionqlInstance): Promise<Answer[]> {
  const visitor = new Visitor(instance);
  return [
    await visitor.post(SET, { key: "cart", value: { items: [1, 2] } }),
    await visitor.post(READ),
    await visitor.post('mutation { updateSession(values: { theme: "dark", step: 2 }) { version } }'),
    await visitor.post(SET, { key: "k".repeat(300), value: 1 }),
    await visitor.post("mutation { cycleSessionKey { id } }"),
    await visitor.post(READ, undefined, { "x-request-id": "logs-test-123" }),
    await visitor.post("mutation { flushSession { isEmpty } }"),
  ];
}

/** A cookie whose key is well formed but whose signature another secret made, and one for a session that is gone. */
async function forgedCookies(instance: SessionqlInstance): Promise<Answer[]> {
  const forger = new CookieSigner([`forger-${randomBytes(12).toString("hex")}`]);
  const forged = forger.sign(newSessionKey());
  remember(forged);
  const visitor = new Visitor(instance);
  visitor.cookie = forged;
  const stale = new Visitor(instance);
  await stale.post(SET, { key: "a", value: 1 });
  const staleCookie = stale.cookie;
  await stale.post("mutation { flushSession { isEmpty } }");
  stale.cookie = staleCookie;
  return [await visitor.post(READ), await visitor.post(SET, { key: "a", value: 1 }), await stale.post(READ)];
}

/** A session carried in the X-Session-Token header: created, read, cycled and flushed. */
async function headerSession(instance: SessionqlInstance): Promise<Answer[]> {
  const visitor = new Visitor(instance, "header");
  return [
    await visitor.post(SET, { key: "device", value: "phone" }),
    await visitor.post(READ),
    await visitor.post("mutation { cycleSessionKey { id } }"),
    await visitor.post(READ),
    await visitor.post("mutation { flushSession { isEmpty } }"),
  ];
}

/** Reads and writes on a process whose Redis refuses connections, with a cookie this secret signed. */
async function storeFailure(instance: SessionqlInstance, signedCookie: string): Promise<Answer[]> {
  const known = new Visitor(instance);
  known.cookie = signedCookie;
  const newcomer = new Visitor(instance);
  return [
    await known.post(READ),
    await known.post(SET, { key: "a", value: 1 }),
    await newcomer.post(SET, { key: "a", value: 1 }),
  ];
}

/** The process's output once every response it gave has its "request completed" line (output arrives through a pipe). */
async function completeOutput(instance: SessionqlInstance): Promise<string> {
  const ids = requestIds.get(instance) ?? [];
  const deadline = Date.now() + OUTPUT_TIMEOUT_MS;
  while (!ids.every((id) => completedLine(instance.output(), id) !== undefined) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return instance.output();
}

interface LogLine {
  level: number;
  time: number;
  msg: string;
  reqId?: string;
  req?: { url?: string };
  res?: { statusCode?: number };
}

function logLines(output: string): LogLine[] {
  return output
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as LogLine);
}

function completedLine(output: string, requestId: string): LogLine | undefined {
  return output
    .split("\n")
    .filter((line) => line.includes(requestId))
    .map((line) => JSON.parse(line) as LogLine)
    .find((line) => line.reqId === requestId && line.res !== undefined);
}

const answers: Record<string, Answer[]> = {};
/** A cookie of the memory-store process, signed with the same secret, presented to the one whose store is down. */
let heldCookie = "";
const outputs = new Map<SessionqlInstance, string>();

beforeAll(async () => {
  const main = await start({ SESSION_STORE: "memory://" });
  answers.cookie = await cookieSession(main);
  answers.forged = await forgedCookies(main);
  answers.header = await headerSession(main);
  const holder = new Visitor(main);
  await holder.post(SET, { key: "kept", value: true });
  const broken = await start({ SESSION_STORE: `redis://127.0.0.1:${await freePort()}` });
  heldCookie = holder.cookie ?? "";
  answers.storeFailure = await storeFailure(broken, heldCookie);
  for (const instance of instances) await instance.stop();
  for (const instance of instances) outputs.set(instance, await completeOutput(instance));
}, START_TIMEOUT_MS);

afterAll(async () => {
  for (const instance of instances) await instance.stop();
});

describe("when a process logs every request", () => {
  test("the scenario went as planned: sets, reads, a rejected input, forgeries, the header and a store failure", () => {
    expect(answers.cookie?.map((answer) => answer.codes)).toEqual([
      [],
      [],
      [],
      ["BAD_USER_INPUT"],
      [],
      [],
      [],
    ]);
    expect(answers.forged?.map((answer) => answer.body.data)).toEqual([
      { session: { data: {} } },
      { setSession: { version: 1 } },
      { session: { data: {} } },
    ]);
    expect(answers.header?.every((answer) => answer.codes.length === 0)).toBe(true);
    expect(answers.header?.[3]?.body.data).toEqual({ session: { data: { device: "phone" } } });
    expect(answers.storeFailure?.map((answer) => answer.codes)).toEqual([
      ["STORE_UNAVAILABLE"],
      ["STORE_UNAVAILABLE"],
      ["STORE_UNAVAILABLE"],
    ]);
    expect(heldCookie).toContain(".");
    // Cookies (set, cycled, forged, cleared), keys, tokens and the two secrets: enough that a leak would show.
    expect(sensitive.size).toBeGreaterThan(15);
  });

  test("no cookie value, session key, header token or secret appears in any output", () => {
    for (const [instance, output] of outputs) {
      expect(output.length).toBeGreaterThan(0);
      const leaked = [...sensitive].filter((value) => output.includes(value));
      expect({ pid: instance.pid, leaked }).toEqual({ pid: instance.pid, leaked: [] });
    }
  });

  test("the output is JSON lines, each with a level, a time and a message", () => {
    for (const output of outputs.values()) {
      for (const line of logLines(output)) {
        expect(line).toEqual(
          expect.objectContaining({
            level: expect.any(Number),
            time: expect.any(Number),
            msg: expect.any(String),
          }),
        );
      }
    }
  });

  test("request lines carry a request id, and each response's x-request-id names its lines", () => {
    for (const [instance, output] of outputs) {
      const lines = logLines(output);
      for (const line of lines.filter(
        (candidate) => candidate.req !== undefined || candidate.res !== undefined,
      )) {
        expect(line.reqId).toEqual(expect.any(String));
      }
      for (const requestId of requestIds.get(instance) ?? []) {
        expect(requestId).toMatch(/^[\w.:-]{1,64}$/);
        const incoming = lines.find((line) => line.reqId === requestId && line.req !== undefined);
        expect(incoming?.req?.url).toBe("/graphql");
        expect(completedLine(output, requestId)?.res?.statusCode).toBe(200);
      }
    }
  });

  test("a caller's plain x-request-id is the id the response and the log lines carry", () => {
    expect(answers.cookie?.[5]?.requestId).toBe("logs-test-123");
    const main = instances[0] as SessionqlInstance;
    expect(completedLine(outputs.get(main) ?? "", "logs-test-123")).toBeDefined();
  });

  test("each store failure is logged as an error, naming neither the session key nor the cookie", () => {
    const broken = instances[1] as SessionqlInstance;
    const failures = (outputs.get(broken) ?? "")
      .split("\n")
      .filter((line) => line.includes('"code":"STORE_UNAVAILABLE"'));
    expect(failures).toHaveLength(3);
    const key = heldCookie.slice(0, heldCookie.lastIndexOf("."));
    for (const line of failures) {
      expect(JSON.parse(line)).toMatchObject({
        level: 50,
        reqId: expect.any(String),
        err: { type: "StoreUnavailableError" },
      });
      expect(line).not.toContain(key);
    }
  });
});
