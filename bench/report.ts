import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunResult, summariseRounds } from "./load";
import { machineLines, type RunMeta } from "./run-meta";
import { HOT_SESSION_KINDS, type ServerKind } from "./servers";
import { WORKLOAD_TITLES, type WorkloadId } from "./workloads";

/** Every round of one server on one store and workload. */
export interface Cell {
  store: string;
  workload: WorkloadId;
  kind: ServerKind;
  rounds: RunResult[];
}

/** What the report says about the whole run besides the numbers. */
export interface ReportMeta extends RunMeta {
  preparation: string;
}

/** A cell reduced to one line (see summariseRounds), or undefined when it did not run. */
function summarise(cell: Cell | undefined): RunResult | undefined {
  return cell === undefined || cell.rounds.length === 0 ? undefined : summariseRounds(cell.rounds);
}

/** The workload with no baseline and a table of its own (hotSessionTable). */
const HOT_SESSION: WorkloadId = "W5";

const HEADER = [
  "store",
  "workload",
  "sessionql req/s",
  "p50 ms",
  "p99 ms",
  "baseline req/s",
  "p50 ms",
  "p99 ms",
  "ratio",
  "Apollo floor req/s",
  "floor ÷ baseline",
  "sessionql ÷ floor",
  "errors sq / base",
  "server CPU sq / base",
  "loader CPU sq / base",
  "others sq / base",
];

/**
 * The results table: one row per store and workload, sessionql beside the baseline; undefined when only W5 ran,
 * which has no baseline (see HOT_SESSION_KINDS) and is in hotSessionTable instead.
 */
export function resultsTable(cells: readonly Cell[]): string | undefined {
  const rows: string[][] = [];
  const seen = new Set<string>();
  for (const { store, workload } of cells) {
    if (workload === HOT_SESSION || seen.has(`${store}/${workload}`)) continue;
    seen.add(`${store}/${workload}`);
    const find = (kind: ServerKind) =>
      summarise(cells.find((c) => c.store === store && c.workload === workload && c.kind === kind));
    const sq = find("sessionql");
    const base = find("baseline");
    const floor = find("apollo-floor");
    rows.push([
      store,
      workload,
      ...numbers(sq),
      ...numbers(base),
      ratio(sq, base),
      floor === undefined ? "–" : (numbers(floor)[0] as string),
      floor === undefined ? "–" : ratio(floor, base),
      floor === undefined ? "–" : ratio(sq, floor),
      `${sq?.errors ?? "–"} / ${base?.errors ?? "–"}`,
      `${percent(sq?.serverCpu)} / ${percent(base?.serverCpu)}`,
      `${percent(sq?.loaderCpu)} / ${percent(base?.loaderCpu)}`,
      `${percent(sq?.others)} / ${percent(base?.others)}`,
    ]);
  }
  return rows.length === 0 ? undefined : markdownTable(HEADER, rows);
}

const EXPRESS_HEADER = [
  "store",
  "workload",
  "express-library req/s",
  "p99 ms",
  "express-session req/s",
  "p99 ms",
  "library ÷ express-session",
  "errors lib / es",
  "server CPU lib / es",
];

/**
 * The Express 5 table: one row per store and workload the pair ran on, sessionql's library on Express beside
 * Apollo Server with express-session; undefined when neither ran.
 */
export function expressTable(cells: readonly Cell[]): string | undefined {
  const rows: string[][] = [];
  const seen = new Set<string>();
  for (const { store, workload, kind } of cells) {
    if (kind !== "express-library" && kind !== "express-session") continue;
    // express-session does not run W5; express-library's W5 is in hotSessionTable.
    if (workload === HOT_SESSION || seen.has(`${store}/${workload}`)) continue;
    seen.add(`${store}/${workload}`);
    const find = (wanted: ServerKind) =>
      summarise(cells.find((c) => c.store === store && c.workload === workload && c.kind === wanted));
    const library = find("express-library");
    const expressSession = find("express-session");
    const [libraryRate, , libraryP99] = numbers(library);
    const [sessionRate, , sessionP99] = numbers(expressSession);
    rows.push([
      store,
      workload,
      libraryRate as string,
      libraryP99 as string,
      sessionRate as string,
      sessionP99 as string,
      ratio(library, expressSession),
      `${library?.errors ?? "–"} / ${expressSession?.errors ?? "–"}`,
      `${percent(library?.serverCpu)} / ${percent(expressSession?.serverCpu)}`,
    ]);
  }
  return rows.length === 0 ? undefined : markdownTable(EXPRESS_HEADER, rows);
}

const DEFAULTS_HEADER = [
  "store",
  "workload",
  "as npm start req/s",
  "p99 ms",
  "LOG_LEVEL=warn req/s",
  "p99 ms",
  "defaults ÷ warn",
  "errors defaults / warn",
];

/**
 * sessionql exactly as `npm start` runs it (every setting at its default, LOG_LEVEL info included) beside the
 * bench's own sessionql (LOG_LEVEL=warn, no creation limit): what the defaults cost. Undefined when it did not run.
 */
export function defaultsTable(cells: readonly Cell[]): string | undefined {
  const rows: string[][] = [];
  for (const cell of cells) {
    // The defaults' W5 is in hotSessionTable, beside sessionql's.
    if (cell.kind !== "sessionql-defaults" || cell.workload === HOT_SESSION) continue;
    const defaults = summarise(cell);
    const tuned = summarise(
      cells.find((c) => c.store === cell.store && c.workload === cell.workload && c.kind === "sessionql"),
    );
    const [defaultsRate, , defaultsP99] = numbers(defaults);
    const [tunedRate, , tunedP99] = numbers(tuned);
    rows.push([
      cell.store,
      cell.workload,
      defaultsRate as string,
      defaultsP99 as string,
      tunedRate as string,
      tunedP99 as string,
      ratio(defaults, tuned),
      `${defaults?.errors ?? "–"} / ${tuned?.errors ?? "–"}`,
    ]);
  }
  return rows.length === 0 ? undefined : markdownTable(DEFAULTS_HEADER, rows);
}

const HOT_SESSION_HEADER = ["store", "server", "writes/s", "p50 ms", "p99 ms", "errors", "server CPU"];

/**
 * The hot-session table: W5 on every store and server it ran on (HOT_SESSION_KINDS), one session written by
 * every connection; a lost update counts as an error, so its rate reads INVALID. Undefined when W5 did not run.
 */
export function hotSessionTable(cells: readonly Cell[]): string | undefined {
  const rows: string[][] = [];
  for (const cell of cells) {
    if (cell.workload !== HOT_SESSION || !HOT_SESSION_KINDS.has(cell.kind)) continue;
    const summary = summarise(cell);
    rows.push([
      cell.store,
      cell.kind,
      ...numbers(summary),
      String(summary?.errors ?? "–"),
      percent(summary?.serverCpu),
    ]);
  }
  return rows.length === 0 ? undefined : markdownTable(HOT_SESSION_HEADER, rows);
}

const USERS_HEADER = [
  "store",
  "workload",
  "sessionql req/s",
  "p99 ms",
  "apollo-users req/s",
  "p99 ms",
  "sessionql ÷ Apollo as users get it",
  "errors sq / users",
  "server CPU sq / users",
];

/**
 * sessionql beside Apollo Server as its users get it (bench/apollo-users.ts: default plugins, sessions in a Map
 * under an unsigned cookie), one row per store and workload it ran on; undefined when it did not run.
 */
export function usersTable(cells: readonly Cell[]): string | undefined {
  const rows: string[][] = [];
  for (const cell of cells) {
    if (cell.kind !== "apollo-users") continue;
    const users = summarise(cell);
    const sq = summarise(
      cells.find((c) => c.store === cell.store && c.workload === cell.workload && c.kind === "sessionql"),
    );
    const [sqRate, , sqP99] = numbers(sq);
    const [usersRate, , usersP99] = numbers(users);
    rows.push([
      cell.store,
      cell.workload,
      sqRate as string,
      sqP99 as string,
      usersRate as string,
      usersP99 as string,
      ratio(sq, users),
      `${sq?.errors ?? "–"} / ${users?.errors ?? "–"}`,
      `${percent(sq?.serverCpu)} / ${percent(users?.serverCpu)}`,
    ]);
  }
  return rows.length === 0 ? undefined : markdownTable(USERS_HEADER, rows);
}

/** `a`'s rate over `b`'s, or INVALID when either had an error or a wrong answer. */
function ratio(a: RunResult | undefined, b: RunResult | undefined): string {
  const valid = (s: RunResult | undefined): s is RunResult => s !== undefined && s.errors === 0;
  return valid(a) && valid(b) ? `${(a.requestsPerSecond / b.requestsPerSecond).toFixed(2)}×` : "INVALID";
}

function numbers(summary: RunResult | undefined): string[] {
  if (summary === undefined) return ["–", "–", "–"];
  const rate = summary.requestsPerSecond.toFixed(0);
  return [
    summary.errors === 0 ? rate : `INVALID (${rate})`,
    summary.p50Ms.toFixed(2),
    summary.p99Ms.toFixed(2),
  ];
}

function percent(share: number | undefined): string {
  return share === undefined || Number.isNaN(share) ? "–" : `${(share * 100).toFixed(0)}%`;
}

/** A Markdown table padded to its widest cells; the first `nameColumns` are left-aligned, the rest right. */
export function markdownTable(header: string[], rows: string[][], nameColumns = 2): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  // The first columns name the cell and are left-aligned; the numbers are right-aligned.
  const pad = (cell: string, i: number) =>
    i < nameColumns ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0);
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = `|${widths.map((width, i) => `${"-".repeat(width + 1)}${i < nameColumns ? "-" : ":"}`).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** The whole Markdown report: how it was measured, the table, what the workloads are, and any wrong answers. */
export function markdownReport(meta: ReportMeta, cells: readonly Cell[]): string {
  const problems = cells.flatMap((cell) => {
    const first = cell.rounds.find((run) => run.firstError !== undefined)?.firstError;
    return first === undefined ? [] : [`- ${cell.store} ${cell.workload} ${cell.kind}: ${first}`];
  });
  const express = expressTable(cells);
  const defaults = defaultsTable(cells);
  const results = resultsTable(cells);
  const users = usersTable(cells);
  const hot = hotSessionTable(cells);
  return [
    `# sessionql bench, ${meta.date}`,
    "",
    ...machineLines(meta),
    `- ${meta.connections} connections; ${meta.durationSeconds} s runs after a ${meta.warmupSeconds} s warm-up; ` +
      `median of ${meta.rounds} round(s), errors summed over them; ${meta.poolSize} pooled sessions of ` +
      `${meta.sessionBytes} bytes (5 keys)`,
    `- sessions prepared: ${meta.preparation}`,
    "- ratio = sessionql req/s ÷ baseline req/s; Apollo floor = Apollo Server on fastify configured as sessionql " +
      "configures it, answering from constants with no session layer or store (bench/apollo-floor.ts): the most " +
      "a server built on them can do here, so floor ÷ baseline is what Apollo Server and fastify leave and " +
      "sessionql ÷ floor what the session layer costs on top; CPU = share of one core used by the process during the run; " +
      "others = CPU taken meanwhile by processes the bench did not start, in % of one core (above a few %, " +
      "the machine was shared and the run is skewed)",
    "",
    ...(results === undefined ? [] : [results, ""]),
    ...(defaults === undefined
      ? []
      : [
          "As `npm start` runs it: dist/main.js with only SESSION_STORE, SESSION_SECRET, PORT and HOST set, every " +
            "other setting (LOG_LEVEL=info included) at its default, beside the run above (LOG_LEVEL=warn).",
          "",
          defaults,
          "",
        ]),
    ...(users === undefined
      ? []
      : [
          "Apollo as users get it: Apollo Server 5 on fastify through @as-integrations/fastify as its README " +
            "sets it up, every setting and default plugin as it comes, sessions in a plain Map under an unsigned " +
            "cookie, no lock, expiry or store (bench/apollo-users.ts); on the memory store only.",
          "",
          users,
          "",
        ]),
    ...(hot === undefined
      ? []
      : [
          "Hot session (W5), on the servers that keep a per-session lock only: every connection writes one " +
            "session, each write waiting on the lock for the one before, and the session's version, read before " +
            "and after each run, must have risen by exactly the writes sent (those answered and the one per " +
            "connection cut off in flight when the run ends, which the server still saves), any write lost or " +
            "saved twice counting as an error.",
          "",
          hot,
          "",
        ]),
    ...(express === undefined
      ? []
      : [
          "On Express 5: express-library = sessionql's library (createSessions) in Apollo Server through " +
            "@as-integrations/express5, as an application writes it (bench/express-library.ts); express-session " +
            "= Apollo Server on Express 5 with express-session (MemoryStore, or connect-redis on node-redis), " +
            "serving the same operations (bench/express-session.ts).",
          "",
          express,
          "",
        ]),
    ...(Object.entries(WORKLOAD_TITLES) as [WorkloadId, string][]).map(([id, title]) => `- ${id}: ${title}`),
    ...(problems.length > 0 ? ["", "Wrong answers and errors (first of each cell):", "", ...problems] : []),
    "",
  ].join("\n");
}

/** Writes `<stamp>.json`, `<stamp>.md` and `latest.md` into `dir`; returns the paths written. */
export function writeReport(dir: string, meta: ReportMeta, cells: readonly Cell[]): string[] {
  return writeReportFiles(dir, "", meta.date, { meta, cells }, markdownReport(meta, cells));
}

/**
 * Writes `json` to `<prefix><stamp>.json` and `markdown` to `<prefix><stamp>.md` and `<prefix>latest.md` in
 * `dir`, the stamp being the run's date; returns the paths written.
 */
export function writeReportFiles(
  dir: string,
  prefix: string,
  date: string,
  json: object,
  markdown: string,
): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = date.replace(/[:.]/g, "-");
  const paths = [
    join(dir, `${prefix}${stamp}.json`),
    join(dir, `${prefix}${stamp}.md`),
    join(dir, `${prefix}latest.md`),
  ];
  writeFileSync(paths[0] as string, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(paths[1] as string, markdown);
  writeFileSync(paths[2] as string, markdown);
  return paths;
}
