import autocannon from "autocannon";
import { COOKIE_NAME } from "./pool";

/** One request of the mix: a pooled visitor reading or bumping a counter, or a new visitor's first write. */
type Kind = "read" | "write" | "create";

/** Per connection; autocannon hands the same object to setupRequest and, for that request, to onResponse. */
interface Context {
  kind?: Kind;
  owner?: number;
}

/** What one load run did and found. */
export interface LoadReport {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  counts: Record<Kind, number>;
  /** Connection errors and timeouts, non-200 answers, GraphQL errors and answers that failed a check. */
  errors: number;
  /** The distinct problems seen, with how often. */
  problems: Map<string, number>;
}

/** A load run in progress: `done` resolves when the duration is over or `stop` was called. */
export interface RunningLoad {
  started: Promise<void>;
  done: Promise<LoadReport>;
  stop(): void;
}

const READ = JSON.stringify({ query: "{ session { data } }" });
const SET = "mutation($key: String!, $value: JSON!) { setSession(key: $key, value: $value) { version } }";
const MAX_DISTINCT_PROBLEMS = 20;
/** The mix: about 80% reads, 15% counter writes, 5% new visitors. */
const CREATE_SHARE = 0.05;
const WRITE_SHARE = 0.15;

/**
 * Runs autocannon against /graphql for `durationSeconds`: each request picks its kind and a pooled cookie at
 * random in setupRequest, and every answer is checked in onResponse (status 200, no `errors`, and the data a
 * correct server would send), so one wrong answer among millions still counts.
 */
export function startLoad(options: {
  url: string;
  cookies: string[];
  connections: number;
  durationSeconds: number;
}): RunningLoad {
  const counts: Record<Kind, number> = { read: 0, write: 0, create: 0 };
  const problems = new Map<string, number>();
  const note = (problem: string) => {
    if (problems.has(problem) || problems.size < MAX_DISTINCT_PROBLEMS) {
      problems.set(problem, (problems.get(problem) ?? 0) + 1);
    } else problems.set("(other problems)", (problems.get("(other problems)") ?? 0) + 1);
  };
  let instance: autocannon.Instance | undefined;
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const done = new Promise<LoadReport>((resolve, reject) => {
    instance = autocannon(
      {
        url: `${options.url}/graphql`,
        connections: options.connections,
        duration: options.durationSeconds,
        requests: [
          {
            method: "POST",
            setupRequest: (request, context) => nextRequest(request, context as Context, options.cookies),
            onResponse: (status, body, context, headers) => {
              const kind = (context as Context).kind ?? "read";
              counts[kind]++;
              const problem = checkResponse(status, body, context as Context, headers);
              if (problem !== undefined) note(`${kind}: ${problem}`);
            },
          },
        ],
      },
      (error, result) => {
        if (error) reject(error);
        else resolve(summarise(result, counts, problems));
      },
    );
    instance.on("start", () => markStarted());
  });
  return { started, done, stop: () => instance?.stop() };
}

function nextRequest(request: autocannon.Request, context: Context, cookies: string[]): autocannon.Request {
  const roll = Math.random();
  const owner = Math.floor(Math.random() * cookies.length);
  const headers = { "content-type": "application/json" };
  context.owner = owner;
  if (roll < CREATE_SHARE) {
    context.kind = "create";
    const value = { landing: `/products/${owner}`, at: Date.now() };
    return { ...request, headers, body: JSON.stringify({ query: SET, variables: { key: "visit", value } }) };
  }
  const withCookie = { ...headers, cookie: cookies[owner] as string };
  if (roll < CREATE_SHARE + WRITE_SHARE) {
    context.kind = "write";
    const variables = { key: "counter", value: Math.floor(Math.random() * 1_000_000) };
    return { ...request, headers: withCookie, body: JSON.stringify({ query: SET, variables }) };
  }
  context.kind = "read";
  return { ...request, headers: withCookie, body: READ };
}

interface Answer {
  data?: {
    session?: { data?: { profile?: { owner?: unknown } } };
    setSession?: { version?: unknown };
  } | null;
  errors?: Array<{ message?: string; extensions?: { code?: string } }>;
}

/** What is wrong with one answer, or undefined when it is what a correct server sends. */
function checkResponse(
  status: number,
  body: string,
  context: Context,
  headers: autocannon.Request["headers"],
): string | undefined {
  if (status !== 200) return `HTTP ${status}`;
  let answer: Answer;
  try {
    answer = JSON.parse(body) as Answer;
  } catch {
    return "a body that is not JSON";
  }
  const firstError = answer.errors?.[0];
  if (firstError !== undefined) return `${firstError.extensions?.code ?? "error"}: ${firstError.message}`;
  switch (context.kind) {
    case "create": {
      const setCookie = Object.entries(headers ?? {}).find(
        ([name]) => name.toLowerCase() === "set-cookie",
      )?.[1];
      if (!String(setCookie).includes(`${COOKIE_NAME}=`)) return "a new session without a session cookie";
      return answer.data?.setSession?.version === 1 ? undefined : "a new session whose version is not 1";
    }
    case "write": {
      const version = answer.data?.setSession?.version;
      return typeof version === "number" && version > 1
        ? undefined
        : `a pooled session saved as version ${version}`;
    }
    default: {
      const owner = answer.data?.session?.data?.profile?.owner;
      return owner === context.owner ? undefined : `session ${context.owner} read back owner ${owner}`;
    }
  }
}

function summarise(result: autocannon.Result, counts: Record<Kind, number>, problems: Map<string, number>) {
  if (result.errors > 0) problems.set("connection errors and timeouts", result.errors);
  let errors = 0;
  for (const count of problems.values()) errors += count;
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    counts,
    errors,
    problems,
  };
}
