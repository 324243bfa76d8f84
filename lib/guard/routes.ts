/**
 * Which requests need a session. Everything else is public, but a request that carries a session
 * cookie is still checked against the revocation list wherever the guard runs. `/api/remote/` is
 * public here because its handler requires a session itself for `user` and `client` APIs
 * (lib/api/proxy.ts), while `none` and `user-or-none` APIs work signed out.
 */
const publicApi = [
  "/api/auth/",
  "/api/backchannel-logout",
  "/api/frontchannel-logout",
  "/api/ssf/",
  "/api/logout",
  "/api/health",
  "/api/remote/",
];
const publicPages = new Set(["/", "/signed-out"]);

export function isApi(pathname: string): boolean {
  return pathname === "/api" || pathname.startsWith("/api/");
}

export function isPublic(pathname: string): boolean {
  if (isApi(pathname))
    return publicApi.some((p) => (p.endsWith("/") ? pathname.startsWith(p) : pathname === p || pathname.startsWith(`${p}/`)));
  return publicPages.has(pathname);
}

/**
 * Passed through even with a stale cookie: sign-in (or a revoked user could never sign in again),
 * logout (its handler ends whatever is left and always lands on the signed-out page), and the
 * signal receivers (a front-channel iframe may carry the very cookie it comes to end).
 */
const unguarded = ["/api/logout", "/api/backchannel-logout", "/api/frontchannel-logout"];

export function isUnguarded(pathname: string): boolean {
  return pathname.startsWith("/api/auth/") || pathname.startsWith("/api/ssf/") || unguarded.includes(pathname);
}
