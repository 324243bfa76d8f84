import { endSessions, type EndDeps } from "@/lib/revocation/end-sessions";

export type FrontchannelRequest = { iss: string | null; sid: string | null; cookieSessionId?: string };

export type FrontchannelOutcome =
  | { result: "ended"; sessionIds: string[] }
  | { result: "ignored"; code: "half_given" | "missing_iss_sid" | "wrong_issuer" | "unknown_sid" };

/**
 * Front-Channel Logout 1.0 §2 as the RP: the IdP loads our URL in an iframe, usually without our
 * cookies (SameSite), so the session is found on the server by (iss, sid). The request is not
 * authenticated, so an unknown sid writes nothing (anyone may call this URL).
 * FCL §2: iss and sid come together or not at all; a mismatch is ignored, never an error.
 * FCL §2: with frontchannel_logout_session_required, a request without them is ignored.
 */
export async function receiveFrontchannelLogout(
  request: FrontchannelRequest,
  deps: EndDeps & { issuer: string; sessionRequired: boolean },
): Promise<FrontchannelOutcome> {
  const { iss, sid } = request;
  if ((iss === null) !== (sid === null)) return { result: "ignored", code: "half_given" };
  if (iss === null || sid === null) {
    // Without iss and sid only the cookie can name the session, and only if the client allows it.
    if (deps.sessionRequired || !request.cookieSessionId) return { result: "ignored", code: "missing_iss_sid" };
    const outcome = await endSessions(deps, [{ kind: "session", id: request.cookieSessionId }], "frontchannel_logout", {
      knownOnly: true,
      detail: { mechanism: "frontchannel" },
    });
    return { result: "ended", sessionIds: outcome.ended.map((s) => s.id) };
  }
  if (iss !== deps.issuer) return { result: "ignored", code: "wrong_issuer" };
  const outcome = await endSessions(deps, [{ kind: "idp-session", iss, sid }], "frontchannel_logout", {
    knownOnly: true,
    detail: { mechanism: "frontchannel" },
  });
  if (outcome.result !== "ended") return { result: "ignored", code: "unknown_sid" };
  return { result: "ended", sessionIds: outcome.ended.map((s) => s.id) };
}
