import { route } from "@/lib/http/route";
import { getServer } from "@/lib/compose/server";
import { afterAnswer } from "@/lib/http/after-answer";
import { handleLogoutToken } from "@/lib/logout/backchannel/handle";
import { LogoutTokenError, type LogoutTokenErrorCode } from "@/lib/logout/backchannel/errors";

export const dynamic = "force-dynamic";

const MAX_BODY_BYTES = 64 * 1024;
const headers = { "Cache-Control": "no-store" };

/** BCL §2.8: 400 invalid_request for anything invalid, 503 temporarily_unavailable when the IdP should retry. */
function refuse(e: LogoutTokenError): Response {
  const body =
    e.status === 503
      ? { error: "temporarily_unavailable", error_description: `${e.code}: ${e.message}` }
      : { error: "invalid_request", error_description: `${e.code}: ${e.message} (${e.spec})` };
  return Response.json(body, { status: e.status, headers });
}

const refuseWith = (code: LogoutTokenErrorCode) => refuse(new LogoutTokenError(code));

/**
 * POST /api/backchannel-logout: OpenID Connect Back-Channel Logout 1.0 (errata set 1).
 * 200 when the logout is stored (or was already); 400 invalid_request for any invalid input;
 * 503 when it could not be stored, so that the IdP retries (BCL §2.8). Always no-store.
 */
export const POST = route(async function POST(request: Request): Promise<Response> {
  // BCL §2.5: application/x-www-form-urlencoded with logout_token; other parameters are ignored.
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return refuseWith("unsupported_content_type");
  const body = await request.text();
  if (body.length > MAX_BODY_BYTES) return refuseWith("body_too_large");
  const tokens = new URLSearchParams(body).getAll("logout_token");
  if (tokens.length > 1) return refuseWith("duplicate_parameter");

  try {
    // 200 once the revocation is stored; deleting tokens and revoking refresh tokens at the IdP follow the answer.
    const { timings } = await handleLogoutToken({ ...getServer(), defer: afterAnswer }, tokens[0] ?? "");
    const serverTiming = Object.entries(timings)
      .map(([stage, ms]) => `${stage};dur=${ms.toFixed(2)}`)
      .join(", ");
    return new Response(null, { status: 200, headers: { ...headers, "Server-Timing": serverTiming } });
  } catch (e) {
    // Anything unforeseen is ours, not the token's: ask the IdP to retry.
    return refuse(e instanceof LogoutTokenError ? e : new LogoutTokenError("store_unavailable"));
  }
});
