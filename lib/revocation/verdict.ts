import { sessionTag, type Keys } from "@/lib/store/keys";
import type { SessionHandle } from "@/lib/session/handle";

/** Why a session is over. Shown to the user on the signed-out page; never more detail than this. */
export const endReasons = [
  /** The user signed out in this app. */
  "logout",
  /** The IdP ended it (back-channel logout, an admin, or a revocation written to the list). */
  "revoked",
  /** The IdP ended it through front-channel logout. */
  "frontchannel_logout",
  /** The IdP's session changed or ended (Session Management's check_session_iframe). */
  "idp_session_changed",
  /** The user signed this device out from another one ("sign out this device" / "everywhere"). */
  "ended_elsewhere",
  /** A Shared Signals event (CAEP or RISC) from the IdP or a security system ended it. */
  "security_event",
  "expired",
  "refresh_failed",
  /** A liveness check found that the IdP no longer honours the session's grant (lib/liveness/). */
  "idp_refused",
] as const;
export type EndReason = (typeof endReasons)[number];

/**
 * How the news of an ending reached this app: the demo's lesson, shown beside the reason. The reason
 * says why a session ended; the mechanism says who carried the news. Recorded with the ending, never
 * taken from a request a browser could craft.
 */
export const endMechanisms = [
  /** OpenID Connect Back-Channel Logout: the IdP's server called ours. */
  "backchannel",
  /** OpenID Connect Front-Channel Logout: the IdP's logout page loaded ours in an iframe. */
  "frontchannel",
  /** Session Management: a tab's check_session_iframe saw a change and the silent re-check confirmed it. */
  "session_iframe",
  /** A Shared Signals (CAEP or RISC) event from the IdP or a security system. */
  "shared_signals",
  /** The user signed out in this browser (this tab or another tab of it). */
  "this_browser",
  /** The user signed this session out from another session ("sign out this device", "everywhere"). */
  "another_device",
  /** The IdP refused to renew the session's tokens. */
  "token_refresh",
  /** Lockstep's periodic re-check of an active session at the IdP (introspection, refresh or userinfo). */
  "liveness_check",
] as const;
export type EndMechanism = (typeof endMechanisms)[number];

export function isEndMechanism(value: unknown): value is EndMechanism {
  return typeof value === "string" && (endMechanisms as readonly string[]).includes(value);
}

export function isEndReason(value: unknown): value is EndReason {
  return typeof value === "string" && (endReasons as readonly string[]).includes(value);
}

export type Verdict = { active: true } | { active: false; reason: EndReason };

/**
 * The keys the guard reads, in the order `judge` expects their values. All in one hash slot, the
 * user's (lib/store/keys.ts): the lsid carries its user's tag, and the IdP-session mark is read in
 * the slot the lsid names.
 */
export function revocationKeys(k: Keys, handle: SessionHandle): string[] {
  return [
    k.revokedSession(handle.lsid),
    // A session without an IdP sid cannot be named by one; read a key that cannot exist instead.
    handle.sid ? k.revokedIdpSession(sessionTag(handle.lsid), handle.iss, handle.sid) : k.revokedSession(`${handle.lsid}:nosid`),
    k.revokedSubject(handle.iss, handle.sub),
  ];
}

/**
 * Encodes a subject-wide revocation: sessions created before `beforeMs` are over. The one format of
 * a subject mark, `before|reason`, which lib/store/revoke-script.ts's MARK_FUNCTION writes in Lua too.
 */
export function subjectMark(beforeMs: number, reason: EndReason): string {
  return `${beforeMs}|${reason}`;
}

/** A subject mark's time (ms), or undefined when there is none or it does not parse. */
export function subjectMarkBefore(mark: string | null): number | undefined {
  if (mark === null) return undefined;
  const before = Number(mark.split("|")[0]);
  return Number.isFinite(before) ? before : undefined;
}

/**
 * Decides from one Redis round trip whether a session may go on.
 * `recordExists` is whether the server-held record is still there; `values` are `revocationKeys`' values.
 */
export function judge(handle: SessionHandle, recordExists: boolean, values: readonly (string | null)[]): Verdict {
  const [bySession, byIdpSession, bySubject] = values;
  if (bySession != null) return { active: false, reason: isEndReason(bySession) ? bySession : "revoked" };
  if (byIdpSession != null) return { active: false, reason: isEndReason(byIdpSession) ? byIdpSession : "revoked" };
  if (bySubject != null) {
    const beforeMs = subjectMarkBefore(bySubject);
    const reason = bySubject.split("|")[1];
    // A malformed mark revokes: when in doubt, the session ends.
    if (beforeMs === undefined || handle.createdAt < beforeMs) {
      return { active: false, reason: isEndReason(reason) ? reason : "revoked" };
    }
  }
  if (!recordExists) return { active: false, reason: "expired" };
  return { active: true };
}
