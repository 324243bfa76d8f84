import { getContext } from "@/lib/context";
import { openHandle, type SessionHandle } from "./handle";
import type { SessionRecord } from "./record";
import { checkSession } from "@/lib/revocation/check";
import type { EndReason } from "@/lib/revocation/verdict";
import { readCookie } from "@/lib/http/cookies";
import { refreshStaleClaims } from "./claims";
import { clearCookie, unauthorizedJson, unavailable } from "@/lib/guard/responses";

export type CurrentSession =
  | { state: "none" }
  | { state: "ended"; reason: EndReason }
  | { state: "active"; id: string; handle: SessionHandle; record: SessionRecord };

/**
 * The second gate, for route handlers and server components: the same revocation check as the
 * edge guard, then the server-held record. Throws when Redis cannot answer.
 */
export async function currentSession(sealed: string | undefined): Promise<CurrentSession> {
  if (!sealed) return { state: "none" };
  const { config, redis, keys, store, cookies } = getContext();
  let handle: SessionHandle;
  try {
    handle = await openHandle(sealed, config.AUTH_SECRET, cookies.session);
  } catch {
    return { state: "ended", reason: "expired" };
  }
  const verdict = await checkSession(redis, keys, handle);
  if (!verdict.active) return { state: "ended", reason: verdict.reason };
  const record = await store.read(handle.lsid);
  if (!record) return { state: "ended", reason: "expired" };
  return { state: "active", id: handle.lsid, handle, record: await refreshStaleClaims(handle.lsid, record) };
}

/** For route handlers: the session cookie of a request. */
export function sessionCookie(request: Request): string | undefined {
  return readCookie(request, getContext().cookies.session);
}

export type ActiveSession = Extract<CurrentSession, { state: "active" }>;

/**
 * The gate of every route handler that needs a live session: the session, or the answer to give
 * instead (401 JSON with the reason, clearing a cookie that names an ended session; 503 when Redis
 * cannot answer).
 */
export async function requireSession(request: Request): Promise<{ session: ActiveSession } | { response: Response }> {
  const { cookies } = getContext();
  let current: CurrentSession;
  try {
    current = await currentSession(sessionCookie(request));
  } catch {
    return { response: unavailable(true) };
  }
  if (current.state === "none") return { response: unauthorizedJson("no_session") };
  if (current.state === "ended") return { response: unauthorizedJson(current.reason, clearCookie(cookies.session, cookies.secure)) };
  return { session: current };
}
