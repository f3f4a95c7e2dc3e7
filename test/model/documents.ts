/** The GraphQL requests the model's operations are sent as, and the shapes of their answers. */
import type { GraphQLResult } from "../helpers/server";
import type { InvalidKind, Json, Operation } from "./operations";

/** The key a `session` selection probes with `get(key, default)`, `has(key)` and `keyExpiresAt(key)`. */
export interface Probe {
  key: string;
  default: Json | undefined;
}

const FIELDS =
  "id data keys isEmpty expiresAt expiryAge expireAtBrowserClose version createdAt " +
  "probe: get(key: $probe, default: $probeDefault) probeHas: has(key: $probe) " +
  "probeExpiresAt: keyExpiresAt(key: $probe)";
const PROBE_VARIABLES = "$probe: String!, $probeDefault: JSON";

/** The Session fields every answer is compared on. */
export interface SessionFields {
  id: string | null;
  data: Record<string, Json>;
  keys: string[];
  isEmpty: boolean;
  expiresAt: string | null;
  expiryAge: number;
  expireAtBrowserClose: boolean;
  version: number;
  createdAt: string | null;
  probe: Json;
  probeHas: boolean;
  probeExpiresAt: string | null;
}

/** What popSession and setSessionDefault answer. */
export interface LookupFields {
  found: boolean;
  value: Json;
  session: SessionFields;
}

/** The session in the answer of `operation` (nested in a lookup's answer). */
export function sessionOf(operation: Operation, answer: unknown): SessionFields | undefined {
  const lookup = operation.kind === "pop" || operation.kind === "setDefault";
  return (lookup ? (answer as LookupFields | null | undefined)?.session : answer) as
    | SessionFields
    | undefined;
}

const LONG_KEY = "k".repeat(257);
/** A key no generated operation uses, so setSessionDefault always finds it absent (and stores, or refuses). */
const UNUSED_KEY = "never-set";

/** What a request is sent at, besides its operations. */
export interface SendContext {
  /** The server's clock: `at` moments are counted from it. */
  nowMs: number;
  /** The `ifVersion` of each operation, undefined for none. */
  ifVersions?: ReadonlyArray<number | undefined>;
}

/** The request for an operation that must be refused, with no probe. */
function invalidRequest(
  what: InvalidKind,
  nowMs: number,
): { query: string; variables?: Record<string, unknown> } {
  const at = (seconds: number) => ({ at: new Date(nowMs + seconds * 1000).toISOString() });
  const setExpiryAt = "mutation($at: DateTimeISO) { setSessionExpiry(at: $at) { version } }";
  switch (what) {
    case "setEmptyKey":
      return { query: 'mutation { setSession(key: "", value: 1) { version } }' };
    case "setLongKey":
      return { query: `mutation { setSession(key: "${LONG_KEY}", value: 1) { version } }` };
    case "popEmptyKey":
      return { query: 'mutation { popSession(key: "", default: 1) { found } }' };
    case "updateWithEmptyKey":
      return {
        query: "mutation($values: JSONObject!) { updateSession(values: $values) { version } }",
        variables: { values: { a: "all-or-nothing", "": 1 } },
      };
    case "negativeExpiry":
      return { query: "mutation { setSessionExpiry(seconds: -1) { version } }" };
    case "getEmptyKey":
      return { query: '{ session { version get(key: "") } }' };
    case "setDefaultEmptyKey":
      return { query: 'mutation { setSessionDefault(key: "", value: 1) { found } }' };
    case "keyExpiresAtEmptyKey":
      return { query: '{ session { version keyExpiresAt(key: "") } }' };
    case "expiresInZero":
      return { query: 'mutation { setSession(key: "a", value: 1, expiresIn: 0) { version } }' };
    case "expiresInNegative":
      return { query: 'mutation { setSession(key: "b", value: 1, expiresIn: -5) { version } }' };
    case "setDefaultExpiresInZero":
      return {
        query: `mutation { setSessionDefault(key: "${UNUSED_KEY}", value: 1, expiresIn: 0) { found } }`,
      };
    case "expiryAtNow":
      return { query: setExpiryAt, variables: at(0) };
    case "expiryAtPast":
      return { query: setExpiryAt, variables: at(-60) };
    case "expiryAtAndSeconds":
      return {
        query: "mutation($at: DateTimeISO) { setSessionExpiry(seconds: 60, at: $at) { version } }",
        variables: at(60),
      };
  }
}

/** An argument: its name, its GraphQL type and the value sent for it (as a variable). */
type Argument = readonly [name: string, type: string, value: unknown];

/** One top-level field of a request, under the alias `r<index>`, with its variable definitions and values. */
function fieldFor(
  operation: Operation,
  index: number,
  context: SendContext,
): { definitions: string; field: string; variables: Record<string, unknown> } {
  const field = (name: string, args: Argument[], lookup = false) => {
    const ifVersion = context.ifVersions?.[index];
    const all = ifVersion === undefined ? args : [...args, ["ifVersion", "Int", ifVersion] as const];
    const variable = (argument: string) => `${argument}${index}`;
    const list = all.map(([argument]) => `${argument}: $${variable(argument)}`).join(", ");
    return {
      definitions: all.map(([argument, type]) => `, $${variable(argument)}: ${type}`).join(""),
      field: `r${index}: ${name}${list === "" ? "" : `(${list})`} ${lookup ? `{ found value session { ${FIELDS} } }` : `{ ${FIELDS} }`}`,
      variables: Object.fromEntries(all.map(([argument, , value]) => [variable(argument), value])),
    };
  };
  const expiresIn = (seconds: number | undefined): Argument[] =>
    seconds === undefined ? [] : [["expiresIn", "Int", seconds]];
  switch (operation.kind) {
    case "read":
      return field("session", []);
    case "set":
      return field("setSession", [
        ["key", "String!", operation.key],
        ["value", "JSON!", operation.value],
        ...expiresIn(operation.expiresIn),
      ]);
    case "setDefault":
      return field(
        "setSessionDefault",
        [
          ["key", "String!", operation.key],
          ["value", "JSON!", operation.value],
          ...expiresIn(operation.expiresIn),
        ],
        true,
      );
    case "pop":
      return field(
        "popSession",
        [
          ["key", "String!", operation.key],
          ...(operation.default === undefined ? [] : [["default", "JSON", operation.default] as const]),
        ],
        true,
      );
    case "update":
      return field("updateSession", [["values", "JSONObject!", Object.fromEntries(operation.values)]]);
    case "clear":
      return field("clearSession", []);
    case "flush":
      return field("flushSession", []);
    case "cycle":
      return field("cycleSessionKey", []);
    case "setExpiry":
      return field("setSessionExpiry", operation.omitArgument ? [] : [["seconds", "Int", operation.seconds]]);
    case "setExpiryAt": {
      const at = new Date(context.nowMs + operation.inSeconds * 1000).toISOString();
      return field("setSessionExpiry", [["at", "DateTimeISO", at]]);
    }
    case "invalid":
      throw new Error("a refused operation has a request of its own");
  }
}

/** The document and variables of one request: a query for a read, else a mutation with one field per operation. */
export function requestFor(
  operations: readonly Operation[],
  probe: Probe,
  context: SendContext,
): { query: string; variables: Record<string, unknown> } {
  const [first] = operations;
  if (first?.kind === "invalid") {
    const invalid = invalidRequest(first.what, context.nowMs);
    return { query: invalid.query, variables: invalid.variables ?? {} };
  }
  const fields = operations.map((operation, index) => fieldFor(operation, index, context));
  const type = first?.kind === "read" ? "query" : "mutation";
  return {
    query:
      `${type}(${PROBE_VARIABLES}${fields.map((field) => field.definitions).join("")}) ` +
      `{ ${fields.map((field) => field.field).join(" ")} }`,
    variables: Object.assign(
      { probe: probe.key, probeDefault: probe.default ?? null },
      ...fields.map((field) => field.variables),
    ),
  };
}

/** The answer of the operation at `index` of a request. */
export function answerAt(result: GraphQLResult, index: number): unknown {
  return (result.data as Record<string, unknown> | null | undefined)?.[`r${index}`];
}
