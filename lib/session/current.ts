import { openHandle, type SessionHandle } from "./handle";
import type { SessionRecord } from "./record";
import type { EndReason } from "@/lib/session/ending";
import type { RevocationList, SessionStore } from "@/lib/store/ports";
import { readCookie } from "@/lib/http/cookies";
import { clearCookie, unauthorizedJson, unavailable } from "@/lib/http/responses";
import { endedNoteCookie, noteOf } from "./ended";
import { noteSeen } from "./last-seen";

export type CurrentSession =
  | { state: "none" }
  /** `handle`: the session's ids, when its cookie still opened (for the signed-out page's note). */
  | { state: "ended"; reason: EndReason; handle?: SessionHandle }
  | { state: "active"; id: string; handle: SessionHandle; record: SessionRecord };

export type ActiveSession = Extract<CurrentSession, { state: "active" }>;

export type CurrentSessionDeps = {
  config: { AUTH_SECRET: string };
  cookies: { session: string; ended: string; secure: boolean };
  /** `touch`, when given, records "last seen" (throttled: lib/session/last-seen.ts). */
  sessions: Pick<SessionStore, "read"> & Partial<Pick<SessionStore, "touch">>;
  revocations: Pick<RevocationList, "check">;
  /** CAEP token-claims-change: gives a session marked stale its fresh claims (lib/session/claims.ts). */
  refreshClaims?: (id: string, record: SessionRecord) => Promise<SessionRecord>;
  /**
   * Re-checks the session at the IdP when it is due (lib/liveness/monitor.ts): "ended" when the IdP
   * refused it; undefined, at once, when there is nothing to check now.
   */
  liveness?: (id: string) => Promise<"live" | "ended" | "skipped"> | undefined;
  /**
   * An ending this process accepted but could not store yet (lib/revocation/pending.ts) that names
   * this session: its reason. Asked before the store, so that such a session is refused here while the
   * store is down and after it is back, until the ending is stored.
   */
  pendingEnd?: (handle: SessionHandle) => EndReason | undefined;
};

/**
 * How long a request waits for a due liveness check before it is answered anyway. The check goes on
 * and ends the session if the IdP refuses it; a slow IdP is not a reason to refuse.
 */
export const LIVENESS_WAIT_MS = 3_000;

function within<T>(pending: Promise<T>, ms: number, otherwise: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(otherwise), ms);
  });
  return Promise.race([pending, late]).finally(() => clearTimeout(timer));
}

/**
 * The second gate, for route handlers and server components: the same revocation check as the
 * guard, then the server-held record. Throws when the store cannot answer.
 */
export async function currentSession(deps: CurrentSessionDeps, sealed: string | undefined): Promise<CurrentSession> {
  if (!sealed) return { state: "none" };
  let handle: SessionHandle;
  try {
    handle = await openHandle(sealed, deps.config.AUTH_SECRET, deps.cookies.session);
  } catch {
    return { state: "ended", reason: "expired" };
  }
  const pending = deps.pendingEnd?.(handle);
  if (pending) return { state: "ended", reason: pending, handle };
  // The record is read while the revocation list is asked (one round trip of waiting, not two); it
  // is used only once the list says the session lives, and a failed read is then the answer.
  const reading = deps.sessions.read(handle.lsid);
  reading.catch(() => undefined);
  const verdict = await deps.revocations.check(handle);
  if (!verdict.active) return { state: "ended", reason: verdict.reason, handle };
  const record = await reading;
  if (!record) return { state: "ended", reason: "expired", handle };
  // Liveness: a session whose last check at the IdP is an interval old is checked before it is served.
  const due = deps.liveness?.(handle.lsid);
  if (due && (await within(due, LIVENESS_WAIT_MS, "skipped" as const)) === "ended") {
    return { state: "ended", reason: "idp_refused", handle };
  }
  const fresh = record.claimsStale && deps.refreshClaims ? await deps.refreshClaims(handle.lsid, record) : record;
  return { state: "active", id: handle.lsid, handle, record: fresh };
}

/** For route handlers: the session cookie of a request. */
export function sessionCookie(deps: Pick<CurrentSessionDeps, "cookies">, request: Request): string | undefined {
  return readCookie(request, deps.cookies.session);
}

/**
 * The gate of every route handler that needs a live session: the session, or the answer to give
 * instead (401 JSON with the reason, clearing a cookie that names an ended session; 503 when the
 * store cannot answer).
 */
export async function requireSession(
  deps: CurrentSessionDeps,
  request: Request,
): Promise<{ session: ActiveSession } | { response: Response }> {
  let current: CurrentSession;
  try {
    current = await currentSession(deps, sessionCookie(deps, request));
  } catch {
    return { response: unavailable(true) };
  }
  if (current.state === "none") return { response: unauthorizedJson("no_session") };
  if (current.state === "ended") {
    const response = unauthorizedJson(current.reason, clearCookie(deps.cookies.session, deps.cookies.secure));
    if (current.handle) {
      response.headers.append(
        "Set-Cookie",
        await endedNoteCookie(noteOf(current.handle), {
          secret: deps.config.AUTH_SECRET,
          name: deps.cookies.ended,
          secure: deps.cookies.secure,
        }),
      );
    }
    return { response };
  }
  noteSeen(deps.sessions, current.id);
  return { session: current };
}
