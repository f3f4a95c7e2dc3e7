import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { brotliCompress, gzip, constants as zlib } from "node:zlib";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import type { FastifyReply, FastifyRequest } from "fastify";

/** The session's fields, one per line, indented to sit inside a selection at `depth`. */
function sessionFields(depth: number): string {
  const indent = "  ".repeat(depth);
  const fields = [
    "id",
    "data",
    "keys",
    "isEmpty",
    "version",
    "expiresAt",
    "expiryAge",
    "expireAtBrowserClose",
  ];
  return `{\n${fields.map((field) => `${indent}  ${field}`).join("\n")}\n${indent}}`;
}

const variables = (values: Record<string, unknown>) => JSON.stringify(values, null, 2);

/** The first tabs a visitor sees: the session operations, ready to run. */
const TABS = [
  { query: `# Your session, as the server keeps it.\nquery Session {\n  session ${sessionFields(1)}\n}\n` },
  {
    query: `mutation Set($key: String!, $value: JSON!) {\n  setSession(key: $key, value: $value) ${sessionFields(1)}\n}\n`,
    variables: variables({ key: "cart", value: { items: [1, 2] } }),
  },
  {
    query: `query Get($key: String!) {\n  session {\n    value: get(key: $key)\n    has(key: $key)\n  }\n}\n`,
    variables: variables({ key: "cart" }),
  },
  {
    query: `mutation Pop($key: String!) {\n  popSession(key: $key) {\n    found\n    value\n    session ${sessionFields(2)}\n  }\n}\n`,
    variables: variables({ key: "cart" }),
  },
  {
    query: `mutation Update($values: JSONObject!) {\n  updateSession(values: $values) ${sessionFields(1)}\n}\n`,
    variables: variables({ values: { theme: "dark", visits: 1 } }),
  },
  {
    query: `# A new key for the same data (after a login, say).\nmutation Cycle {\n  cycleSessionKey ${sessionFields(1)}\n}\n`,
  },
  {
    query: `# Seconds of inactivity; 0 = when the browser closes; null = the default.\nmutation Expiry($seconds: Int) {\n  setSessionExpiry(seconds: $seconds) ${sessionFields(1)}\n}\n`,
    variables: variables({ seconds: 3600 }),
  },
  { query: `mutation Clear {\n  clearSession ${sessionFields(1)}\n}\n` },
  {
    query: `# Log out: delete the session and expire its cookie.\nmutation Flush {\n  flushSession ${sessionFields(1)}\n}\n`,
  },
];

/**
 * The page's own code runs inline and starts its editor workers from blob: URLs; everything else it may reach
 * is this server, so the IDE works offline and cannot be made to send the session anywhere else.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join("; ");

interface RenderedPage {
  etag: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
}

/**
 * Serves the GraphiQL IDE at GET /graphql for browsers (Accept: text/html). The page (about 9 MB, every asset
 * inlined, so nothing comes from a CDN) is rendered and compressed once, on first request, then served from
 * memory with an ETag. It sends operations with the visitor's session cookie and the preflight header CSRF
 * prevention asks of a GET.
 */
export function createIdeHandler(endpoint: string) {
  let page: Promise<RenderedPage> | undefined;
  return async function serveIde(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!wantsHtml(request.headers.accept)) return;
    page ??= renderPage(endpoint);
    const { etag, ...bodies } = await page;
    reply
      .header("content-type", "text/html; charset=utf-8")
      .header("cache-control", "no-cache")
      .header("etag", etag)
      .header("vary", "Accept, Accept-Encoding")
      .header("x-content-type-options", "nosniff")
      .header("content-security-policy", CONTENT_SECURITY_POLICY);
    if (request.headers["if-none-match"] === etag) {
      await reply.code(304).send();
      return;
    }
    const encoding = chooseEncoding(request.headers["accept-encoding"]);
    if (encoding !== "identity") reply.header("content-encoding", encoding);
    await reply.send(bodies[encoding]);
  };
}

/** A browser navigating to /graphql asks for HTML; GraphQL clients ask for JSON. */
function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

function chooseEncoding(acceptEncoding: string | undefined): "br" | "gzip" | "identity" {
  const offered = (acceptEncoding ?? "").toLowerCase();
  if (/\bbr\b/.test(offered)) return "br";
  if (/\bgzip\b/.test(offered)) return "gzip";
  return "identity";
}

async function renderPage(endpoint: string): Promise<RenderedPage> {
  const html = renderGraphiQL({
    title: "sessionql",
    endpoint,
    defaultTabs: TABS,
    credentials: "same-origin",
    method: "POST",
    additionalHeaders: { "apollo-require-preflight": "true" },
    shouldPersistHeaders: false,
  });
  const identity = Buffer.from(html);
  // Brotli at quality 5 shrinks the page to about a fifth in a third of a second; 11 would save 5% for 20 s.
  const [br, gzipped] = await Promise.all([
    promisify(brotliCompress)(identity, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: identity.length },
    }),
    promisify(gzip)(identity, { level: 6 }),
  ]);
  const etag = `"${createHash("sha256").update(identity).digest("base64url").slice(0, 27)}"`;
  return { etag, identity, gzip: gzipped, br };
}
