import { route } from "@/lib/http/route";
import { serializeCookie } from "@/lib/http/cookies";
import { getServer } from "@/lib/compose/server";
import { endSessions, type EndDeps, type EndTarget } from "@/lib/revocation/end-sessions";
import type { EndMechanism, EndReason } from "@/lib/session/ending";
import { currentSession, sessionCookie } from "@/lib/session/current";
import { openHandle, type SessionHandle } from "@/lib/session/handle";
import { isSameOriginRequest } from "@/lib/http/same-origin";
import { clearCookie, redirectTo } from "@/lib/http/responses";
import { getIdpMetadata } from "@/lib/oidc/client";
import {
  autoPostPage,
  endSessionRequest,
  endSessionUrl,
  LOGOUT_CALLBACK_PATH,
  logoutStateCookie,
  newLogoutState,
} from "@/lib/logout/rp-initiated";
import { hashId, securityLog } from "@/lib/log/security-log";
import { endedNoteCookie, noteOf } from "@/lib/session/ended";
import { afterAnswer } from "@/lib/http/after-answer";
import { tracedRpLogout } from "@/lib/telemetry/receivers";

export const dynamic = "force-dynamic";

/**
 * POST /api/logout: ends the local session, then sends the browser to the IdP's
 * end_session_endpoint (RP-Initiated Logout 1.0) with a state bound to this browser.
 * With the form field `scope=everywhere`, the user's other sessions at this app end too.
 *
 * When the session store cannot be reached, the sign-out still happens where it can: the cookie
 * is cleared, the ending is queued on this process and stored as soon as the store answers again
 * (lib/revocation/pending.ts; until then this process refuses the session), and the browser still
 * goes to the IdP (naming this client; no ID token can be read), so that the IdP ends its session
 * too. The signed-out page says that the sign-out here is not yet complete.
 */
async function logout(request: Request): Promise<Response> {
  const server = getServer();
  const { config, cookies } = server;
  if (!isSameOriginRequest(request, config.AUTH_URL)) {
    securityLog({ event: "logout.local", outcome: "rejected", code: "cross_site" });
    return Response.json({ error: "forbidden", error_description: "Cross-site logout requests are refused." }, { status: 403 });
  }

  const form = await request.formData().catch(() => undefined);
  // The account page's script asks for JSON (it tells the browser's other tabs once this answer is in).
  const json = (request.headers.get("accept") ?? "").includes("application/json");
  const sealed = sessionCookie(server, request);
  let idToken: string | undefined;
  let handle: SessionHandle | undefined;
  let incomplete = false;
  try {
    const current = await currentSession(server.gate, sealed);
    if (current.state === "active") {
      handle = current.handle;
      idToken = current.record.idToken;
      await endSessions(server.ending, [{ kind: "session", id: current.id, record: current.record }], "logout", {
        detail: { mechanism: "this_browser" },
        // The revocation is stored before the redirect; deleting the session's tokens follows it.
        defer: afterAnswer,
      });
      const everywhere = form?.get("scope") === "everywhere";
      if (everywhere) {
        // Every other session of this user at this app, including one signing in right now.
        const user = { iss: current.record.iss, sub: current.record.sub };
        await endSessions(server.ending, [{ kind: "subject", ...user, beforeMs: server.ending.now() + 1 }], "ended_elsewhere", {
          detail: { mechanism: "another_device" },
          defer: afterAnswer,
        });
      }
      securityLog({ event: "logout.local", outcome: "ok", code: everywhere ? "everywhere" : "this_session", session: hashId(current.id) });
    }
  } catch {
    // The store is down: the cookie still names who is signing out, and what it asked is stored once the store is back.
    incomplete = true;
    handle = sealed ? await openHandle(sealed, config.AUTH_SECRET, cookies.session).catch(() => undefined) : undefined;
    const queued = handle ? queueLocalLogout(server.ending, handle, form?.get("scope") === "everywhere") : false;
    securityLog({ event: "logout.local", outcome: "error", code: "store_unavailable", session: hashId(handle?.lsid), queued });
  }

  const clear = clearCookie(cookies.session, cookies.secure);
  const signedOut = new URL("/signed-out", config.AUTH_URL);
  const noteDeps = { secret: config.AUTH_SECRET, name: cookies.ended, secure: cookies.secure };
  // "At the IdP too", from the signed-out page after a sign-out the IdP may not have ended its own
  // session: nothing is left here to end, the browser only goes to the IdP (whose page asks).
  const idpOnly = !handle && form?.get("scope") === "idp";
  if (!handle && !idpOnly) return leave(signedOut, [clear], json);

  const endpoint = (await getIdpMetadata().catch(() => undefined))?.end_session_endpoint;
  if (!endpoint) {
    const note = handle ? [await endedNoteCookie(noteOf(handle, { incomplete }), noteDeps)] : [];
    return leave(signedOut, [clear, ...note], json);
  }
  const state = newLogoutState();
  const endSession = endSessionRequest(endpoint, {
    idTokenHint: config.OIDC_END_SESSION_ID_TOKEN_HINT === "post" ? idToken : undefined,
    postLogoutRedirectUri: new URL(LOGOUT_CALLBACK_PATH, config.AUTH_URL).toString(),
    state,
    clientId: config.OIDC_CLIENT_ID,
  });
  const set = [
    clear,
    // The signed-out page's note: which session this browser signed out, and that it went to the IdP.
    ...(handle ? [await endedNoteCookie(noteOf(handle, { incomplete, logout: "sent" }), noteDeps)] : []),
    serializeCookie(cookies.logoutState, logoutStateCookie(state, incomplete), {
      path: LOGOUT_CALLBACK_PATH,
      maxAge: 600,
      secure: cookies.secure,
    }),
  ];
  // An ID token hint goes only in a form the browser posts (never in a URL, never to a script):
  // that answer is the auto-submitted page, whatever was asked (the page asks for JSON only without one).
  if (!endSession.fields.id_token_hint) return leave(endSessionUrl(endSession), set, json);
  const response = await autoPostPage(endSession, "Signing you out at your identity provider…");
  for (const cookie of set) response.headers.append("Set-Cookie", cookie);
  return response;
}

/**
 * Queues a sign-out the store could not take: this session, and with `everywhere` every session of
 * its user that started before now. Stored by the same endSessions calls, once the store answers.
 */
function queueLocalLogout(ending: EndDeps, handle: SessionHandle, everywhere: boolean): boolean {
  const queue = (key: string, target: EndTarget, reason: EndReason, mechanism: EndMechanism) =>
    ending.pending?.add({
      key,
      kind: "local_logout",
      reason,
      targets: [target],
      apply: async () => void (await endSessions(ending, [target], reason, { detail: { mechanism } })),
    }) ?? false;
  const queued = queue(`logout ${handle.lsid}`, { kind: "session", id: handle.lsid }, "logout", "this_browser");
  if (!everywhere) return queued;
  const user: EndTarget = { kind: "subject", iss: handle.iss, sub: handle.sub, beforeMs: ending.now() + 1 };
  return queue(`logout ${handle.lsid} everywhere`, user, "ended_elsewhere", "another_device") && queued;
}

/**
 * Where the browser goes next: a 303 for the form, or for the page's script (Accept: application/json)
 * `200 {"next": url}` with the same cookies, after which the script tells the other tabs and goes
 * there. The URL never carries a token.
 */
function leave(to: URL, setCookies: string[], json: boolean): Response {
  const response = json ? Response.json({ next: to.toString() }, { headers: { "Cache-Control": "no-store" } }) : redirectTo(to);
  for (const cookie of setCookies) response.headers.append("Set-Cookie", cookie);
  return response;
}

/** The logout, in a span with its outcome when an OpenTelemetry SDK runs (lib/telemetry/receivers.ts). */
export const POST = route(tracedRpLogout(logout));
