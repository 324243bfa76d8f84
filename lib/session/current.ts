import { getContext } from "@/lib/context";
import { openHandle, type SessionHandle } from "./handle";
import type { SessionRecord } from "./record";
import { checkSession } from "@/lib/revocation/check";
import type { EndReason } from "@/lib/revocation/verdict";

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
  return { state: "active", id: handle.lsid, handle, record };
}

/** For route handlers: the session cookie of a request. */
export function sessionCookie(request: Request): string | undefined {
  const { cookies } = getContext();
  const header = request.headers.get("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === cookies.session) return part.slice(eq + 1).trim();
  }
  return undefined;
}
