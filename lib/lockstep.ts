import { getServer } from "@/lib/compose/server";
import { requireSession as requireSessionWith, type ActiveSession } from "@/lib/session/current";
import { currentSessionFromCookies, type PageSession } from "@/lib/session/server-component";

/**
 * What an app built on Lockstep needs, in one module (Node runtime: route handlers, server actions,
 * server components). Each call asks the revocation list first, so an ended session is never
 * served, and none ever hands a token to the caller's response.
 *
 * ```ts
 * import { getSession, requireSession, fetchApi } from "@/lib/lockstep";
 * ```
 */

export type { ActiveSession, PageSession };
export { fetchApi, type FetchApiInit } from "@/lib/api/fetch-api";

/**
 * The session of this request, for server components and server actions (it reads the request's
 * cookies through `next/headers`): `active` with its record (claims, times; tokens stay in it, never
 * send them), `ended` with the reason, `none`, or `unavailable` when the session store cannot answer.
 * Never throws a store error.
 *
 * ```tsx
 * const session = await getSession();
 * if (session.state !== "active") redirect("/");
 * return <p>Hello {session.record.claims.name}</p>;
 * ```
 */
export function getSession(): Promise<PageSession> {
  return currentSessionFromCookies();
}

/**
 * The gate of a route handler that needs a session: the session, or the answer to give instead (401
 * JSON with the reason, clearing an ended session's cookie; 503 when the store cannot answer).
 *
 * ```ts
 * export async function GET(request: Request) {
 *   const gate = await requireSession(request);
 *   if ("response" in gate) return gate.response;
 *   return Response.json({ sub: gate.session.record.sub });
 * }
 * ```
 */
export function requireSession(request: Request): Promise<{ session: ActiveSession } | { response: Response }> {
  return requireSessionWith(getServer().gate, request);
}
