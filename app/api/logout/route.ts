import { serializeCookie } from "@/lib/http/cookies";
import { getServer } from "@/lib/compose/node";
import { endSessions } from "@/lib/revocation/end-sessions";
import { currentSession, sessionCookie } from "@/lib/session/current";
import { isSameOriginRequest } from "@/lib/http/same-origin";
import { clearCookie, redirectTo } from "@/lib/guard/responses";
import { getIdpMetadata } from "@/lib/oidc/client";
import { endSessionUrl, LOGOUT_CALLBACK_PATH, newLogoutState } from "@/lib/logout/rp-initiated";
import { hashId, securityLog } from "@/lib/log/security-log";

export const dynamic = "force-dynamic";

/**
 * POST /api/logout: ends the local session, then sends the browser to the IdP's
 * end_session_endpoint (RP-Initiated Logout 1.0) with a state bound to this browser.
 * With the form field `scope=everywhere`, the user's other sessions at this app end too.
 */
export async function POST(request: Request): Promise<Response> {
  const server = getServer();
  const { config, cookies } = server;
  if (!isSameOriginRequest(request, config.AUTH_URL)) {
    securityLog({ event: "logout.local", outcome: "rejected", code: "cross_site" });
    return Response.json({ error: "forbidden", error_description: "Cross-site logout requests are refused." }, { status: 403 });
  }

  const current = await currentSession(server.gate, sessionCookie(server, request));
  const ended = current.state === "active" ? current.record : null;
  if (current.state === "active") {
    await endSessions(server.ending, [{ kind: "session", id: current.id, record: current.record }], "logout");
    const form = await request.formData().catch(() => undefined);
    const everywhere = form?.get("scope") === "everywhere";
    if (everywhere) {
      // Every other session of this user at this app, including one signing in right now.
      const user = { iss: current.record.iss, sub: current.record.sub };
      await endSessions(server.ending, [{ kind: "subject", ...user, beforeMs: server.ending.now() + 1 }], "ended_elsewhere");
    }
    securityLog({ event: "logout.local", outcome: "ok", code: everywhere ? "everywhere" : "this_session", session: hashId(current.id) });
  }

  const signedOut = new URL("/signed-out?reason=logout", config.AUTH_URL);
  const response = redirectTo(signedOut, clearCookie(cookies.session, cookies.secure));
  if (!ended) return response;

  const endpoint = (await getIdpMetadata().catch(() => undefined))?.end_session_endpoint;
  if (!endpoint) return response;
  const state = newLogoutState();
  const target = endSessionUrl(endpoint, {
    idTokenHint: ended.idToken,
    postLogoutRedirectUri: new URL(LOGOUT_CALLBACK_PATH, config.AUTH_URL).toString(),
    state,
    clientId: config.OIDC_CLIENT_ID,
  });
  const headers = new Headers(response.headers);
  headers.set("Location", target.toString());
  headers.append(
    "Set-Cookie",
    serializeCookie(cookies.logoutState, state, { path: LOGOUT_CALLBACK_PATH, maxAge: 600, secure: cookies.secure }),
  );
  return new Response(null, { status: 303, headers });
}
