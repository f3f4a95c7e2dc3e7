/** The commands a model run executes against the real server and the model side by side. */
import type fc from "fast-check";
import {
  canonical,
  compareCookie,
  compareId,
  compareJar,
  Divergences,
  describeModel,
  describeOperation,
  describeProbe,
  verifyAnswer,
} from "./compare";
import { answerAt, type LookupFields, type Probe, type SessionFields, sessionOf } from "./documents";
import { type CookieEffect, EXPIRY_KINDS, type Outcome, parallelizable, type SessionModel } from "./model";
import { type Json, keysOf, type Operation } from "./operations";
import { clientOf, type Real, send } from "./real";

type SessionCommand = fc.AsyncCommand<SessionModel, Real>;

/**
 * One request of one visitor, compared field by field and cookie by cookie with the model: a single operation,
 * or several mutation fields that GraphQL runs one after the other on the same session.
 */
export class RequestCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly operations: readonly Operation[],
    readonly probe: Probe,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    // GraphQL stops a mutation's serial fields at a refused one, and the contract does not say whether bad input
    // or a version conflict wins: the model only sends requests whose answer it decides.
    return model.decides(this.visitor, this.operations);
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const nowMs = model.nowMs;
    // The model goes first: it resolves each `ifVersion` guard against the version the field will find.
    const outcome = model.applyRequest(this.visitor, this.operations);
    const ifVersions = outcome.steps.map((step) => step.ifVersion);
    const result = await send(real, this.visitor, this.operations, this.probe, { nowMs, ifVersions });
    const divergences = new Divergences(`${this}${describeVersions(ifVersions)}`);
    verifyAnswer(model, real, this.visitor, this.operations, this.probe, result, outcome, divergences);
    compareJar(model, real, this.visitor, divergences);
    divergences.throwIfAny(describeModel(model, this.visitor));
  }

  toString(): string {
    const [only] = this.operations;
    const what =
      this.operations.length === 1 && only !== undefined
        ? describeOperation(only)
        : `mutation{${this.operations.map(describeOperation).join("; ")}}`;
    return `v${this.visitor}.${what} [${describeProbe(this.probe)}]`;
  }
}

function describeVersions(ifVersions: ReadonlyArray<number | undefined>): string {
  return ifVersions.some((version) => version !== undefined)
    ? ` sent with ifVersion ${ifVersions.map((version) => version ?? "-").join(", ")}`
    : "";
}

/**
 * 2–4 operations of one visitor sent at once on distinct keys of its live session. Each saving one must rise the
 * version by exactly one (so together they show base+1 … base+n), and a read afterwards must match the model.
 */
export class ParallelCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly operations: readonly Operation[],
    readonly probe: Probe,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    const live = model.liveSession(this.visitor);
    return live !== undefined && live.data.size > 0;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const live = model.liveSession(this.visitor);
    if (live === undefined) throw new Error("ParallelCommand ran without a live session");
    const operations = parallelizable(this.operations, live.data, model.config.limits);
    const base = live.version;
    const nowMs = model.nowMs;
    const divergences = new Divergences(`${this} as [${operations.map(describeOperation).join(", ")}]`);
    const results = await Promise.all(
      operations.map((operation) => send(real, this.visitor, [operation], this.probe, { nowMs })),
    );
    const initial = live.data;
    const outcomes = model.applyParallel(this.visitor, operations);
    const final = model.liveSession(this.visitor)?.data ?? new Map<string, Json>();
    const saving = outcomes.filter((outcome) => outcome.savedChange).length;
    const changesExpiry = operations.some((operation) => EXPIRY_KINDS.has(operation.kind));
    const savedVersions: number[] = [];
    results.forEach((result, index) => {
      const operation = operations[index] as Operation;
      const outcome = outcomes[index] as Outcome;
      const what = describeOperation(operation);
      if (result.errors !== undefined) {
        divergences.add(`${what}: unexpected errors ${JSON.stringify(result.errors)}`);
        return;
      }
      // A save-every-request refresh of a non-saving operation races the others' saves: it may lose.
      const allowed: CookieEffect[] = outcome.savedChange
        ? ["set"]
        : model.config.saveEveryRequest
          ? ["set", "untouched"]
          : ["untouched"];
      // With an expiry change among them, which policy a cookie was cut under depends on the interleaving.
      const cookieOutcome = changesExpiry ? { ...outcome, cookieMaxAge: undefined } : outcome;
      compareCookie(real, result.res, cookieOutcome, live.ref, model.nowMs, divergences, allowed);
      const answer = answerAt(result, 0);
      const session = sessionOf(operation, answer);
      if (session === undefined || session === null) {
        divergences.add(`${what}: the answer has no session`);
        return;
      }
      compareId(real, live.ref, session.id, divergences);
      if (outcome.savedChange) savedVersions.push(session.version);
      checkSnapshot(session, { initial, final, operations, outcomes, base }, divergences.scoped(`${what}: `));
      checkOwnEffect(operation, outcome, answer, session, divergences.scoped(`${what}: `));
    });
    divergences.expect(
      "versions of the saving operations",
      savedVersions.sort((a, b) => a - b),
      Array.from({ length: saving }, (_, index) => base + index + 1),
    );
    // Then one read, compared with everything the model knows.
    const read: Operation = { kind: "read" };
    const result = await send(real, this.visitor, [read], this.probe, { nowMs: model.nowMs });
    const outcome = model.applyRequest(this.visitor, [read]);
    verifyAnswer(model, real, this.visitor, [read], this.probe, result, outcome, divergences);
    compareJar(model, real, this.visitor, divergences);
    divergences.throwIfAny(describeModel(model, this.visitor));
  }

  toString(): string {
    return `v${this.visitor}.parallel[${this.operations.map(describeOperation).join(", ")}] [${describeProbe(this.probe)}]`;
  }
}

/** What an operation of a parallel step must show of itself, whatever the others did. */
function checkOwnEffect(
  operation: Operation,
  outcome: Outcome,
  answer: unknown,
  session: SessionFields,
  divergences: Divergences,
): void {
  switch (operation.kind) {
    case "set":
      divergences.expect("its own entry", session.data[operation.key], operation.value);
      break;
    case "update":
      for (const [key, value] of operation.values)
        divergences.expect(`entry ${key}`, session.data[key], value);
      break;
    case "setDefault":
    case "pop": {
      const lookup = answer as LookupFields;
      divergences.expect(
        "found/value",
        [lookup.found, lookup.value],
        [outcome.lookup?.found, outcome.lookup?.value],
      );
      if (operation.kind === "pop")
        divergences.expect("has its key afterwards", Object.hasOwn(session.data, operation.key), false);
      else divergences.expect("its own entry", session.data[operation.key], outcome.lookup?.value);
      break;
    }
    default:
      break;
  }
}

/** What a parallel step started from and ended with. */
interface ParallelStep {
  initial: ReadonlyMap<string, Json>;
  final: ReadonlyMap<string, Json>;
  operations: readonly Operation[];
  outcomes: readonly Outcome[];
  base: number;
}

/**
 * An answer given during a parallel step shows a state the session really had: every entry at its value before
 * or after the step (no torn entry, no half-applied update), and a version of base + the number of saving
 * operations whose effect it shows (an operation that leaves no visible trace, such as setting a value that was
 * already there, may count either way).
 */
function checkSnapshot(session: SessionFields, step: ParallelStep, divergences: Divergences): void {
  const stateIn = (data: ReadonlyMap<string, Json>, key: string) =>
    data.has(key) ? canonical(data.get(key)) : "(absent)";
  const shown = (key: string) =>
    Object.hasOwn(session.data, key) ? canonical(session.data[key]) : "(absent)";
  const keys = new Set([...step.initial.keys(), ...step.final.keys(), ...Object.keys(session.data)]);
  for (const key of keys) {
    const [before, after, now] = [stateIn(step.initial, key), stateIn(step.final, key), shown(key)];
    if (now !== before && now !== after)
      divergences.add(`entry ${key} is ${now}, neither ${before} (before) nor ${after} (after)`);
  }
  divergences.expect("keys", [...session.keys].sort(), Object.keys(session.data).sort());
  let visible = 0;
  let unknown = 0;
  step.operations.forEach((operation, index) => {
    if (!step.outcomes[index]?.savedChange) return;
    const seen = new Set(
      keysOf(operation).map((key) => {
        const [before, after] = [stateIn(step.initial, key), stateIn(step.final, key)];
        if (before === after) return "either";
        return shown(key) === after ? "after" : "before";
      }),
    );
    if (seen.has("after") && seen.has("before"))
      divergences.add(`${describeOperation(operation)} shows half applied`);
    if (seen.has("after")) visible++;
    else if (!seen.has("before")) unknown++;
  });
  const applied = session.version - step.base;
  if (applied < visible || applied > visible + unknown) {
    divergences.add(
      `version ${session.version}: shows ${visible} saved operations (and ${unknown} that may or may not be) over version ${step.base}`,
    );
  }
}

/** Moves the server's clock (and the model's) on by whole seconds. */
export class AdvanceCommand implements SessionCommand {
  constructor(readonly seconds: number) {}

  check(): boolean {
    return true;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    advanceBoth(model, real, this.seconds);
  }

  toString(): string {
    return `advance(${this.seconds}s)`;
  }
}

/** How far from a moment a clock move lands: a second before it, on it, or a second after it. */
export type Landing = -1 | 0 | 1;

function describeLanding(delta: Landing): string {
  return delta === 0 ? "" : delta > 0 ? "+1s" : "-1s";
}

/**
 * Moves the clock to just before, exactly to, or just past the end of the visitor's session: the idle, fixed or
 * absolute end, whichever comes first.
 */
export class AdvanceToExpiryCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly deltaSeconds: Landing,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    return model.liveSession(this.visitor) !== undefined;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const live = model.liveSession(this.visitor);
    if (live === undefined) throw new Error("AdvanceToExpiryCommand ran without a live session");
    const seconds = (live.expiresAtMs - model.nowMs) / 1000 + this.deltaSeconds;
    if (seconds > 0) advanceBoth(model, real, seconds);
  }

  toString(): string {
    return `advanceToExpiryOf(v${this.visitor})${describeLanding(this.deltaSeconds)}`;
  }
}

/** Moves the clock to just before, exactly to, or just past the end of one of the visitor's expiring entries. */
export class AdvanceToEntryExpiryCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly pick: number,
    readonly deltaSeconds: Landing,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    return (model.liveSession(this.visitor)?.entryExpiresAtMs.size ?? 0) > 0;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const ends = [...(model.liveSession(this.visitor)?.entryExpiresAtMs.values() ?? [])].sort(
      (a, b) => a - b,
    );
    const endMs = ends[this.pick % Math.max(1, ends.length)];
    if (endMs === undefined) throw new Error("AdvanceToEntryExpiryCommand ran without an expiring entry");
    const seconds = (endMs - model.nowMs) / 1000 + this.deltaSeconds;
    if (seconds > 0) advanceBoth(model, real, seconds);
  }

  toString(): string {
    return `advanceToEntryExpiryOf(v${this.visitor}, #${this.pick})${describeLanding(this.deltaSeconds)}`;
  }
}

function advanceBoth(model: SessionModel, real: Real, seconds: number): void {
  if (!Number.isInteger(seconds)) throw new Error(`the clock only moves by whole seconds, not ${seconds}`);
  model.advance(seconds);
  real.server.clock.advance(seconds);
  if (real.server.clock.now() !== model.nowMs)
    throw new Error("the model's clock and the server's drifted apart");
}

/** The visitor presents a cookie the server issued earlier in this run: another visitor's, or an old one. */
export class PresentCookieCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly pick: number,
  ) {}

  check(model: Readonly<SessionModel>): boolean {
    return model.issued.length > 0;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const ref = model.issued[this.pick % model.issued.length] as number;
    const value = real.cookieOf.get(ref);
    if (value === undefined) throw new Error(`the server never set a cookie for key #${ref}`);
    clientOf(real, this.visitor).jar.set(real.cookie.name, value);
    model.presentCookie(this.visitor, ref);
  }

  toString(): string {
    return `v${this.visitor}.presentIssuedCookie(#${this.pick})`;
  }
}

/** How a forged cookie is made. */
export type Forgery = "tamperedSignature" | "unsigned" | "garbage";

/** The visitor presents a cookie value the server never issued. */
export class ForgeCookieCommand implements SessionCommand {
  constructor(
    readonly visitor: number,
    readonly forgery: Forgery,
    readonly pick: number,
  ) {}

  check(): boolean {
    return true;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    const issued = [...real.cookieOf.values()];
    const original = issued[this.pick % Math.max(1, issued.length)];
    let value = "not-a-session-cookie";
    if (original !== undefined && this.forgery === "tamperedSignature") {
      value = `${original.slice(0, -1)}${original.endsWith("A") ? "B" : "A"}`;
    } else if (original !== undefined && this.forgery === "unsigned") {
      value = original.slice(0, original.lastIndexOf("."));
    }
    clientOf(real, this.visitor).jar.set(real.cookie.name, value);
    model.presentForgedCookie(this.visitor);
  }

  toString(): string {
    return `v${this.visitor}.forgeCookie(${this.forgery}, #${this.pick})`;
  }
}

/** The visitor's cookies are cleared (a new browser profile). */
export class DropCookieCommand implements SessionCommand {
  constructor(readonly visitor: number) {}

  check(): boolean {
    return true;
  }

  async run(model: SessionModel, real: Real): Promise<void> {
    real.counters.steps++;
    real.visitors[this.visitor] = real.server.client();
    model.dropCookie(this.visitor);
  }

  toString(): string {
    return `v${this.visitor}.clearCookies`;
  }
}
