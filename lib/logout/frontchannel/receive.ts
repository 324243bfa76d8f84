import { endSessions, type EndDeps, type EndTarget } from "@/lib/revocation/end-sessions";
import { tracedFrontchannel } from "@/lib/telemetry/receivers";

export type FrontchannelRequest = {
  iss: string | null;
  sid: string | null;
  /** The live session the request's session cookie names, if it carried one that opens to an active session. */
  cookieSessionId?: string;
  /**
   * Whether the request carried the app's session cookie at all, live or not. Default: whether
   * `cookieSessionId` is given. A frame on another site than the app's carries none (SameSite=Lax).
   */
  cookieSent?: boolean;
};

/**
 * Why a request was ignored. Without iss and sid: `missing_iss_sid` when the client registered
 * frontchannel_logout_session_required (FCL_SESSION_REQUIRED), otherwise `no_iss_sid_no_cookie` (the
 * frame carried no session cookie: usually the IdP's page is on another site, whose frames the browser
 * sends no SameSite=Lax cookie, so only iss and sid could have named the session) or
 * `no_iss_sid_no_session` (its cookie names no live session: nothing left to end).
 */
export type FrontchannelIgnored =
  "half_given" | "missing_iss_sid" | "no_iss_sid_no_cookie" | "no_iss_sid_no_session" | "wrong_issuer" | "unknown_sid";

export type FrontchannelOutcome = { result: "ended"; sessionIds: string[] } | { result: "ignored"; code: FrontchannelIgnored };

/**
 * Front-Channel Logout 1.0 §2 as the RP: the IdP loads our URL in an iframe, usually without our
 * cookies (SameSite), so the session is found on the server by (iss, sid). The request is not
 * authenticated, so an unknown sid writes nothing (anyone may call this URL).
 * FCL §2: iss and sid come together or not at all; a mismatch is ignored, never an error.
 * FCL §2: with frontchannel_logout_session_required, a request without them is ignored; without it,
 * such a request can end only the session its cookie names (FCL §3: the cookie is all the RP has then).
 */
async function receiveFrontchannelLogoutUntraced(
  request: FrontchannelRequest,
  deps: EndDeps & { issuer: string; sessionRequired: boolean },
): Promise<FrontchannelOutcome> {
  const { iss, sid } = request;
  if ((iss === null) !== (sid === null)) return { result: "ignored", code: "half_given" };
  if (iss === null || sid === null) {
    // Without iss and sid only the cookie can name the session, and only if the client allows it.
    if (deps.sessionRequired) return { result: "ignored", code: "missing_iss_sid" };
    if (!request.cookieSessionId) {
      const cookieSent = request.cookieSent ?? false;
      return { result: "ignored", code: cookieSent ? "no_iss_sid_no_session" : "no_iss_sid_no_cookie" };
    }
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

/**
 * A front-channel logout the store could not take, queued on `deps.pending` to be stored once it
 * answers (still `knownOnly`: a made-up sid writes nothing then either). Named by iss and sid (of this
 * issuer only), or, where FCL §3 allows it, by the session the request's cookie opened to.
 */
export function queueFrontchannelLogout(
  request: { iss: string | null; sid: string | null; cookieSessionId?: string },
  deps: EndDeps & { issuer: string; sessionRequired: boolean },
): boolean {
  let target: EndTarget;
  if (request.iss !== null && request.sid !== null) {
    if (request.iss !== deps.issuer) return false;
    target = { kind: "idp-session", iss: request.iss, sid: request.sid };
  } else if (request.iss === null && request.sid === null && !deps.sessionRequired && request.cookieSessionId) {
    target = { kind: "session", id: request.cookieSessionId };
  } else return false;
  return (
    deps.pending?.add({
      key: `fcl ${target.kind === "session" ? target.id : `${target.iss} ${target.sid}`}`,
      kind: "frontchannel_logout",
      reason: "frontchannel_logout",
      targets: [target],
      apply: async () =>
        void (await endSessions(deps, [target], "frontchannel_logout", { knownOnly: true, detail: { mechanism: "frontchannel" } })),
    }) ?? false
  );
}

/** receiveFrontchannelLogout, in a span with its outcome when an OpenTelemetry SDK runs (lib/telemetry/receivers.ts). */
export const receiveFrontchannelLogout = tracedFrontchannel(receiveFrontchannelLogoutUntraced);
