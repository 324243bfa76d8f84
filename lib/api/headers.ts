import { RemoteApiError } from "./errors";

/**
 * Which headers cross the proxy, each way.
 *
 * Requests: an allowlist. What the browser sends Lockstep is mostly about Lockstep (its cookies,
 * its CSRF header, its host, Next's own headers) and none of it is the upstream's business, so only
 * headers that describe the request itself are sent on, plus those an API names in apis.ts
 * (`forwardHeaders`). Never sent, whatever an API names (FORBIDDEN_REQUEST): Cookie and
 * Authorization (Lockstep's session, not the API's; the API gets Lockstep's token), Host (the
 * upstream's is set from its URL), the hop-by-hop headers (RFC 9110 §7.6.1, which end at this hop),
 * Origin and Referer (the call is Lockstep's, and would tell the upstream the app's URLs and CORS
 * state), X-CSRF (Lockstep's), DPoP (Lockstep signs its own proofs), and the Forwarded family
 * (Lockstep adds none: the upstream knows the user by the token, not by an address).
 *
 * Answers: a denylist. Upstream headers are passed back but for the hop-by-hop ones (and any that
 * Connection names), Set-Cookie (an upstream never sets cookies on Lockstep's origin), the CORS
 * headers (Access-Control-*: an upstream must not open Lockstep's origin to other sites), the
 * authentication challenges (WWW-Authenticate and DPoP-Nonce are about Lockstep's token, and a Basic
 * challenge would make the browser ask the user for a password), and headers that would bind
 * Lockstep's origin beyond this answer (Strict-Transport-Security, Clear-Site-Data, Alt-Svc,
 * Public-Key-Pins). When a token was sent, Cache-Control is `no-store` whatever the upstream said.
 */

/** RFC 9110 §7.6.1: connection-specific fields, and what Connection names. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection"]);

export const FORWARDED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  "accept",
  "accept-language",
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "if-range",
  "range",
]);

/** Never sent upstream, even when an API lists them in `forwardHeaders` (checked at start-up too). */
export function isForbiddenRequestHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    HOP_BY_HOP.has(lower) ||
    lower.startsWith("proxy-") ||
    lower.startsWith("x-forwarded-") ||
    lower.startsWith("sec-") ||
    ["cookie", "authorization", "host", "origin", "referer", "x-csrf", "dpop", "forwarded", "x-real-ip", "expect"].includes(lower)
  );
}

const DENIED_RESPONSE = new Set([
  "set-cookie",
  "set-cookie2",
  "www-authenticate",
  "proxy-authenticate",
  "dpop-nonce",
  "strict-transport-security",
  "clear-site-data",
  "alt-svc",
  "public-key-pins",
  "public-key-pins-report-only",
]);

/** The header names a Connection header lists (RFC 9110 §7.6.1), lowercased. */
function connectionOptions(values: Iterable<string>): Set<string> {
  const named = new Set<string>();
  for (const value of values) for (const token of value.split(",")) if (token.trim()) named.add(token.trim().toLowerCase());
  return named;
}

const UNSAFE_VALUE = /[\r\n\u0000]/;

/**
 * The headers to send upstream, from the browser's (or fetchApi's caller's): the allowlist and the
 * API's own names, minus what may never go, minus what the request's Connection names. A value
 * with CR, LF or NUL is refused (`invalid_header`), never cleaned and sent.
 */
export function upstreamRequestHeaders(incoming: Headers, extra: readonly string[] = []): Record<string, string> {
  const allowed = new Set([...FORWARDED_REQUEST_HEADERS, ...extra.map((n) => n.toLowerCase())]);
  const named = connectionOptions(incoming.get("connection") === null ? [] : [incoming.get("connection")!]);
  const out: Record<string, string> = {};
  for (const [name, value] of incoming) {
    if (!allowed.has(name) || named.has(name) || isForbiddenRequestHeader(name)) continue;
    if (UNSAFE_VALUE.test(value)) throw new RemoteApiError("invalid_header", "RFC 9110 §5.5");
    out[name] = value;
  }
  return out;
}

/**
 * The upstream's answer headers as the browser gets them (`raw`: Node's rawHeaders, name and value
 * in turn), with `Cache-Control: no-store` when a token was sent (so that no cache keeps an answer
 * made for this user's token).
 */
export function downstreamResponseHeaders(raw: readonly string[], tokenSent: boolean): Headers {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  const named = connectionOptions(pairs.filter(([n]) => n === "connection").map(([, v]) => v));
  const headers = new Headers();
  for (const [name, value] of pairs) {
    if (HOP_BY_HOP.has(name) || named.has(name) || name.startsWith("proxy-") || name.startsWith("access-control-")) continue;
    if (DENIED_RESPONSE.has(name)) continue;
    if (tokenSent && (name === "cache-control" || name === "expires" || name === "pragma")) continue;
    if (UNSAFE_VALUE.test(value)) continue;
    headers.append(name, value);
  }
  if (tokenSent) headers.set("cache-control", "no-store");
  return headers;
}
