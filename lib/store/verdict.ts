import { sessionTag, type Keys } from "./keys";
import type { SessionHandle } from "@/lib/session/handle";
import { isEndReason, type EndReason } from "@/lib/session/ending";

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
