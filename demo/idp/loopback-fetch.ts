/** What oidc-provider hands its `fetch` hook: RequestInit plus the undici `dispatcher` Node's fetch accepts. */
export type FetchInit = RequestInit & { dispatcher?: unknown };

const LOOPBACK_HOSTNAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** True for URLs that name this machine literally (not names that merely resolve to it). */
export function isLoopbackUrl(url: string): boolean {
  const parsed = URL.parse(url);
  return parsed !== null && LOOPBACK_HOSTNAMES.has(parsed.hostname);
}

/**
 * oidc-provider's `fetch` hook for the LOCAL DEMO ONLY. Do not copy this into a real IdP.
 *
 * oidc-provider 9 hands every outgoing request (back-channel logout POSTs included) an undici dispatcher
 * that kills connections to loopback and private addresses, so SSRF through client metadata is impossible.
 * The demo's apps live on http://localhost, so for URLs whose host is literally a loopback name we drop
 * that dispatcher and refuse to follow redirects (a redirect could lead anywhere). Every other URL keeps
 * the guard untouched.
 */
export function loopbackDemoFetch(input: string | URL | Request, options: FetchInit = {}): Promise<Response> {
  const url = input instanceof Request ? input.url : String(input);
  if (!isLoopbackUrl(url)) return fetch(input, options);
  const unguarded: FetchInit = { ...options, redirect: "manual" };
  delete unguarded.dispatcher;
  return fetch(input, unguarded);
}
