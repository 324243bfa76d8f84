import { route } from "@/lib/http/route";
import { requireSession } from "@/lib/session/current";
import { clearCookie, unauthorizedJson, unavailable } from "@/lib/http/responses";
import { StoreError } from "@/lib/store/errors";
import { getServer } from "@/lib/compose/server";
import { getAccessToken, SessionEndedError } from "@/lib/session/refresh";
import { fetchUserinfo, UserinfoError } from "@/lib/oidc/userinfo";

export const dynamic = "force-dynamic";

/**
 * GET /api/userinfo: a BFF call made with the server-held access token (refreshed when near
 * expiry). The browser gets the IdP's answer, never the token. When the IdP refuses the access
 * token (401, RFC 6750 §3.1), the session's refresh token is tried once and the call made again; a
 * refused refresh ends the session (401 `refresh_failed`), as when a sign-out or a revoked grant at
 * the IdP raced this request.
 */
export const GET = route(async function GET(request: Request): Promise<Response> {
  const server = getServer();
  const gate = await requireSession(server.gate, request);
  if ("response" in gate) return gate.response;
  const current = gate.session;
  const clear = clearCookie(server.cookies.session, server.cookies.secure);
  const upstreamError = (status?: number) =>
    Response.json({ error: "upstream_error", status }, { status: 502, headers: { "Cache-Control": "no-store" } });

  let refused: string | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    let accessToken: string;
    try {
      accessToken = await getAccessToken(server.refresh, current.id, refused);
    } catch (error) {
      if (error instanceof SessionEndedError) return unauthorizedJson("refresh_failed", clear);
      if (error instanceof StoreError) return unavailable(true);
      return upstreamError();
    }
    try {
      const claims = await fetchUserinfo(accessToken, current.record.sub);
      return Response.json({ claims }, { headers: { "Cache-Control": "no-store" } });
    } catch (error) {
      const status = error instanceof UserinfoError ? error.status : undefined;
      if (status !== 401 || refused) return upstreamError(status);
      refused = accessToken;
    }
  }
  return upstreamError();
});
