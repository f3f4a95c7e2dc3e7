/**
 * The users' part of the scale bench: one user with 1,000 sessions, one with 10 and a few hundred with 1–5, spread
 * at random through the N sessions of the big store; then, through `createSessions()` on the store as an
 * application would call it, the user's sessions listed (`userSessions`) and all revoked (`revokeUserSessions`),
 * checked afterwards: none of them loads or is listed, and every other session still is.
 */
import "reflect-metadata";
import { createSessions, type Sessions } from "../src/library";
import { machineBusySeconds, ownCpuSeconds } from "./cpu";
import { companionCpu, companionCpuSince } from "./load";
import type { Filled, ScaleStore } from "./scale-stores";
import { median, percentile } from "./stats";

/** The user whose sessions are listed and revoked, and how many it has. */
export const MANY_USER = "bench-user-many";
export const MANY_SESSIONS = 1000;
/** A user with a handful of sessions, listed beside them. */
export const TEN_USER = "bench-user-ten";
export const TEN_SESSIONS = 10;
/** Other users, with 1 … 5 sessions each (3 on average), whose sessions the revoke must leave alone. */
const OTHER_USERS = 200;
/** Listings timed per user (after one untimed first listing, reported on its own). */
export const LISTINGS = 20;
/** Parallel listings of a user with no sessions before anything is timed, so the store's pool is connected. */
const WARM_LISTINGS = 10;
/** Loads at once while checking which sessions are left. */
const CHECK_BATCH = 100;

/** Which sessions of the big fill are logged in, as whom; and how many each user got. */
export interface UsersPlan {
  owners: Map<number, string>;
  sessionsOf: Map<string, number>;
}

/** Times of one user's listings, in ms. */
export interface ListingTimes {
  sessions: number;
  firstMs: number;
  p50Ms: number;
  p99Ms: number;
  runs: number;
}

/** Everything the users' part measured on one store. */
export interface UsersResult {
  /** The user with many sessions, and the other users' sessions beside them. */
  manySessions: number;
  otherUsers: number;
  otherSessions: number;
  listMany: ListingTimes;
  listTen: ListingTimes;
  revoke: {
    ms: number;
    /** What revokeUserSessions resolved to (undefined when it failed). */
    ended: number | undefined;
    error: string | undefined;
  };
  afterRevoke: {
    /** The first listing after the revoke (on Redis it reads every index entry the revoke left) and the next. */
    firstListingMs: number;
    secondListingMs: number;
    listed: number;
    /** How many of the revoked sessions still load. */
    stillLoading: number;
    /** The user's index entries right after the revoke, and after the two listings. */
    indexAfterRevoke: number;
    indexAfterListings: number;
  };
  /** Sessions of other users, and anonymous ones, that still load and (for users) are listed after the revoke. */
  othersIntact: number;
  othersChecked: number;
  /** CPU that processes the bench did not start took during the part, in cores. */
  others: number;
  /** Every wrong answer, in words. */
  problems: string[];
}

/** How many sessions the plan needs beyond the anonymous ones. */
export function usersPlanSize(): number {
  let others = 0;
  for (let user = 0; user < OTHER_USERS; user++) others += otherUserSessions(user);
  return MANY_SESSIONS + TEN_SESSIONS + others;
}

function otherUserSessions(user: number): number {
  return 1 + (user % 5);
}

/** Spreads the users' sessions at random over session numbers 0 … total - 1, avoiding those in `taken`. */
export function planUsers(total: number, taken: ReadonlySet<number>): UsersPlan {
  const counts = new Map<string, number>([
    [MANY_USER, MANY_SESSIONS],
    [TEN_USER, TEN_SESSIONS],
  ]);
  for (let user = 0; user < OTHER_USERS; user++) counts.set(`bench-user-${user}`, otherUserSessions(user));
  const needed = usersPlanSize();
  if (needed + taken.size > total) {
    throw new Error(
      `the users' part needs ${needed + taken.size} sessions at least, the store gets ${total}`,
    );
  }
  const owners = new Map<number, string>();
  for (const [user, count] of counts) {
    for (let placed = 0; placed < count; ) {
      const index = Math.floor(Math.random() * total);
      if (taken.has(index) || owners.has(index)) continue;
      owners.set(index, user);
      placed++;
    }
  }
  return { owners, sessionsOf: counts };
}

/**
 * Lists and revokes on `store`, which holds the sessions `filled` names: the users' (`filled.owned`) and
 * `filled.kept`, anonymous ones that must outlive the revoke. No server runs meanwhile.
 */
export async function measureUsers(
  store: ScaleStore,
  plan: UsersPlan,
  filled: Filled,
  secret: string,
): Promise<UsersResult> {
  const problems: string[] = [];
  const keysOf = (user: string) => filled.owned.get(user) ?? [];
  for (const [user, count] of plan.sessionsOf) {
    if (keysOf(user).length !== count)
      throw new Error(`${user}: ${keysOf(user).length} sessions stored, not ${count}`);
  }
  const sessions = await createSessions({ store: store.url, secrets: [secret], sweepIntervalSeconds: 0 });
  try {
    const cpu = cpuMeter(store);
    await Promise.all(
      Array.from({ length: WARM_LISTINGS }, () => sessions.userSessions("bench-user-nobody")),
    );

    const manyIds = new Set(keysOf(MANY_USER).map((key) => sessions.service.idOf(key)));
    const listTen = await timeListings(sessions, TEN_USER, TEN_SESSIONS, problems);
    const listMany = await timeListings(sessions, MANY_USER, MANY_SESSIONS, problems, manyIds);
    console.log(
      `${store.name}: listing ${MANY_SESSIONS} sessions: first ${ms(listMany.firstMs)}, p50 ${ms(listMany.p50Ms)}, ` +
        `p99 ${ms(listMany.p99Ms)}; ${TEN_SESSIONS} sessions: first ${ms(listTen.firstMs)}, ` +
        `p50 ${ms(listTen.p50Ms)}, p99 ${ms(listTen.p99Ms)}`,
    );

    const revoke = await timeRevoke(sessions, problems);
    const indexAfterRevoke = await store.ownerIndexSize(MANY_USER);
    const [first, firstListingMs] = await timed(() => sessions.userSessions(MANY_USER));
    const [second, secondListingMs] = await timed(() => sessions.userSessions(MANY_USER));
    const indexAfterListings = await store.ownerIndexSize(MANY_USER);
    if (first.length > 0 || second.length > 0) {
      problems.push(`after the revoke, listings still showed ${first.length} and ${second.length} sessions`);
    }
    const stillLoading = (await loading(sessions, keysOf(MANY_USER))).filter(Boolean).length;
    if (stillLoading > 0)
      problems.push(`${stillLoading} of the ${MANY_SESSIONS} revoked sessions still load`);
    console.log(
      `${store.name}: revoked ${revoke.ended ?? "?"} in ${ms(revoke.ms)}${revoke.error ? ` (${revoke.error})` : ""}; ` +
        `then listed ${first.length} in ${ms(firstListingMs)} and ${ms(secondListingMs)}; ` +
        `${stillLoading} still load; index entries ${indexAfterRevoke} → ${indexAfterListings}`,
    );

    const { intact, checked } = await checkOthers(sessions, plan, filled, problems);
    const others = cpu.others();
    console.log(
      `${store.name}: ${intact} of ${checked} other sessions intact; others' CPU ${(others * 100).toFixed(0)}%`,
    );
    let otherSessions = 0;
    for (const [user, count] of plan.sessionsOf) if (user !== MANY_USER) otherSessions += count;
    return {
      manySessions: MANY_SESSIONS,
      otherUsers: plan.sessionsOf.size - 1,
      otherSessions,
      listMany,
      listTen,
      revoke,
      afterRevoke: {
        firstListingMs,
        secondListingMs,
        listed: first.length,
        stillLoading,
        indexAfterRevoke,
        indexAfterListings,
      },
      othersIntact: intact,
      othersChecked: checked,
      others,
      problems,
    };
  } finally {
    await sessions.close();
  }
}

/** A first listing (reported on its own) and LISTINGS more, each checked to list exactly the user's sessions. */
async function timeListings(
  sessions: Sessions,
  user: string,
  expected: number,
  problems: string[],
  ids?: ReadonlySet<string>,
): Promise<ListingTimes> {
  const times: number[] = [];
  let wrong = 0;
  for (let run = 0; run <= LISTINGS; run++) {
    const [listed, took] = await timed(() => sessions.userSessions(user));
    times.push(took);
    const right = listed.length === expected && (ids === undefined || listed.every(({ id }) => ids.has(id)));
    if (!right) wrong++;
  }
  if (wrong > 0)
    problems.push(`${user}: ${wrong} of ${LISTINGS + 1} listings did not list its ${expected} sessions`);
  const [firstMs = Number.NaN, ...rest] = times;
  rest.sort((a, b) => a - b);
  return {
    sessions: expected,
    firstMs,
    p50Ms: median(rest),
    p99Ms: percentile(rest, 0.99),
    runs: rest.length,
  };
}

async function timeRevoke(sessions: Sessions, problems: string[]): Promise<UsersResult["revoke"]> {
  const started = performance.now();
  try {
    const ended = await sessions.revokeUserSessions(MANY_USER);
    const took = performance.now() - started;
    if (ended !== MANY_SESSIONS) problems.push(`the revoke ended ${ended} sessions, not ${MANY_SESSIONS}`);
    return { ms: took, ended, error: undefined };
  } catch (error) {
    const took = performance.now() - started;
    const message = `${(error as Error).name}: ${(error as Error).message}`;
    problems.push(`the revoke failed after ${ms(took)}: ${message}`);
    return { ms: took, ended: undefined, error: message };
  }
}

/** Every other user's sessions, listed and loaded, and the anonymous sessions kept, loaded. */
async function checkOthers(
  sessions: Sessions,
  plan: UsersPlan,
  filled: Filled,
  problems: string[],
): Promise<{ intact: number; checked: number }> {
  let intact = 0;
  let checked = 0;
  for (const [user, count] of plan.sessionsOf) {
    if (user === MANY_USER) continue;
    const keys = filled.owned.get(user) ?? [];
    const ids = new Set((await sessions.userSessions(user)).map(({ id }) => id));
    const loads = await loading(sessions, keys);
    const good = keys.filter((key, i) => loads[i] === true && ids.has(sessions.service.idOf(key))).length;
    if (good !== count || ids.size !== count) {
      problems.push(`${user}: ${good} of its ${count} sessions intact after the revoke, ${ids.size} listed`);
    }
    intact += good;
    checked += count;
  }
  const anonymous = (await loading(sessions, filled.kept)).filter(Boolean).length;
  if (anonymous !== filled.kept.length) {
    problems.push(
      `${filled.kept.length - anonymous} of ${filled.kept.length} anonymous sessions gone after the revoke`,
    );
  }
  return { intact: intact + anonymous, checked: checked + filled.kept.length };
}

/** Whether each session still loads, through the store the service uses. */
async function loading(sessions: Sessions, keys: readonly string[]): Promise<boolean[]> {
  const found: boolean[] = [];
  for (let start = 0; start < keys.length; start += CHECK_BATCH) {
    const batch = keys.slice(start, start + CHECK_BATCH);
    found.push(
      ...(await Promise.all(batch.map(async (key) => (await sessions.store.load(key)) !== undefined))),
    );
  }
  return found;
}

async function timed<T>(task: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await task();
  return [result, performance.now() - started];
}

/** The CPU others took from now on: the machine's busy time less this process's and the store's. */
function cpuMeter(store: ScaleStore): { others(): number } {
  const started = performance.now();
  const machine = machineBusySeconds();
  const own = ownCpuSeconds();
  const companions = companionCpu(() => store.pids());
  return {
    others() {
      const seconds = (performance.now() - started) / 1000;
      const busy = machineBusySeconds() - machine - (ownCpuSeconds() - own);
      return Math.max(0, (busy - companionCpuSince(() => store.pids(), companions)) / seconds);
    },
  };
}

function ms(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
}
