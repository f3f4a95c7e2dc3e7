import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { CookieJar } from "../helpers/cookies";
import { type SessionqlInstance, startInstance } from "../helpers/instance";
import { GraphQLClient, type GraphQLResult } from "../helpers/server";

/*
 * Crash safety of the SQLite store: visitors keep writing while the server is killed with SIGKILL, three times on
 * the same file. Each visitor has at most one request in flight, so after a kill its session can be in exactly one
 * of two states: the one its last acknowledged mutation left, or the one the unanswered mutation would have left
 * (and, for an unanswered cycleSessionKey, empty: the visitor still holds the old key, which the cycle deleted).
 *
 * What this proves: a transaction committed before the answer was sent survives the death of the process (in WAL
 * mode it sits in the -wal file, in the OS page cache, and the next opener replays it). What it cannot prove:
 * survival of an OS crash or power loss, which with synchronous=NORMAL may lose the last commits. That would need
 * a VM or a filesystem that drops unsynced pages, which a test run on a developer machine does not have.
 */

const VISITORS = 12;
/** The kills: right after the first sessions exist, mid-stream, and after enough writes for WAL checkpoints. */
const KILL_AFTER_ACKED = [VISITORS * 2, 300, 1_000];
/** A kill happens after this long even if the machine is too slow to reach the count. */
const ROUND_CAP_MS = 4_000;
const ALLOWED_KEYS = new Set(["visitor", "counter", "x", "y", "scratch"]);
const VERBOSE = process.env.SESSIONQL_FAULTS_VERBOSE === "1";

const SESSION = "version data";
const SET = `mutation($key: String!, $value: JSON!) { result: setSession(key: $key, value: $value) { ${SESSION} } }`;
const UPDATE = `mutation($values: JSONObject!) { result: updateSession(values: $values) { ${SESSION} } }`;
const POP = `mutation($key: String!) { result: popSession(key: $key) { found value session { ${SESSION} } } }`;
const CYCLE = `mutation { result: cycleSessionKey { ${SESSION} } }`;
const READ = `{ result: session { ${SESSION} } }`;

type Data = Record<string, unknown>;
interface State {
  data: Data;
  version: number;
}
const EMPTY: State = { data: {}, version: 0 };

interface Op {
  name: "init" | "set" | "update" | "pop" | "cycle";
  query: string;
  variables?: Record<string, unknown>;
  /** The session this mutation leaves behind, and the answer it must give. */
  next: State;
  popped?: { found: boolean; value: unknown };
}

interface Visitor {
  index: number;
  jar: CookieJar;
  step: number;
  /** The session as the last acknowledged mutation left it. */
  acked: State;
  /** The mutation sent and never answered: applied or not, nobody knows. */
  pending?: Op;
  /** Records a lost answer may have left behind under a key the visitor never got (init or cycle in doubt). */
  orphansAllowed: number;
}

const started: SessionqlInstance[] = [];
let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "sessionql-crash-"));
});
afterEach(() => {
  for (const instance of started.splice(0)) if (!instance.exitedYet()) process.kill(instance.pid, "SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

/**
 * Deep equality of JSON values. Not util.isDeepStrictEqual: answers are parsed in Node's realm, outside jest's
 * sandbox, so their prototypes differ from the expected objects' and a strict comparison never matches.
 */
function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonical(entry)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "undefined";
}

/** The next mutation of a visitor's stream; every value is new, so each one changes the session. */
function nextOp(visitor: Visitor): Op {
  const { index, step, acked } = visitor;
  const bump = (data: Data): State => ({ data, version: acked.version + 1 });
  if (acked.version === 0) {
    const data = { visitor: index, counter: step, x: step, y: step };
    return { name: "init", query: UPDATE, variables: { values: data }, next: { data, version: 1 } };
  }
  if (step % 10 === 9) return { name: "cycle", query: CYCLE, next: bump(acked.data) };
  if (step % 10 === 3) {
    const variables = { key: "scratch", value: step };
    return { name: "set", query: SET, variables, next: bump({ ...acked.data, scratch: step }) };
  }
  if (step % 10 === 6 && "scratch" in acked.data) {
    const { scratch, ...rest } = acked.data;
    const popped = { found: true, value: scratch };
    return { name: "pop", query: POP, variables: { key: "scratch" }, next: bump(rest), popped };
  }
  if (step % 2 === 0) {
    const variables = { key: "counter", value: step };
    return { name: "set", query: SET, variables, next: bump({ ...acked.data, counter: step }) };
  }
  const pair = { x: step, y: step };
  return {
    name: "update",
    query: UPDATE,
    variables: { values: pair },
    next: bump({ ...acked.data, ...pair }),
  };
}

type Answer = GraphQLResult<{ result: State & { found?: boolean; value?: unknown; session?: State } }>;

/** The session an answer carries (popSession wraps it). */
function sessionOf(answer: Answer): State | undefined {
  const result = answer.data?.result;
  const session = result?.session ?? result;
  return session && { data: session.data, version: session.version };
}

/** What a visitor's session may look like after a kill. */
function candidates(visitor: Visitor): State[] {
  const { pending } = visitor;
  if (pending === undefined) return [visitor.acked];
  // A cycle whose answer was lost leaves the visitor holding the old, deleted key: its session reads as empty.
  return pending.name === "cycle" ? [visitor.acked, pending.next, EMPTY] : [visitor.acked, pending.next];
}

/** What must hold of any session state, whatever the interleaving: no stray keys, no half-applied pair. */
function invariantProblems(label: string, state: State, visitor: number): string[] {
  if (state.version === 0) return [];
  const { data } = state;
  const problems: string[] = [];
  const stray = Object.keys(data).filter((key) => !ALLOWED_KEYS.has(key));
  if (stray.length > 0) problems.push(`${label}: keys nobody wrote: ${stray.join(", ")}`);
  if (data.x !== data.y) problems.push(`${label}: half-applied pair x=${data.x} y=${data.y}`);
  if (data.visitor !== visitor) problems.push(`${label}: holds visitor ${data.visitor}'s data`);
  return problems;
}

/** The real CLI on the SQLite file, as a process of its own. */
async function launch(file: string): Promise<SessionqlInstance> {
  const instance = await startInstance({ SESSION_STORE: `sqlite://${file}` });
  started.push(instance);
  return instance;
}

/** The round's statistics, for the verbose summary. */
interface RoundStats {
  acked: number;
  ackedAfterKill: number;
  inFlightAtKill: number;
  killedAtMs: number;
}

/** Runs every visitor's stream until the Nth acknowledgement, then SIGKILLs the server from that very callback. */
async function streamUntilKilled(
  server: SessionqlInstance,
  visitors: Visitor[],
  killAfter: number,
  problems: string[],
) {
  const startedAt = performance.now();
  const stats: RoundStats = { acked: 0, ackedAfterKill: 0, inFlightAtKill: 0, killedAtMs: 0 };
  let killedAt: number | undefined;
  const kill = () => {
    if (killedAt !== undefined) return;
    process.kill(server.pid, "SIGKILL");
    killedAt = performance.now();
    stats.killedAtMs = Math.round(killedAt - startedAt);
    stats.inFlightAtKill = visitors.filter((visitor) => visitor.pending !== undefined).length;
  };
  const cap = setTimeout(kill, ROUND_CAP_MS);
  const drive = async (visitor: Visitor) => {
    const client = new GraphQLClient(server.graphqlUrl, visitor.jar);
    while (killedAt === undefined) {
      const op = nextOp(visitor);
      visitor.pending = op;
      let answer: Answer;
      try {
        answer = await client.request(op.query, op.variables);
      } catch {
        return; // The server is gone; `pending` stays in doubt.
      }
      const session = sessionOf(answer);
      const popped = answer.data?.result && {
        found: answer.data.result.found,
        value: answer.data.result.value,
      };
      if (answer.errors || !same(session, op.next) || (op.popped && !same(popped, op.popped))) {
        problems.push(
          `visitor ${visitor.index} ${op.name}: answered ${JSON.stringify(answer.data ?? answer.errors)}`,
        );
        return;
      }
      visitor.acked = op.next;
      visitor.pending = undefined;
      visitor.step++;
      stats.acked++;
      if (killedAt !== undefined) stats.ackedAfterKill++;
      if (stats.acked === killAfter) kill();
    }
  };
  await Promise.all(visitors.map(drive));
  clearTimeout(cap);
  kill(); // Already done unless every stream stopped on a problem; the caller waits for the exit either way.
  return stats;
}

/** Reads the file as the killed process left it, before any sessionql opens (and recovers) it again. */
function inspectFile(file: string, visitors: Visitor[], problems: string[]) {
  const walBytes = existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    const rows = db.prepare("SELECT key, value FROM sessionql_keyv").all() as Array<{
      key: string;
      value: string;
    }>;
    const states = rows.map((row) => (JSON.parse(row.value) as { value: State }).value);
    for (const visitor of visitors) {
      const own = states.filter((state) => state.data.visitor === visitor.index);
      const label = `file, visitor ${visitor.index}`;
      for (const state of own) problems.push(...invariantProblems(label, state, visitor.index));
      const pendingOrphan = visitor.pending?.name === "init" || visitor.pending?.name === "cycle" ? 1 : 0;
      if (own.length > (visitor.acked.version > 0 ? 1 : 0) + visitor.orphansAllowed + pendingOrphan) {
        problems.push(`${label}: ${own.length} records`);
      }
      // The acknowledged state (or the one the unanswered mutation made) must be in the file itself.
      const expected = candidates(visitor).filter((state) => state.version > 0);
      const found = own.some((state) =>
        expected.some((candidate) => same({ data: state.data, version: state.version }, candidate)),
      );
      if (visitor.acked.version > 0 && !found) {
        problems.push(`${label}: none of ${JSON.stringify(own)} is ${JSON.stringify(expected)}`);
      }
    }
    const strangers = states.filter(
      (state) => !visitors.some((visitor) => visitor.index === state.data.visitor),
    );
    if (strangers.length > 0) problems.push(`file: records of no visitor: ${JSON.stringify(strangers)}`);
    return { walBytes, rows: rows.length };
  } finally {
    db.close();
  }
}

/** Reads every visitor's session through a restarted server and adopts what it finds as the acknowledged state. */
async function reconcile(server: SessionqlInstance, visitors: Visitor[], problems: string[]) {
  const outcome = { applied: 0, notApplied: 0, lostByCycle: 0 };
  await Promise.all(
    visitors.map(async (visitor) => {
      const answer: Answer = await new GraphQLClient(server.graphqlUrl, visitor.jar).request(READ);
      const seen = sessionOf(answer);
      const label = `visitor ${visitor.index} after restart`;
      if (answer.errors || seen === undefined) {
        problems.push(`${label}: ${JSON.stringify(answer.errors)}`);
        return;
      }
      problems.push(...invariantProblems(label, seen, visitor.index));
      const { acked, pending } = visitor;
      // Stronger than "counter, pair and version at least what was acknowledged": the whole state must be one of
      // the two a visitor with one request in flight can have.
      const match = candidates(visitor).find((candidate) => same(seen, candidate));
      if (match === undefined) {
        problems.push(`${label}: read ${JSON.stringify(seen)}, acknowledged ${JSON.stringify(acked)}`);
        return;
      }
      if (pending !== undefined) {
        if (match === EMPTY && acked !== EMPTY) outcome.lostByCycle++;
        else if (match === acked) outcome.notApplied++;
        else outcome.applied++;
        if (pending.name === "init" || pending.name === "cycle") visitor.orphansAllowed++;
        if (match !== acked) visitor.step++;
      }
      visitor.acked = match;
      visitor.pending = undefined;
    }),
  );
  return outcome;
}

describe("when the SQLite-backed server is killed with SIGKILL mid-stream", () => {
  test("every acknowledged mutation survives, nothing half-applied or foreign shows, and the file stays sound", async () => {
    const file = join(tmp, "sessions.sqlite");
    const visitors: Visitor[] = Array.from({ length: VISITORS }, (_, index) => ({
      index,
      jar: new CookieJar(),
      step: 0,
      acked: EMPTY,
      orphansAllowed: 0,
    }));
    const problems: string[] = [];
    let server = await launch(file);

    for (const [round, killAfter] of KILL_AFTER_ACKED.entries()) {
      const stats = await streamUntilKilled(server, visitors, killAfter, problems);
      const exit = await server.exited;
      expect(exit.signal).toBe("SIGKILL");
      const inDoubt = visitors.filter((visitor) => visitor.pending !== undefined).length;
      const onDisk = inspectFile(file, visitors, problems);
      const restartedAt = performance.now();
      server = await launch(file);
      const restartMs = Math.round(performance.now() - restartedAt);
      const outcome = await reconcile(server, visitors, problems);
      expect(problems).toEqual([]);
      expect(stats.inFlightAtKill).toBeGreaterThan(0);
      if (VERBOSE) {
        const summary = { round, killAfter, ...stats, inDoubt, ...outcome, ...onDisk, restartMs };
        process.stdout.write(`crash round ${JSON.stringify(summary)}\n`);
      }
    }

    // Every visitor got somewhere: the stream ran across all three crashes.
    for (const visitor of visitors) expect(visitor.acked.version).toBeGreaterThan(0);
    process.kill(server.pid, "SIGTERM");
    expect(await server.exited).toMatchObject({ code: 0, signal: null });
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      db.close();
    }
  }, 60_000);
});
