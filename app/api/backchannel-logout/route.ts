import { handleLogoutToken } from "@/lib/logout/backchannel";
import { LogoutTokenError } from "@/lib/logout/backchannel/errors";

export const dynamic = "force-dynamic";

const MAX_BODY_BYTES = 64 * 1024;
const headers = { "Cache-Control": "no-store" };

function error(status: 400 | 503 | 500, error: string, description: string): Response {
  return Response.json({ error, error_description: description }, { status, headers });
}

/**
 * POST /api/backchannel-logout: OpenID Connect Back-Channel Logout 1.0 (errata set 1).
 * 200 when the logout is stored (or was already); 400 invalid_request for any invalid input;
 * 503 when it could not be stored, so that the IdP retries (BCL §2.8). Always no-store.
 */
export async function POST(request: Request): Promise<Response> {
  // BCL §2.5: application/x-www-form-urlencoded with logout_token; other parameters are ignored.
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    return error(400, "invalid_request", "unsupported_content_type: send application/x-www-form-urlencoded (BCL §2.5).");
  }
  const body = await request.text();
  if (body.length > MAX_BODY_BYTES) return error(400, "invalid_request", "body_too_large: the request body is too large.");
  const tokens = new URLSearchParams(body).getAll("logout_token");
  if (tokens.length > 1) return error(400, "invalid_request", "duplicate_parameter: logout_token was given more than once.");

  try {
    const { timings } = await handleLogoutToken(tokens[0] ?? "");
    const serverTiming = Object.entries(timings)
      .map(([stage, ms]) => `${stage};dur=${ms.toFixed(2)}`)
      .join(", ");
    return new Response(null, { status: 200, headers: { ...headers, "Server-Timing": serverTiming } });
  } catch (e) {
    if (e instanceof LogoutTokenError) {
      return e.status === 503
        ? error(503, "temporarily_unavailable", `${e.code}: ${e.message}`)
        : error(400, "invalid_request", `${e.code}: ${e.message} (${e.spec})`);
    }
    return error(500, "server_error", "internal_error: the logout could not be processed; try again.");
  }
}
