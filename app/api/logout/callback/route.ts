import { getServer } from "@/lib/compose/node";
import { readCookie, serializeCookie } from "@/lib/http/cookies";
import { redirectTo } from "@/lib/guard/responses";
import { isExpectedLogoutState, LOGOUT_CALLBACK_PATH, parseLogoutStateCookie } from "@/lib/logout/rp-initiated";
import { securityLog } from "@/lib/log/security-log";

export const dynamic = "force-dynamic";

/**
 * GET /api/logout/callback: where the IdP sends the browser after RP-initiated logout.
 * A missing or different `state` is not trusted (RP-Initiated Logout §3): the local logout stands, and the user
 * sees a neutral page that does not claim the IdP signed them out. No continuation, no redirect param.
 */
export async function GET(request: Request): Promise<Response> {
  const { config, cookies } = getServer();
  const returned = new URL(request.url).searchParams.get("state");
  const expected = parseLogoutStateCookie(readCookie(request, cookies.logoutState));
  const trusted = isExpectedLogoutState(returned, expected.state);
  securityLog({ event: "logout.idp_return", outcome: trusted ? "ok" : "rejected", code: trusted ? undefined : "state_mismatch" });
  // What is known: the IdP confirmed (state came back) or not; the sign-out here completed or not.
  const reason = expected.incomplete ? (trusted ? "logout_incomplete" : "logout_incomplete_unconfirmed") : trusted ? "logout" : "logout_unconfirmed";
  const target = new URL(`/signed-out?reason=${reason}`, config.AUTH_URL);
  return redirectTo(
    target,
    serializeCookie(cookies.logoutState, "", { path: LOGOUT_CALLBACK_PATH, maxAge: 0, secure: cookies.secure }),
  );
}
