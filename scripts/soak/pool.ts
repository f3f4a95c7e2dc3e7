import { randomBytes } from "node:crypto";
import { DEFAULTS } from "../../src/config";

/** The cookie sessionql sets unless SESSION_COOKIE_NAME says otherwise. */
export const COOKIE_NAME = DEFAULTS.SESSION_COOKIE_NAME;

const UPDATE = "mutation($values: JSONObject!) { updateSession(values: $values) { version } }";

/**
 * The five keys a pooled session holds, about 1 KB of JSON, shaped like what a shop keeps in a session.
 * `profile.owner` is the session's index in the pool, so a read can tell it got its own session back.
 */
export function pooledSessionValues(owner: number): Record<string, unknown> {
  return {
    profile: { owner, name: `Visitor ${owner}`, email: `visitor${owner}@example.test`, locale: "en-GB" },
    cart: {
      currency: "EUR",
      items: Array.from({ length: 6 }, (_, i) => ({
        sku: `SKU-${owner}-${i}`,
        quantity: i + 1,
        cents: 1999,
      })),
    },
    preferences: { theme: "dark", newsletter: false, density: "compact", timezone: "Europe/Paris" },
    csrfToken: randomBytes(32).toString("base64url"),
    recentlyViewed: Array.from({ length: 24 }, (_, i) => `/products/${(owner * 31 + i * 7) % 10_000}`),
  };
}

/**
 * Creates `size` sessions over real HTTP, `concurrency` at a time, and resolves to their Cookie header values
 * (`sessionid=…`), index i belonging to the session whose profile.owner is i.
 */
export async function createSessionPool(
  graphqlUrl: string,
  size: number,
  concurrency = 16,
): Promise<string[]> {
  const cookies = new Array<string>(size);
  let next = 0;
  const worker = async () => {
    while (next < size) {
      const owner = next++;
      cookies[owner] = await createSession(graphqlUrl, owner);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, size) }, worker));
  return cookies;
}

async function createSession(graphqlUrl: string, owner: number): Promise<string> {
  const res = await fetch(graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: UPDATE, variables: { values: pooledSessionValues(owner) } }),
  });
  const body = (await res.json()) as { errors?: unknown[] };
  if (res.status !== 200 || body.errors !== undefined) {
    throw new Error(`creating pooled session ${owner} answered ${res.status}: ${JSON.stringify(body)}`);
  }
  const cookie = res.headers
    .getSetCookie()
    .map((header) => header.slice(0, header.indexOf(";")))
    .find((pair) => pair.startsWith(`${COOKIE_NAME}=`) && pair.length > COOKIE_NAME.length + 1);
  if (cookie === undefined) throw new Error(`creating pooled session ${owner} set no ${COOKIE_NAME} cookie`);
  return cookie;
}
