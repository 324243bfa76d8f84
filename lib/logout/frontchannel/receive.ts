import { endSessions, findSessions, recordRevocation, type RevocationDeps } from "@/lib/revocation/revoke";

export type FrontchannelRequest = { iss: string | null; sid: string | null; cookieSessionId?: string };

export type FrontchannelOutcome =
  | { result: "ended"; sessionIds: string[] }
  | { result: "ignored"; code: "half_given" | "missing_iss_sid" | "wrong_issuer" | "unknown_sid" };

/**
 * Front-Channel Logout 1.0 §2 as the RP: the IdP loads our URL in an iframe, usually without our
 * cookies (SameSite), so the session is found on the server by (iss, sid).
 * FCL-03: iss and sid come together or not at all; a mismatch is ignored, never an error.
 * FCL-04: with frontchannel_logout_session_required, a request without them is ignored.
 */
export async function receiveFrontchannelLogout(
  request: FrontchannelRequest,
  deps: RevocationDeps & { issuer: string; sessionRequired: boolean },
): Promise<FrontchannelOutcome> {
  const { iss, sid } = request;
  if ((iss === null) !== (sid === null)) return { result: "ignored", code: "half_given" };
  if (iss === null || sid === null) {
    // Without iss and sid only the cookie can name the session, and only if the client allows it.
    if (deps.sessionRequired || !request.cookieSessionId) return { result: "ignored", code: "missing_iss_sid" };
    const record = await deps.store.end(request.cookieSessionId, "frontchannel_logout");
    return { result: "ended", sessionIds: record ? [request.cookieSessionId] : [] };
  }
  if (iss !== deps.issuer) return { result: "ignored", code: "wrong_issuer" };
  const target = { kind: "idp-session" as const, iss, sid };
  const sessions = await findSessions(deps, target);
  if (sessions.length === 0) return { result: "ignored", code: "unknown_sid" };
  await recordRevocation(deps, target, "frontchannel_logout");
  await endSessions(deps, target, "frontchannel_logout");
  return { result: "ended", sessionIds: sessions.map((s) => s.id) };
}
