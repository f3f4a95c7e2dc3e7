/**
 * `npm run bench:live`: live sessions (`subscription { sessionChanged { version data } }` over graphql-ws) under
 * load, on each store.
 *
 * 1. Holding: one server (dist/main.js, pinned to core 0 as in `npm run bench`) gets N sessions (default 10,000),
 *    each created by a `setSession` without a cookie, then one graphql-ws connection with one subscription per
 *    session, from this process on core 1. Every subscription is proven live by a change to its session (a
 *    `setSession`) that it must be pushed; the server's memory is read after collecting its garbage, before the
 *    connections open and after all are confirmed: (after − before) ÷ N is the memory per subscription, as RSS
 *    (/proc/<pid>/status) and as V8's used heap (/metrics).
 * 2. Delivery, on the stores two servers can share (Redis, PostgreSQL): servers A and B on one store, S sessions
 *    (default 200) each followed by one subscriber on B, and `setSession` mutations sent to A at a fixed rate
 *    (default 200/s for 10 s, after a warm-up), round-robin over the sessions and sent on schedule whether or
 *    not earlier ones were answered. Each carries its send time in the value; the latency of a change is from
 *    just before its mutation is sent (so it includes the save) to when its subscriber receives it. A session
 *    whose subscriber never sees the version its last mutation saved counts as an event lost.
 *
 * Prints the table and writes bench/results/live-<timestamp>.{json,md} and live-latest.md.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { ownCpuSeconds, type Pinning, processCpuSeconds } from "./cpu";
import {
  createSessions,
  nowMs,
  type OnNext,
  openSubscribers,
  type Subscriber,
  setStamp,
} from "./live-clients";
import {
  GC_ON_SIGNAL_ENV,
  LIVE_STORE_NAMES,
  type LiveStore,
  type LiveStoreName,
  type MemorySample,
  openLiveStore,
  SHARED_STORES,
  settledMemory,
} from "./live-stores";
import { CommandLine } from "./options";
import { markdownTable, writeReportFiles } from "./report";
import { beginRun, machineLines, type RunMeta, runMeta } from "./run-meta";
import { type RunningServer, startServer } from "./servers";
import { percentile } from "./stats";

const USAGE = `usage: npm run bench:live -- [options]
  --stores <list>         ${LIVE_STORE_NAMES.join(",")} (default all; delivery runs on redis and postgres)
  --subscriptions <n>     subscriptions one server holds, one session and connection each (default 10000)
  --sessions <n>          sessions followed on server B in the delivery run (default 200)
  --rate <n>              mutations per second sent to server A (default 200)
  --duration <s>          seconds of measured delivery (default 10)
  --warmup <s>            seconds of the same load before it, not measured (default 2)
  --handshakes <n>        WebSocket handshakes in flight while opening (default 200)
  --server <file>         the sessionql build to run (default dist/main.js)
  --out <dir>             where the reports go (default bench/results)`;

/** The contract's target for a change to reach a subscriber on another instance. */
const TARGET_P99_MS = 100;
/** Sessions the holding server's subscriptions are warmed up with (opened, confirmed, closed) before measuring. */
const WARM_SUBSCRIPTIONS = 100;
/** setSession requests in flight while creating sessions and confirming subscriptions. */
const HTTP_IN_FLIGHT = 32;
/** Changes sent to a session, at most, until its subscriber is pushed one. */
const CONFIRM_ROUNDS = 3;
/** How long confirming waits with no new push before it sends the sessions still waiting another change. */
const CONFIRM_QUIET_MS = 2_000;
/** How long subscribers get after the last mutation's answer to see every session's final version. */
const DRAIN_TIMEOUT_MS = 5_000;

interface Options {
  stores: LiveStoreName[];
  subscriptions: number;
  sessions: number;
  rate: number;
  durationSeconds: number;
  warmupSeconds: number;
  handshakes: number;
  entry: string | undefined;
  outDir: string;
}

const cli = new CommandLine("bench:live", USAGE);

function readOptions(argv: string[]): Options {
  const values = cli.parse(argv, {
    stores: { type: "string", default: LIVE_STORE_NAMES.join(",") },
    subscriptions: { type: "string", default: "10000" },
    sessions: { type: "string", default: "200" },
    rate: { type: "string", default: "200" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    handshakes: { type: "string", default: "200" },
    server: { type: "string" },
    out: { type: "string", default: join(__dirname, "results") },
  });
  return {
    stores: cli.listOf("stores", values.stores, LIVE_STORE_NAMES),
    subscriptions: cli.whole("subscriptions", values.subscriptions, 1),
    sessions: cli.whole("sessions", values.sessions, 1),
    rate: cli.number("rate", values.rate, 1),
    durationSeconds: cli.number("duration", values.duration, 1),
    warmupSeconds: cli.number("warmup", values.warmup, 0),
    handshakes: cli.whole("handshakes", values.handshakes, 1),
    entry: values.server,
    outDir: values.out,
  };
}

/** What every part of the run shares. */
interface Run {
  options: Options;
  pinning: Pinning;
  secret: string;
}

/** Part 1 on one store. */
interface HoldResult {
  subscriptions: number;
  /** Subscriptions pushed their confirming change and still open after the second memory reading. */
  held: number;
  createSeconds: number;
  openSeconds: number;
  confirmSeconds: number;
  /** CPU milliseconds per subscription opened (handshake, connection_init, subscribe), in the server and here. */
  openServerCpuMs: number;
  openLoaderCpuMs: number;
  /** Subscriptions confirmed only by a second change: the first was saved before the server followed the session. */
  missedFirst: number;
  before: MemorySample;
  after: MemorySample;
  rssKibPerSubscription: number;
  heapKibPerSubscription: number;
  externalKibPerSubscription: number;
  problems: string[];
}

/** Part 2 on one store. */
interface DeliveryResult {
  sessions: number;
  rate: number;
  durationSeconds: number;
  /** Subscribers on B confirmed only by a second change (as HoldResult.missedFirst). */
  missedFirst: number;
  /** Mutations sent in the measured run, and how many failed. */
  sent: number;
  errors: number;
  /** Measured changes a subscriber was pushed (the others were folded into a later push of their session). */
  delivered: number;
  /** Sessions whose subscriber never saw the version of their last mutation (or whose subscription died). */
  lost: number;
  /** From just before the mutation is sent to the subscriber's receipt. */
  latencyMs: Quantiles;
  /** From the mutation's HTTP answer to the receipt (negative when the push came first). */
  afterAnswerMs: Quantiles;
  /** The mutation's HTTP round trip on server A. */
  roundTripMs: Quantiles;
  /** This process's event-loop delay during the measured run: how late it could have stamped a receipt. */
  loaderLoopDelayMs: { p99: number; max: number };
  problems: string[];
}

interface Quantiles {
  p50: number;
  p99: number;
  max: number;
}

interface LiveResult {
  store: LiveStoreName;
  hold: HoldResult;
  delivery: DeliveryResult | undefined;
}

/** A sessionql server on the store, pinned like every bench server, whose garbage the bench can collect. */
function startOn(store: LiveStore, run: Run): Promise<RunningServer> {
  return startServer("sessionql", {
    storeUrl: store.url,
    secret: run.secret,
    pinning: run.pinning,
    entry: run.options.entry,
    env: GC_ON_SIGNAL_ENV,
  });
}

const wsUrlOf = (server: RunningServer) => `${server.url.replace(/^http/, "ws")}/graphql`;

/**
 * Part 1: N sessions, then N subscriptions on one server, each confirmed by a change pushed to it, with the
 * server's memory read (after collecting its garbage) before they open and once all are confirmed.
 */
async function holdSubscriptions(store: LiveStore, run: Run): Promise<HoldResult> {
  const count = run.options.subscriptions;
  const server = await startOn(store, run);
  let subscribers: Subscriber[] = [];
  try {
    let started = performance.now();
    const cookies = await createSessions(server.url, count, HTTP_IN_FLIGHT);
    const createSeconds = seconds(started);
    log(store, `${count} sessions created in ${createSeconds.toFixed(1)} s`);

    // Warm-up: the first subscriptions load and compile what every later one runs, which is not per subscription.
    const warm = await openSubscribers(wsUrlOf(server), cookies.slice(0, WARM_SUBSCRIPTIONS), 32, () => {});
    await confirm(server, cookies.slice(0, WARM_SUBSCRIPTIONS), warm, 1_000_000);
    for (const subscriber of warm) subscriber.terminate();
    await sleep(500);

    const before = await settledMemory(server.pid, server.url);
    started = performance.now();
    const serverCpu = processCpuSeconds(server.pid);
    const loaderCpu = ownCpuSeconds();
    subscribers = await openSubscribers(wsUrlOf(server), cookies, run.options.handshakes, () => {});
    const openSeconds = seconds(started);
    const openServerCpuMs = ((processCpuSeconds(server.pid) - serverCpu) * 1000) / count;
    const openLoaderCpuMs = ((ownCpuSeconds() - loaderCpu) * 1000) / count;
    log(
      store,
      `${count} subscriptions opened in ${openSeconds.toFixed(1)} s (${Math.round(count / openSeconds)}/s)`,
    );
    started = performance.now();
    const { confirmed, missedFirst } = await confirm(server, cookies, subscribers, 2_000_000);
    const confirmSeconds = seconds(started);
    log(
      store,
      `${confirmed} of ${count} confirmed by a pushed change in ${confirmSeconds.toFixed(1)} s ` +
        `(${missedFirst} missed the first change saved after they subscribed)`,
    );
    const after = await settledMemory(server.pid, server.url);
    const held = subscribers.filter((subscriber) => subscriber.live && subscriber.version > 0).length;
    const perSubscription = (pick: (sample: MemorySample) => number) =>
      (pick(after) - pick(before)) / count / 1024;
    const result: HoldResult = {
      subscriptions: count,
      held: Math.min(held, confirmed),
      createSeconds,
      openSeconds,
      confirmSeconds,
      openServerCpuMs,
      openLoaderCpuMs,
      missedFirst,
      before,
      after,
      rssKibPerSubscription: perSubscription((sample) => sample.rssBytes),
      heapKibPerSubscription: perSubscription((sample) => sample.heapUsedBytes),
      externalKibPerSubscription: perSubscription((sample) => sample.externalBytes),
      problems: problemsOf(subscribers),
    };
    log(
      store,
      `memory per subscription: RSS ${kib(result.rssKibPerSubscription)} KiB, heap ${kib(result.heapKibPerSubscription)} KiB ` +
        `(RSS ${mib(before.rssBytes)} → ${mib(after.rssBytes)} MiB, heap ${mib(before.heapUsedBytes)} → ${mib(after.heapUsedBytes)} MiB)`,
    );
    return result;
  } finally {
    for (const subscriber of subscribers) subscriber.terminate();
    await server.stop();
  }
}

/** What confirming a set of subscriptions found. */
interface Confirmed {
  /** Subscriptions pushed a change saved after they were opened. */
  confirmed: number;
  /**
   * Of them, those not pushed the first change saved after their subscribe message was written, only a later
   * one: the server had not started following the session yet (see the report's notes).
   */
  missedFirst: number;
}

/**
 * Sends one change to each session (stamped from `firstSeq`) and waits until each subscriber was pushed the
 * version it saved, or until no more arrive for a while; the sessions whose subscriber was not pushed theirs get
 * another change, up to CONFIRM_ROUNDS in all. A subscriber pushed none counts as not confirmed.
 */
async function confirm(
  server: RunningServer,
  cookies: readonly string[],
  subscribers: readonly Subscriber[],
  firstSeq: number,
): Promise<Confirmed> {
  const expected: number[] = new Array(cookies.length).fill(Number.POSITIVE_INFINITY);
  const pushed = (index: number) => (subscribers[index]?.version ?? 0) >= (expected[index] as number);
  let pending = cookies.map((_cookie, index) => index);
  let missedFirst = 0;
  for (let round = 0; round < CONFIRM_ROUNDS && pending.length > 0; round++) {
    let next = 0;
    const indices = pending;
    const worker = async () => {
      while (next < indices.length) {
        const index = indices[next++] as number;
        expected[index] = await setStamp(server.url, cookies[index] as string, {
          seq: firstSeq + round * cookies.length + index,
          sentAt: nowMs(),
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(HTTP_IN_FLIGHT, indices.length) }, worker));
    // Until every one is pushed, or none more is for CONFIRM_QUIET_MS (each push comes within milliseconds).
    let left = indices.filter((index) => !pushed(index));
    let quietSince = Date.now();
    while (left.length > 0 && Date.now() - quietSince < CONFIRM_QUIET_MS) {
      await sleep(50);
      const now = indices.filter((index) => !pushed(index) && subscribers[index]?.live);
      if (now.length < left.length) quietSince = Date.now();
      left = now;
    }
    pending = left;
    if (round === 0) missedFirst = left.length;
  }
  const confirmed = cookies.length - cookies.filter((_cookie, index) => !pushed(index)).length;
  return { confirmed, missedFirst: missedFirst - (cookies.length - confirmed) };
}

/**
 * Part 2: S sessions, their subscribers on server B, and mutations to server A at the rate for the warm-up and
 * then the measured duration; each change's latency is from just before its mutation was sent to its receipt.
 */
async function measureDelivery(store: LiveStore, run: Run): Promise<DeliveryResult> {
  const { sessions, rate, durationSeconds, warmupSeconds } = run.options;
  const a = await startOn(store, run);
  let b: RunningServer | undefined;
  let subscribers: Subscriber[] = [];
  try {
    b = await startOn(store, run);
    const cookies = await createSessions(a.url, sessions, HTTP_IN_FLIGHT);
    const warmCount = Math.round(rate * warmupSeconds);
    const measuredCount = Math.round(rate * durationSeconds);
    const total = warmCount + measuredCount;
    const sentAt = new Float64Array(total).fill(Number.NaN);
    const answeredAt = new Float64Array(total).fill(Number.NaN);
    const receivedAt = new Float64Array(total).fill(Number.NaN);
    const onNext: OnNext = (_index, _version, stamp, at) => {
      if (stamp === undefined || stamp.seq < 0 || stamp.seq >= total) return;
      if (Number.isNaN(receivedAt[stamp.seq] as number)) receivedAt[stamp.seq] = at;
    };
    subscribers = await openSubscribers(wsUrlOf(b), cookies, run.options.handshakes, onNext);
    const { confirmed, missedFirst } = await confirm(a, cookies, subscribers, 1_000_000);
    log(
      store,
      `${confirmed} of ${sessions} subscribers on B confirmed by a change saved on A ` +
        `(${missedFirst} missed the first change saved after they subscribed)`,
    );
    if (confirmed < sessions)
      throw new Error(`only ${confirmed} of ${sessions} subscribers on B got a change`);

    const finalVersion: number[] = new Array(sessions).fill(0);
    let errors = 0;
    let firstError: string | undefined;
    const send = (seq: number) => {
      const session = seq % sessions;
      const at = nowMs();
      sentAt[seq] = at;
      return setStamp(a.url, cookies[session] as string, { seq, sentAt: at }).then(
        (version) => {
          answeredAt[seq] = nowMs();
          finalVersion[session] = Math.max(finalVersion[session] as number, version);
        },
        (error: unknown) => {
          if (seq >= warmCount) errors++;
          firstError ??= (error as Error).message;
        },
      );
    };
    await sendAtRate(0, warmCount, rate, send);
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    await sendAtRate(warmCount, total, rate, send);
    // Every session's final version must reach its subscriber.
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    const behind = () =>
      subscribers.filter((subscriber, index) => subscriber.version < (finalVersion[index] as number)).length;
    while (behind() > 0 && Date.now() < deadline) await sleep(20);
    loop.disable();
    const lost = subscribers.filter(
      (subscriber, index) => !subscriber.live || subscriber.version < (finalVersion[index] as number),
    ).length;

    const latencies: number[] = [];
    const afterAnswer: number[] = [];
    const roundTrips: number[] = [];
    for (let seq = warmCount; seq < total; seq++) {
      const received = receivedAt[seq] as number;
      const answered = answeredAt[seq] as number;
      if (!Number.isNaN(answered)) roundTrips.push(answered - (sentAt[seq] as number));
      if (Number.isNaN(received)) continue;
      latencies.push(received - (sentAt[seq] as number));
      if (!Number.isNaN(answered)) afterAnswer.push(received - answered);
    }
    const result: DeliveryResult = {
      sessions,
      rate,
      durationSeconds,
      missedFirst,
      sent: measuredCount,
      errors,
      delivered: latencies.length,
      lost,
      latencyMs: quantiles(latencies),
      afterAnswerMs: quantiles(afterAnswer),
      roundTripMs: quantiles(roundTrips),
      loaderLoopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      problems: [...(firstError === undefined ? [] : [firstError]), ...problemsOf(subscribers)],
    };
    log(
      store,
      `delivery A → B: p50 ${ms(result.latencyMs.p50)} · p99 ${ms(result.latencyMs.p99)} · max ${ms(result.latencyMs.max)} ms; ` +
        `${result.delivered} of ${result.sent} pushed, ${lost} lost, ${errors} errors`,
    );
    return result;
  } finally {
    for (const subscriber of subscribers) subscriber.terminate();
    await b?.stop();
    await a.stop();
  }
}

/**
 * Sends changes `from` … `to` - 1 at `rate` per second on a fixed schedule (open loop: a slow answer does not
 * delay the next send); resolves once every one is answered.
 */
async function sendAtRate(
  from: number,
  to: number,
  rate: number,
  send: (seq: number) => Promise<void>,
): Promise<void> {
  const pending: Promise<void>[] = [];
  const started = performance.now();
  let seq = from;
  while (seq < to) {
    const due = Math.min(to, from + Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    while (seq < due) pending.push(send(seq++));
    await sleep(1);
  }
  await Promise.all(pending);
}

function quantiles(values: number[]): Quantiles {
  const sorted = values.sort((x, y) => x - y);
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
}

/** The first few distinct reasons subscribers stopped, with how many each. */
function problemsOf(subscribers: readonly Subscriber[]): string[] {
  const counts = new Map<string, number>();
  for (const subscriber of subscribers) {
    if (subscriber.problem !== undefined)
      counts.set(subscriber.problem, (counts.get(subscriber.problem) ?? 0) + 1);
  }
  return [...counts].slice(0, 5).map(([problem, n]) => `${n} × ${problem}`);
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function log(store: LiveStore, line: string): void {
  console.log(`${store.name}: ${line}`);
}

const ms = (value: number) => (Number.isNaN(value) ? "–" : value.toFixed(1));
const kib = (value: number) => (Number.isNaN(value) ? "–" : value.toFixed(1));
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const count = (value: number) => value.toLocaleString("en-US");

/** The table the brief asks for: what one server holds, and how fast a change crosses to another. */
function liveTable(results: readonly LiveResult[]): string {
  return markdownTable(
    [
      "store",
      "subscriptions held",
      "RSS per subscription (KiB)",
      "heap per subscription (KiB)",
      "delivery p50 (ms)",
      "p99 (ms)",
      "max (ms)",
      "events lost",
      `p99 ≤ ${TARGET_P99_MS} ms`,
    ],
    results.map(({ store, hold, delivery }) => [
      store,
      `${count(hold.held)} / ${count(hold.subscriptions)}`,
      kib(hold.rssKibPerSubscription),
      kib(hold.heapKibPerSubscription),
      delivery === undefined ? "–" : ms(delivery.latencyMs.p50),
      delivery === undefined ? "–" : ms(delivery.latencyMs.p99),
      delivery === undefined ? "–" : ms(delivery.latencyMs.max),
      delivery === undefined ? "–" : `${delivery.lost} of ${delivery.sessions}`,
      delivery === undefined
        ? "n/a (one process)"
        : delivery.latencyMs.p99 <= TARGET_P99_MS && delivery.lost === 0 && delivery.errors === 0
          ? "yes"
          : "NO",
    ]),
    1,
  );
}

/** How each figure came about. */
function detailTable(results: readonly LiveResult[]): string {
  return markdownTable(
    [
      "store",
      "sessions created",
      "subscriptions opened",
      "CPU per open, server · loader (ms)",
      "all confirmed",
      "missed their first change (held · on B)",
      "RSS before → after (MiB)",
      "heap before → after (MiB)",
      "external per sub (KiB)",
      "mutations sent · errors",
      "pushed (rest folded)",
      "after the answer p50 · p99 (ms)",
      "mutation round trip p50 · p99 (ms)",
      "loader loop delay p99 · max (ms)",
    ],
    results.map(({ store, hold, delivery }) => [
      store,
      `${hold.createSeconds.toFixed(1)} s`,
      `${hold.openSeconds.toFixed(1)} s (${count(Math.round(hold.subscriptions / hold.openSeconds))}/s)`,
      `${hold.openServerCpuMs.toFixed(2)} · ${hold.openLoaderCpuMs.toFixed(2)}`,
      `${hold.confirmSeconds.toFixed(1)} s`,
      `${count(hold.missedFirst)}${delivery === undefined ? "" : ` · ${delivery.missedFirst}`}`,
      `${mib(hold.before.rssBytes)} → ${mib(hold.after.rssBytes)}`,
      `${mib(hold.before.heapUsedBytes)} → ${mib(hold.after.heapUsedBytes)}`,
      kib(hold.externalKibPerSubscription),
      delivery === undefined ? "–" : `${count(delivery.sent)} · ${delivery.errors}`,
      delivery === undefined ? "–" : count(delivery.delivered),
      delivery === undefined ? "–" : `${ms(delivery.afterAnswerMs.p50)} · ${ms(delivery.afterAnswerMs.p99)}`,
      delivery === undefined ? "–" : `${ms(delivery.roundTripMs.p50)} · ${ms(delivery.roundTripMs.p99)}`,
      delivery === undefined
        ? "–"
        : `${ms(delivery.loaderLoopDelayMs.p99)} · ${ms(delivery.loaderLoopDelayMs.max)}`,
    ]),
    1,
  );
}

function markdown(
  meta: RunMeta,
  options: Options,
  results: readonly LiveResult[],
  tookSeconds: number,
): string {
  const problems = results.flatMap(({ store, hold, delivery }) => [
    ...hold.problems.map((problem) => `- ${store}, holding: ${problem}`),
    ...(delivery?.problems ?? []).map((problem) => `- ${store}, delivery: ${problem}`),
  ]);
  return [
    `# sessionql live sessions: ${meta.date}`,
    "",
    ...machineLines(meta),
    `- command: \`${["npm run bench:live", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ")}\`; took ${tookSeconds.toFixed(0)} s`,
    "",
    liveTable(results),
    "",
    detailTable(results),
    "",
    `- Holding: one server (dist/main.js, LOG_LEVEL=warn, SESSION_CREATE_RATE=0) gets ${count(options.subscriptions)} sessions, each made by a \`setSession\` without a cookie, then one graphql-ws connection (\`ws\`, graphql-transport-ws) with one \`sessionChanged\` subscription per session. A subscription counts as held when a \`setSession\` on its session was pushed to it and it was still open after the last memory reading.`,
    "- Memory per subscription: (after − before) ÷ the subscriptions opened, read in the server process after two forced garbage collections (the server runs with --expose-gc and a preload that calls gc() on SIGUSR2): RSS from /proc/<pid>/status, the used heap and external memory from its /metrics. Before: once the sessions are stored and 100 warm-up subscriptions were opened, confirmed and closed; after: once every subscription was confirmed. On memory the sessions themselves are in the server already before the first reading.",
    `- Delivery: servers A and B on one store; ${count(options.sessions)} sessions, each followed by one subscriber on B; \`setSession\` mutations sent to A at ${options.rate}/s on a fixed schedule (open loop), round-robin over the sessions, for ${options.warmupSeconds} s of warm-up and then ${options.durationSeconds} s measured. Latency is from just before the mutation is sent (the save included) to its receipt by the subscriber on B, both stamped by this process; a push carries the session as re-read, so a change overtaken by the next one of its session is folded into it (“pushed” counts the changes received themselves). Events lost: sessions whose subscriber never saw the version their last mutation saved, within ${DRAIN_TIMEOUT_MS / 1000} s of the last answer.`,
    "- Missed their first change: subscriptions not pushed the first change saved after their `subscribe` message was written, only a second one. graphql-ws acknowledges no subscription, and `sessionChanged` pushes nothing at the start (the server watches the session, then reads it, and only pushes later versions), so a change saved between the client's `subscribe` and the server's watch being in place is never pushed: the subscriber learns of it with the next change. Confirming therefore sends a session a new change (up to " +
      CONFIRM_ROUNDS +
      " in all) until its subscriber was pushed one.",
    "- Redis is a private redis-server on a free loopback port (so the run's sessions do not stay in a shared one); PostgreSQL a throwaway database on the loopback server, dropped afterwards. Memory cannot be shared by two servers, so it has no delivery figures.",
    ...(problems.length > 0 ? ["", "Problems:", "", ...problems] : []),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = readOptions(process.argv.slice(2));
  const start = beginRun();
  const run: Run = { options, pinning: start.pinning, secret: randomBytes(24).toString("base64url") };
  const results: LiveResult[] = [];
  for (const name of options.stores) {
    const store = await openLiveStore(name);
    try {
      const hold = await holdSubscriptions(store, run);
      const delivery = SHARED_STORES.has(name) ? await measureDelivery(store, run) : undefined;
      results.push({ store: name, hold, delivery });
    } finally {
      await store.close();
    }
  }
  const tookSeconds = seconds(started);
  const meta = runMeta(start, {
    connections: options.subscriptions,
    durationSeconds: options.durationSeconds,
    warmupSeconds: options.warmupSeconds,
    rounds: 1,
    poolSize: options.sessions,
  });
  console.log(`\n${liveTable(results)}\n\n${detailTable(results)}\n`);
  const report = markdown(meta, options, results, tookSeconds);
  for (const path of writeReportFiles(
    options.outDir,
    "live-",
    meta.date,
    { meta, options, results },
    report,
  )) {
    console.log(`wrote ${path}`);
  }
  console.log(`bench:live took ${tookSeconds.toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(`bench:live failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
