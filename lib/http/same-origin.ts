/**
 * CSRF defence for state-changing form posts: the browser must say the request comes from our own
 * origin (`Origin`, or `Sec-Fetch-Site: same-origin` where Origin is absent). Missing both: refused.
 */
export function isSameOriginRequest(request: Request, appUrl: string): boolean {
  const origin = request.headers.get("origin");
  if (origin !== null) return origin === new URL(appUrl).origin;
  return request.headers.get("sec-fetch-site") === "same-origin";
}
