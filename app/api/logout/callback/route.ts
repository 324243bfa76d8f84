import { route } from "@/lib/http/route";
import { getServer } from "@/lib/compose/server";
import { readCookie, serializeCookie } from "@/lib/http/cookies";
import { redirectTo } from "@/lib/http/responses";
import { isExpectedLogoutState, LOGOUT_CALLBACK_PATH, parseLogoutStateCookie } from "@/lib/logout/rp-initiated";
import { securityLog } from "@/lib/log/security-log";
import { endedNoteCookie, readEndedNote } from "@/lib/session/ended";

export const dynamic = "force-dynamic";

/**
 * GET /api/logout/callback: where the IdP sends the browser after RP-initiated logout.
 * A missing or different `state` is not trusted (RP-Initiated Logout §3): the local logout stands, and the user
 * sees a page that does not claim the IdP took part. No continuation, no redirect param.
 *
 * What a matching state proves is that the IdP handled this browser's sign-out request and sent it
 * back; not that it ended its own session (an IdP may offer to sign out of this app only, and comes
 * back with the same state). The signed-out page says exactly that. What is known is written into
 * this browser's sealed ended-session note; the URL carries nothing.
 */
export const GET = route(async function GET(request: Request): Promise<Response> {
  const { config, cookies } = getServer();
  const returned = new URL(request.url).searchParams.get("state");
  const expected = parseLogoutStateCookie(readCookie(request, cookies.logoutState));
  const trusted = isExpectedLogoutState(returned, expected.state);
  securityLog({ event: "logout.idp_return", outcome: trusted ? "ok" : "rejected", code: trusted ? undefined : "state_mismatch" });
  const response = redirectTo(
    new URL("/signed-out", config.AUTH_URL),
    serializeCookie(cookies.logoutState, "", { path: LOGOUT_CALLBACK_PATH, maxAge: 0, secure: cookies.secure }),
  );
  const note = await readEndedNote(readCookie(request, cookies.ended), config.AUTH_SECRET, cookies.ended);
  // Only a note that says this browser went to the IdP moves on; one from another ending stays as it is.
  if (note && note.logout) {
    const updated = { ...note, logout: trusted ? ("returned" as const) : ("not_returned" as const) };
    response.headers.append(
      "Set-Cookie",
      await endedNoteCookie(updated, { secret: config.AUTH_SECRET, name: cookies.ended, secure: cookies.secure }),
    );
  }
  return response;
});
