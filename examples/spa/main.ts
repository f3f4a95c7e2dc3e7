/**
 * A plain-DOM page that keeps its state in a sessionql session through Apollo Client. The browser holds only the
 * HttpOnly `sessionid` cookie; everything shown here is read back from the server.
 */
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, ServerError } from "@apollo/client";
import {
  CycleSessionKeyDocument,
  FlushSessionDocument,
  GetSessionDocument,
  type SessionFragment,
  SetSessionDocument,
} from "../../src/client/generated";

declare global {
  interface Window {
    /** The sessionql endpoint, for a host page that sets it instead of passing `?api=`. */
    SESSIONQL_URL?: string;
  }
}

const DEFAULT_API = "http://127.0.0.1:4000/graphql";

/** The endpoint: `?api=…`, else the host page's `window.SESSIONQL_URL`, else a local sessionql. */
function apiUrl(): string {
  return new URLSearchParams(window.location.search).get("api") ?? window.SESSIONQL_URL ?? DEFAULT_API;
}

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

const api = apiUrl();
const client = new ApolloClient({
  // credentials "include" sends the session cookie to another origin too; the server must then answer with
  // Access-Control-Allow-Origin naming this page's origin and Access-Control-Allow-Credentials: true.
  link: new HttpLink({ uri: api, credentials: "include" }),
  // The session is this visitor's singleton, and its id changes when the key is cycled: keep it unnormalised.
  cache: new InMemoryCache({ typePolicies: { Session: { keyFields: false } } }),
  defaultOptions: { query: { fetchPolicy: "network-only" } },
});

const view = {
  id: element("session-id"),
  version: element("session-version"),
  data: element("session-data"),
  status: element("status"),
  error: element("error"),
};
let seq = 0;
/**
 * The version of the session this page last showed. Every write is sent with it as `ifVersion`, so a write from
 * a tab that has not seen another tab's change is refused (VERSION_CONFLICT) instead of silently replacing it.
 */
let shownVersion = 0;

function showSession(session: SessionFragment): void {
  shownVersion = session.version;
  view.id.textContent = session.id ?? "(none: not stored)";
  view.version.textContent = String(session.version);
  view.data.textContent = JSON.stringify(session.data, null, 2);
}

/** What went wrong, in words a developer can act on. */
function describeError(error: unknown): string {
  if (CombinedGraphQLErrors.is(error)) {
    return error.errors
      .map((e) =>
        e.extensions?.code === "VERSION_CONFLICT"
          ? `GraphQL error (VERSION_CONFLICT): another tab changed the session (now version ${String(e.extensions.version)}); read it again before you change it`
          : `GraphQL error (${String(e.extensions?.code ?? "unknown")}): ${e.message}`,
      )
      .join("\n");
  }
  if (ServerError.is(error)) return `Server error: HTTP ${error.statusCode}: ${error.message}`;
  // fetch rejects with a bare TypeError when the browser refuses the answer (CORS) or cannot connect at all.
  const message = error instanceof Error ? error.message : String(error);
  return `Network error: ${message} (is sessionql running at ${api}, and is this page's origin ${window.location.origin} in its CORS_ORIGINS?)`;
}

/** Runs one request, then shows its session or its error; `data-seq` counts finished requests. */
async function run(label: string, request: () => Promise<SessionFragment | undefined>): Promise<void> {
  view.status.dataset.state = "loading";
  view.status.textContent = `${label}…`;
  try {
    const session = await request();
    if (session === undefined) throw new Error(`${label} returned no data`);
    showSession(session);
    view.error.hidden = true;
    view.error.textContent = "";
    view.status.dataset.state = "ok";
    view.status.textContent = `${label}: done`;
  } catch (error) {
    view.error.hidden = false;
    view.error.textContent = describeError(error);
    view.status.dataset.state = "error";
    view.status.textContent = `${label}: failed`;
  } finally {
    seq += 1;
    view.status.dataset.seq = String(seq);
  }
}

/** The input as JSON when it parses, else as the plain string typed. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const readSession = () =>
  run("read session", async () => (await client.query({ query: GetSessionDocument })).data?.session);

element("set-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = element<HTMLInputElement>("key").value;
  const value = parseValue(element<HTMLInputElement>("value").value);
  void run(
    "set",
    async () =>
      (
        await client.mutate({
          mutation: SetSessionDocument,
          variables: { key, value, ifVersion: shownVersion },
        })
      ).data?.setSession,
  );
});
element("read").addEventListener("click", () => void readSession());
element("cycle").addEventListener(
  "click",
  () =>
    void run(
      "cycle key",
      async () =>
        (await client.mutate({ mutation: CycleSessionKeyDocument, variables: { ifVersion: shownVersion } }))
          .data?.cycleSessionKey,
    ),
);
element("flush").addEventListener(
  "click",
  () =>
    void run(
      "flush",
      async () => (await client.mutate({ mutation: FlushSessionDocument })).data?.flushSession,
    ),
);

element("api").textContent = api;
void readSession();
