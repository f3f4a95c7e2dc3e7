/**
 * A plain-DOM page that keeps its state in a sessionql session through Apollo Client, and, against an API that
 * serves a shop's `login`, lists the logged-in user's devices. The browser holds only the HttpOnly `sessionid`
 * cookie; everything shown here is read back from the server. With `?live=1` it also follows the session over a
 * WebSocket (`sessionChanged`), so every tab shows every other tab's change as it is saved.
 */
import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  gql,
  HttpLink,
  InMemoryCache,
  ServerError,
  type TypedDocumentNode,
} from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { concatAST, OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import {
  CycleSessionKeyDocument,
  FlushSessionDocument,
  SessionChangedDocument,
  type SessionFragment,
  SessionFragmentDoc,
  SetSessionDocument,
} from "../../src/client/generated";
// The API's address over WebSocket, resolved against the page's location: ws: for http:, wss: for https:.
import { webSocketUrlOf } from "../../src/client/live";

declare global {
  interface Window {
    /** The sessionql endpoint, for a host page that sets it instead of passing `?api=`. */
    SESSIONQL_URL?: string;
    /** Follows the session live, for a host page that sets it instead of passing `?live=1`. */
    SESSIONQL_LIVE?: boolean;
  }
}

const DEFAULT_API = "http://127.0.0.1:4000/graphql";

/** The endpoint: `?api=…`, else the host page's `window.SESSIONQL_URL`, else a local sessionql. */
function apiUrl(): string {
  return new URLSearchParams(window.location.search).get("api") ?? window.SESSIONQL_URL ?? DEFAULT_API;
}

/** Whether the page follows the session live: `?live=1`, or the host page's `window.SESSIONQL_LIVE`. */
function liveWanted(): boolean {
  return new URLSearchParams(window.location.search).get("live") === "1" || window.SESSIONQL_LIVE === true;
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
/** The shop's logout: the session ends, and every tab following it is sent the empty session. */
const LogoutDocument: TypedDocumentNode<{ logout: boolean }, Record<string, never>> = gql`
  mutation Logout {
    logout
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
const LIVE = liveWanted();

/**
 * The WebSocket link of the subscription now open. Each subscription gets a socket of its own: the server reads
 * the session from the upgrade request's cookie, so a socket opened before a login or a key cycle would go on
 * presenting the old key. The browser sends the cookie (and the page's Origin, which the server checks against
 * CORS_ORIGINS) with the upgrade by itself.
 */
let socketLink: GraphQLWsLink | undefined;
function freshSocket(): GraphQLWsLink {
  void socketLink?.client.dispose();
  socketLink = new GraphQLWsLink(createClient({ url: webSocketUrlOf(api), lazy: true, retryAttempts: 0 }));
  return socketLink;
}

const client = new ApolloClient({
  // Subscriptions over the WebSocket, everything else over HTTP. credentials "include" sends the session
  // cookie to another origin too; the server must then answer with Access-Control-Allow-Origin naming this
  // page's origin and Access-Control-Allow-Credentials: true.
  link: ApolloLink.split(
    ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
    new ApolloLink((operation) => (socketLink ?? freshSocket()).request(operation)),
    new HttpLink({ uri: api, credentials: "include" }),
  ),
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
  live: element("live"),
  status: element("status"),
  error: element("error"),
};
let seq = 0;
/**
 * The version of the session this page last showed. Every write is sent with it as `ifVersion`, so a write from
 * a tab that has not seen another tab's change is refused (VERSION_CONFLICT) instead of silently replacing it.
 */
let shownVersion = 0;

/** The id of the session this page last showed: a new one after a login or a key cycle. */
let shownId: string | null = null;

function showSession(session: SessionFragment): void {
  shownVersion = session.version;
  shownId = session.id;
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

/** Reads everything the page shows, in one request, shows it, and follows the session it shows. */
async function readPage(): Promise<void> {
  const page = (await client.query({ query: PageDocument })).data;
  if (page === undefined) throw new Error("the page's query returned no data");
  showSession(page.session);
  showDevices(page.mySessions);
  follow(page.session);
}

/**
 * Runs one action: its write, if any, then one read of everything the page shows (a key cycle or a revoke changes
 * the devices as well as the session), or its error. `data-seq` counts finished actions. An action that gives
 * the session a new key (`rekeys`: a login, a key cycle) tells the other tabs, whose subscriptions it completed.
 */
async function run(label: string, write?: () => Promise<unknown>, rekeys = false): Promise<void> {
  view.status.dataset.state = "loading";
  view.status.textContent = `${label}…`;
  try {
    await write?.();
    await readPage();
    if (rekeys) otherTabs?.postMessage("rekeyed");
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

/** The subscription the page has open, and the id of the session it follows. */
let following: { id: string; stop: () => void } | undefined;

function showLive(state: "off" | "following" | "ended" | "rekeyed" | "error", text: string): void {
  view.live.dataset.state = state;
  view.live.textContent = text;
}

/**
 * Follows `session` live, unless the page already does: a session with another id than the one followed (a
 * login, a key cycle, a first write) needs a new subscription on a new socket, and one without an id (none
 * stored) has nothing to follow. Only ever called after an HTTP answer, so the browser holds the cookie of
 * the session shown.
 */
function follow(session: SessionFragment): void {
  if (!LIVE || following?.id === session.id) return;
  following?.stop();
  following = undefined;
  if (session.id === null) {
    socketLink?.client.dispose();
    socketLink = undefined;
    return;
  }
  freshSocket();
  const mine = { id: session.id, stop: () => {} };
  const stillMine = () => following === mine;
  const stopped = (error: unknown) => {
    following = undefined;
    showLive("error", `Live: stopped (${describeError(error)}); the next action follows again.`);
  };
  const subscription = client
    .subscribe({
      query: SessionChangedDocument,
      // The version just shown: a change another tab saved while this subscription was set up comes at once.
      variables: { sinceVersion: session.version },
      context: { queryDeduplication: false },
    })
    .subscribe({
      next: ({ data, error }) => {
        if (!stillMine()) return;
        if (error !== undefined || data === undefined) stopped(error);
        else onSessionChanged(data.sessionChanged);
      },
      error: (error: unknown) => {
        if (stillMine()) stopped(error);
      },
      complete: () => {
        if (!stillMine()) return;
        following = undefined;
        // The empty session came first when it ended; otherwise its key was cycled by this browser (a login in
        // another tab, say), whose tab says so once it has the new cookie.
        if (view.live.dataset.state !== "ended") {
          showLive("rekeyed", "Live: the session has a new key; following again after the next read.");
        }
      },
    });
  mine.stop = () => subscription.unsubscribe();
  following = mine;
  showLive("following", "Live: following this session.");
}

/** One event of `sessionChanged`: the session as it now is, or the empty session once it ended. */
function onSessionChanged(session: SessionFragment): void {
  // An event older than what a read already showed (the read overtook it) changes nothing.
  if (session.id !== null && session.id === shownId && session.version < shownVersion) return;
  const ended = session.id === null;
  showSession(session);
  // The cache holds the page's last query: kept in step, so a cache read would show what the page shows.
  client.cache.updateQuery({ query: PageDocument }, (page) =>
    page === null ? undefined : { ...page, session, ...(ended ? { mySessions: [] } : {}) },
  );
  if (ended) {
    // Flushed, logged out, revoked or expired: whoever was logged in here no longer is.
    showDevices([]);
    showLive("ended", "Live: the session ended.");
  }
}

/**
 * The other tabs of this page's origin. A key cycle completes their subscriptions without telling them the new
 * key, and a tab must not subscribe again before the browser holds the new cookie: the tab that cycled it knows
 * when its answer has come, and says so here.
 */
const otherTabs = LIVE && "BroadcastChannel" in window ? new BroadcastChannel("sessionql-spa") : undefined;
otherTabs?.addEventListener("message", (event: MessageEvent) => {
  if (event.data !== "rekeyed") return;
  readPage().catch((error: unknown) => {
    showLive("error", `Live: could not read the session again (${describeError(error)}).`);
  });
});

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
    void run(
      "cycle key",
      () => client.mutate({ mutation: CycleSessionKeyDocument, variables: { ifVersion: shownVersion } }),
      true,
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
  void run(
    "log in",
    async () => {
      await client.mutate({ mutation: LoginDocument, variables: { email, password: password.value } });
      password.value = "";
    },
    true,
  );
});
element("logout").addEventListener(
  "click",
  () => void run("log out", () => client.mutate({ mutation: LogoutDocument })),
);
view.revokeOthers.addEventListener(
  "click",
  () => void run("log out other devices", () => client.mutate({ mutation: RevokeOtherSessionsDocument })),
);

element("api").textContent = api;
showLive("off", LIVE ? "Live: no session to follow yet." : "Live: off (add ?live=1 to follow the session).");
void readSession();
