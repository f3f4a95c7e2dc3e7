/**
 * A plain-DOM page that keeps its state in a sessionql session through Apollo Client, and, against an API that
 * serves a shop's `login`, lists the logged-in user's devices. The browser holds only the HttpOnly `sessionid`
 * cookie; everything shown here is read back from the server.
 */
import {
  ApolloClient,
  CombinedGraphQLErrors,
  gql,
  HttpLink,
  InMemoryCache,
  ServerError,
  type TypedDocumentNode,
} from "@apollo/client";
import { concatAST } from "graphql";
import {
  CycleSessionKeyDocument,
  FlushSessionDocument,
  type SessionFragment,
  SessionFragmentDoc,
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

/** One of the logged-in user's sessions, as the "Your devices" list shows it. */
interface Device {
  id: string;
  current: boolean;
  userAgent: string | null;
  lastSeenAt: string;
}

/**
 * Everything the page shows, in one request: the session, and the devices of its user (none when anonymous). Both
 * are sessionql's own fields, so the page works against sessionql's server as well as against a shop.
 */
// concatAST, not an interpolation in gql: graphql-tag needs the source text of what it interpolates, and the
// generated fragment has none.
const PageDocument: TypedDocumentNode<
  { session: SessionFragment; mySessions: Device[] },
  Record<string, never>
> = concatAST([
  gql`
    query Page {
      session {
        ...Session
      }
      mySessions {
        id
        current
        userAgent
        lastSeenAt
      }
    }
  `,
  SessionFragmentDoc,
]);

/** The shop's own login (examples/shop), not one of sessionql's operations. */
const LoginDocument: TypedDocumentNode<{ login: { name: string } }, { email: string; password: string }> =
  gql`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      name
    }
  }
`;
const RevokeSessionDocument: TypedDocumentNode<{ revokeSession: boolean }, { id: string }> = gql`
  mutation RevokeSession($id: ID!) {
    revokeSession(id: $id)
  }
`;
const RevokeOtherSessionsDocument: TypedDocumentNode<
  { revokeOtherSessions: number },
  Record<string, never>
> = gql`
  mutation RevokeOtherSessions {
    revokeOtherSessions
  }
`;

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
  account: element("account"),
  devices: element("devices"),
  revokeOthers: element<HTMLButtonElement>("revoke-others"),
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

function showDevices(devices: readonly Device[]): void {
  const count = devices.length;
  view.account.textContent =
    count === 0 ? "Not logged in." : `Logged in, on ${count} ${count === 1 ? "device" : "devices"}.`;
  view.account.dataset.loggedIn = String(count > 0);
  view.devices.replaceChildren(...devices.map(deviceRow));
  view.revokeOthers.disabled = !devices.some((device) => !device.current);
}

function deviceRow(device: Device): HTMLLIElement {
  const row = document.createElement("li");
  row.dataset.testid = "device";
  row.dataset.current = String(device.current);
  // textContent, never innerHTML: a User-Agent is whatever the other device chose to send.
  const agent = Object.assign(document.createElement("span"), {
    className: "agent",
    textContent: device.userAgent ?? "(unknown browser)",
  });
  const seen = Object.assign(document.createElement("span"), {
    className: "seen",
    textContent: `last seen ${new Date(device.lastSeenAt).toLocaleString()}`,
  });
  row.append(agent, seen);
  if (device.current) {
    row.append(Object.assign(document.createElement("strong"), { textContent: "this device" }));
  } else {
    const revoke = Object.assign(document.createElement("button"), { type: "button", textContent: "Revoke" });
    revoke.dataset.testid = "revoke";
    revoke.addEventListener(
      "click",
      () =>
        void run("revoke", () =>
          client.mutate({ mutation: RevokeSessionDocument, variables: { id: device.id } }),
        ),
    );
    row.append(revoke);
  }
  return row;
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

/**
 * Runs one action: its write, if any, then one read of everything the page shows (a key cycle or a revoke changes
 * the devices as well as the session), or its error. `data-seq` counts finished actions.
 */
async function run(label: string, write?: () => Promise<unknown>): Promise<void> {
  view.status.dataset.state = "loading";
  view.status.textContent = `${label}…`;
  try {
    await write?.();
    const page = (await client.query({ query: PageDocument })).data;
    if (page === undefined) throw new Error(`${label} returned no data`);
    showSession(page.session);
    showDevices(page.mySessions);
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

const readSession = () => run("read session");

element("set-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = element<HTMLInputElement>("key").value;
  const value = parseValue(element<HTMLInputElement>("value").value);
  void run("set", () =>
    client.mutate({ mutation: SetSessionDocument, variables: { key, value, ifVersion: shownVersion } }),
  );
});
element("read").addEventListener("click", () => void readSession());
element("cycle").addEventListener(
  "click",
  () =>
    void run("cycle key", () =>
      client.mutate({ mutation: CycleSessionKeyDocument, variables: { ifVersion: shownVersion } }),
    ),
);
element("flush").addEventListener(
  "click",
  () => void run("flush", () => client.mutate({ mutation: FlushSessionDocument })),
);
element("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const email = element<HTMLInputElement>("email").value;
  const password = element<HTMLInputElement>("password");
  void run("log in", async () => {
    await client.mutate({ mutation: LoginDocument, variables: { email, password: password.value } });
    password.value = "";
  });
});
view.revokeOthers.addEventListener(
  "click",
  () => void run("log out other devices", () => client.mutate({ mutation: RevokeOtherSessionsDocument })),
);

element("api").textContent = api;
void readSession();
