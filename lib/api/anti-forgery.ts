import { RemoteApiError } from "./errors";

/** The header every browser call of the proxy carries, with the value `1` (as Duende BFF's). */
export const CSRF_HEADER = "x-csrf";

/**
 * The proxy's CSRF defence, before anything else (no store is asked, no upstream reached):
 *
 * - `X-CSRF: 1` must be there. A cross-site HTML form cannot add a header; a cross-site `fetch` can
 *   only after a CORS preflight (Fetch standard, "CORS-preflight request": a non-safelisted
 *   request header), and a preflight never carries the header itself, so it is refused here too and
 *   never gets `Access-Control-Allow-*` (Lockstep sends none, and strips the upstream's).
 * - A cross-site request that says so is refused even with the header: `Origin` naming another
 *   origin (RFC 6454 §7), or `Sec-Fetch-Site` other than `same-origin` or `none` (Fetch Metadata
 *   Request Headers §2.1; `same-site` too: a sibling subdomain is another app).
 */
export function validateAntiForgery(request: Request, appUrl: string): void {
  if (request.headers.get(CSRF_HEADER) !== "1") throw new RemoteApiError("csrf_header_required", "BFF anti-forgery header");
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== new URL(appUrl).origin) throw new RemoteApiError("cross_site", "RFC 6454 §7");
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") throw new RemoteApiError("cross_site", "Fetch Metadata §2.1");
}
