/** What a model run draws: keys, values, operations and the command sequences built from them. */
import fc from "fast-check";
import {
  AdvanceCommand,
  AdvanceToEntryExpiryCommand,
  AdvanceToExpiryCommand,
  DropCookieCommand,
  ForgeCookieCommand,
  type Forgery,
  type Landing,
  ParallelCommand,
  PresentCookieCommand,
  RequestCommand,
} from "./commands";
import type { Probe } from "./documents";
import type { ModelConfig, SessionModel } from "./model";
import {
  type InvalidKind,
  type Json,
  keyFits,
  type Operation,
  type VersionGuard,
  valueFits,
} from "./operations";
import type { Real } from "./real";
import {
  type Agent,
  type Endpoint,
  LoginCommand,
  LogoutCommand,
  MySessionsCommand,
  RevokeOtherSessionsCommand,
  RevokeSessionCommand,
  type RevokeTarget,
} from "./user-commands";

/** Session keys: a small alphabet so that operations collide, with a few unusual (but ordinary) keys. */
export const keyArbitrary: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom("a", "b", "c"), weight: 8 },
  { arbitrary: fc.constantFrom("_d", "ü", "__proto__"), weight: 2 },
);

/**
 * Keys inside JSON variables (updateSession's values, objects in values). Without `__proto__`: the server's body
 * parser refuses any JSON body holding that key with a bare HTTP 400 (see divergences.test.ts), so it is only
 * exercised where it travels as a String argument.
 */
export const jsonKeyArbitrary: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom("a", "b", "c"), weight: 8 },
  { arbitrary: fc.constantFrom("_d", "ü", "constructor", "__proto__"), weight: 2 },
);

const textArbitrary = fc.string({ unit: fc.constantFrom("x", "y", "é", "😀", " ", '"', "\\"), maxLength: 4 });

const scalarArbitrary: fc.Arbitrary<Json> = fc.oneof(
  { arbitrary: fc.integer({ min: -3, max: 1000 }), weight: 4 },
  { arbitrary: textArbitrary, weight: 4 },
  { arbitrary: fc.boolean(), weight: 2 },
  { arbitrary: fc.constant(null), weight: 2 },
  { arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }), weight: 1 },
);

/** A JSON object built with defineProperty semantics, so `__proto__` stays an own key. */
function objectOf(values: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return fc
    .uniqueArray(fc.tuple(jsonKeyArbitrary, values), { maxLength: 3, selector: ([key]) => key })
    .map((entries) => Object.fromEntries(entries) as Json);
}

const shallowArbitrary: fc.Arbitrary<Json> = fc.oneof(
  fc.array(scalarArbitrary, { maxLength: 3 }),
  objectOf(scalarArbitrary),
);

/** Small JSON values, nested at most three levels. */
export const valueArbitrary: fc.Arbitrary<Json> = fc.oneof(
  { arbitrary: scalarArbitrary, weight: 10 },
  { arbitrary: shallowArbitrary, weight: 4 },
  {
    arbitrary: fc.oneof(fc.array(shallowArbitrary, { maxLength: 2 }), objectOf(shallowArbitrary)),
    weight: 2,
  },
  {
    arbitrary: fc.array(fc.array(shallowArbitrary, { maxLength: 2 }), { minLength: 1, maxLength: 2 }),
    weight: 1,
  },
);

/** setSession takes `JSON!`: anything but null at the top. */
const storableArbitrary = valueArbitrary.filter((value) => value !== null);

/** Mostly nothing; else `arbitrary`. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, weight: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 10 - weight }, { arbitrary, weight });
}

/** Lengths of time around the ends a run reaches: seconds, the cookie age, and SESSION_ABSOLUTE_AGE. */
function secondsAround(config: ModelConfig): number[] {
  const around = (seconds: number) => [Math.max(1, seconds - 1), seconds, seconds + 1];
  const absolute = config.absoluteAgeSeconds;
  return [1, 2, 5, 60, ...around(config.cookieAgeSeconds), ...(absolute ? around(absolute) : []), 3600];
}

/**
 * An `ifVersion` on about a third of the mutations: mostly the version the mutation will find (it applies),
 * else a wrong one (VERSION_CONFLICT, nothing changes).
 */
const guardArbitrary: fc.Arbitrary<VersionGuard | undefined> = sometimes(
  fc.oneof(
    { arbitrary: fc.constant<VersionGuard>("current"), weight: 5 },
    { arbitrary: fc.constantFrom<VersionGuard>("previous", "next", "zero"), weight: 4 },
  ),
  3,
);

/** A mutation with the guard it is sent with (no property at all when it has none). */
function guarded<T extends Operation>(operation: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc
    .tuple(operation, guardArbitrary)
    .map(([mutation, guard]) => (guard === undefined ? mutation : { ...mutation, ifVersion: guard }));
}

/** Leaves an optional property out rather than sending it as undefined. */
function withOptional<T extends object, K extends string, V>(value: T, key: K, option: V | undefined) {
  return (option === undefined ? value : { ...value, [key]: option }) as T & { [P in K]?: V };
}

const INVALID_KINDS: readonly InvalidKind[] = [
  "setEmptyKey",
  "setLongKey",
  "popEmptyKey",
  "updateWithEmptyKey",
  "negativeExpiry",
  "getEmptyKey",
  "setDefaultEmptyKey",
  "keyExpiresAtEmptyKey",
  "expiresInZero",
  "expiresInNegative",
  "setDefaultExpiresInZero",
  "expiryAtNow",
  "expiryAtPast",
  "expiryAtAndSeconds",
];

function operationArbitraries(config: ModelConfig) {
  const age = config.cookieAgeSeconds;
  const { limits } = config;
  // Defaults and probe keys stay within the limits: the contract does not say whether defaults are checked, and a
  // refused probe would refuse every request.
  const defaultValue = fc.option(
    valueArbitrary.filter((value) => valueFits(limits, value)),
    { nil: undefined },
  );
  const probe: fc.Arbitrary<Probe> = fc.record({
    key: keyArbitrary.filter((key) => keyFits(limits, key)),
    default: defaultValue,
  });
  const expiresIn = sometimes(fc.constantFrom(...secondsAround(config)), 4);
  const entry = <K extends "set" | "setDefault">(kind: K, value: fc.Arbitrary<Json>) =>
    fc
      .tuple(keyArbitrary, value, expiresIn)
      .map(([key, stored, seconds]) => withOptional({ kind, key, value: stored }, "expiresIn", seconds));
  const set = entry("set", storableArbitrary);
  // setSessionDefault's value within the limits of one value: for a present key the server does not check it.
  const setDefault = entry(
    "setDefault",
    storableArbitrary.filter((value) => valueFits(limits, value)),
  );
  const pop = fc.record({ kind: fc.constant("pop" as const), key: keyArbitrary, default: defaultValue });
  const update = (minLength: number) =>
    fc.record({
      kind: fc.constant("update" as const),
      values: fc.uniqueArray(fc.tuple(jsonKeyArbitrary, valueArbitrary), {
        minLength,
        maxLength: 3,
        selector: ([key]) => key,
      }),
    });
  const setExpiry = fc
    .record({
      kind: fc.constant("setExpiry" as const),
      seconds: fc.constantFrom(null, 0, 1, 2, 60, Math.max(1, age - 1), age, age + 1, 3600, 2_147_483_647),
      omitArgument: fc.boolean(),
    })
    .map((operation) => (operation.seconds === null ? operation : { ...operation, omitArgument: false }));
  const setExpiryAt = fc.record({
    kind: fc.constant("setExpiryAt" as const),
    inSeconds: fc.constantFrom(...secondsAround(config)),
  });
  const simple = <K extends "read" | "clear" | "flush" | "cycle">(kind: K) => fc.constant({ kind });
  const invalid = fc.record({
    kind: fc.constant("invalid" as const),
    what: fc.constantFrom(...INVALID_KINDS),
  });
  const any: fc.Arbitrary<Operation> = fc.oneof(
    { arbitrary: guarded(set), weight: 6 },
    { arbitrary: simple("read"), weight: 3 },
    { arbitrary: guarded(setDefault), weight: 3 },
    { arbitrary: guarded(pop), weight: 4 },
    { arbitrary: guarded(update(0)), weight: 2 },
    { arbitrary: guarded(simple("clear")), weight: 1 },
    { arbitrary: guarded(simple("flush")), weight: 1 },
    { arbitrary: guarded(simple("cycle")), weight: 1 },
    { arbitrary: guarded(setExpiry), weight: 2 },
    { arbitrary: guarded(setExpiryAt), weight: 1 },
    { arbitrary: invalid, weight: 2 },
  );
  const parallel: fc.Arbitrary<Operation> = fc.oneof(
    { arbitrary: simple("read"), weight: 2 },
    { arbitrary: set, weight: 4 },
    { arbitrary: setDefault, weight: 2 },
    { arbitrary: pop, weight: 3 },
    { arbitrary: update(1), weight: 2 },
    { arbitrary: setExpiry, weight: 1 },
    { arbitrary: setExpiryAt, weight: 1 },
  );
  // Fields of one mutation request: any mutation but a refused one (whose error would stop the rest).
  const mutation: fc.Arbitrary<Operation> = any.filter(
    (operation) => operation.kind !== "read" && operation.kind !== "invalid",
  );
  return { any, parallel, mutation, probe };
}

/**
 * The model's users: two ordinary ones (one often, so that it has several sessions), and a rare one whose id holds SQL LIKE wildcards (it must never list or
 * revoke the others' sessions).
 */
const userArbitrary: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constant("u1"), weight: 7 },
  { arbitrary: fc.constant("u2"), weight: 3 },
  { arbitrary: fc.constant("u_%"), weight: 1 },
);

/** A login's User-Agent: short ones, and one over the 256 characters kept. */
const agentArbitrary: fc.Arbitrary<Agent> = fc.record({
  via: fc.constantFrom<Agent["via"]>("argument", "header"),
  value: fc.constantFrom("phone", "laptop", `tablet ${"x".repeat(300)}`),
});

const endpointArbitrary = fc.constantFrom<Endpoint>("server", "app");

/** Mostly another live session of the caller's user, or its own; else any live or shown one, or none. */
const revokeTargetArbitrary: fc.Arbitrary<RevokeTarget> = fc.oneof(
  { arbitrary: fc.nat(50).map((pick) => ({ kind: "mine" as const, pick })), weight: 4 },
  { arbitrary: fc.constant<RevokeTarget>({ kind: "own" }), weight: 2 },
  { arbitrary: fc.nat(50).map((pick) => ({ kind: "live" as const, pick })), weight: 2 },
  { arbitrary: fc.nat(50).map((pick) => ({ kind: "shown" as const, pick })), weight: 1 },
  { arbitrary: fc.constantFrom<RevokeTarget>({ kind: "unknown" }, { kind: "overlong" }), weight: 1 },
);

/** The users' commands: log in and out, list the user's sessions, end one or all the others. */
function userCommands(
  visitor: fc.Arbitrary<number>,
  probe: fc.Arbitrary<Probe>,
): Array<fc.WeightedArbitrary<fc.AsyncCommand<SessionModel, Real>>> {
  // Listing and revoking mostly wait for the visitor to be logged in: runs log visitors out often (clear, flush,
  // expiry, cleared cookies), and a caller logged in as nobody is only ever told nothing.
  const mostly = fc.oneof(
    { arbitrary: fc.constant(true), weight: 4 },
    { arbitrary: fc.constant(false), weight: 1 },
  );
  return [
    {
      arbitrary: fc
        .tuple(visitor, userArbitrary, agentArbitrary, probe)
        .map(([who, user, agent, shown]) => new LoginCommand(who, user, agent, shown)),
      weight: 5,
    },
    { arbitrary: visitor.map((who) => new LogoutCommand(who)), weight: 1 },
    {
      arbitrary: fc
        .tuple(visitor, endpointArbitrary, mostly)
        .map(([who, via, only]) => new MySessionsCommand(who, via, only)),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(visitor, revokeTargetArbitrary, endpointArbitrary, mostly)
        .map(([who, target, via, only]) => new RevokeSessionCommand(who, target, via, only)),
      weight: 3,
    },
    {
      arbitrary: fc
        .tuple(visitor, endpointArbitrary, mostly)
        .map(([who, via, only]) => new RevokeOtherSessionsCommand(who, via, only)),
      weight: 2,
    },
  ];
}

/** Every command a run draws from, weighted towards plain operations. */
export function sessionCommands(
  config: ModelConfig,
  visitors: number,
  maxCommands: number,
  /** The `replayPath` of a counterexample, with the seed and path of its failure: replays exactly those commands. */
  replayPath?: string,
): fc.Arbitrary<Iterable<fc.AsyncCommand<SessionModel, Real>>> {
  const age = config.cookieAgeSeconds;
  const visitor = fc.integer({ min: 0, max: visitors - 1 });
  const landing = fc.constantFrom<Landing>(-1, 0, 1);
  const operations = operationArbitraries(config);
  const command: fc.Arbitrary<fc.AsyncCommand<SessionModel, Real>> = fc.oneof(
    {
      arbitrary: fc
        .tuple(visitor, operations.any, operations.probe)
        .map(([who, operation, probe]) => new RequestCommand(who, [operation], probe)),
      weight: 20,
    },
    {
      arbitrary: fc
        .tuple(visitor, fc.array(operations.mutation, { minLength: 2, maxLength: 3 }), operations.probe)
        .map(([who, fields, probe]) => new RequestCommand(who, fields, probe)),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(visitor, fc.array(operations.parallel, { minLength: 2, maxLength: 4 }), operations.probe)
        .map(([who, parallel, probe]) => new ParallelCommand(who, parallel, probe)),
      weight: 3,
    },
    {
      arbitrary: fc
        .oneof(
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: age + 10 }),
          fc.constantFrom(Math.max(1, age - 1), age, age + 1),
        )
        .map((seconds) => new AdvanceCommand(seconds)),
      weight: 3,
    },
    {
      arbitrary: fc.tuple(visitor, landing).map(([who, delta]) => new AdvanceToExpiryCommand(who, delta)),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(visitor, fc.nat(10), landing)
        .map(([who, pick, delta]) => new AdvanceToEntryExpiryCommand(who, pick, delta)),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(visitor, fc.nat(50)).map(([who, pick]) => new PresentCookieCommand(who, pick)),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(visitor, fc.constantFrom<Forgery>("tamperedSignature", "unsigned", "garbage"), fc.nat(50))
        .map(([who, forgery, pick]) => new ForgeCookieCommand(who, forgery, pick)),
      weight: 1,
    },
    { arbitrary: visitor.map((who) => new DropCookieCommand(who)), weight: 1 },
    ...userCommands(visitor, operations.probe),
  );
  return fc.commands([command], {
    maxCommands,
    size: "max",
    ...(replayPath === undefined ? {} : { replayPath }),
  });
}
