import { requireSession } from "@/lib/session/current";
import { clearCookie, unauthorizedJson, unavailable } from "@/lib/guard/responses";
import { StoreError } from "@/lib/store/errors";
import { getServer } from "@/lib/compose/node";
import { getAccessToken, SessionEndedError } from "@/lib/session/refresh";
import { fetchUserinfo, UserinfoError } from "@/lib/oidc/userinfo";

export const dynamic = "force-dynamic";

/**
 * GET /api/userinfo: a BFF call made with the server-held access token (refreshed when near
 * expiry). The browser gets the IdP's answer, never the token.
 */
export async function GET(request: Request): Promise<Response> {
  const server = getServer();
  const gate = await requireSession(server.gate, request);
  if ("response" in gate) return gate.response;
  const current = gate.session;
  const clear = clearCookie(server.cookies.session, server.cookies.secure);

  let accessToken: string;
  try {
    accessToken = await getAccessToken(server.refresh, current.id);
  } catch (error) {
    if (error instanceof SessionEndedError) return unauthorizedJson("refresh_failed", clear);
    if (error instanceof StoreError) return unavailable(true);
    return Response.json({ error: "upstream_error" }, { status: 502, headers: { "Cache-Control": "no-store" } });
  }
  try {
    const claims = await fetchUserinfo(accessToken, current.record.sub);
    return Response.json({ claims }, { headers: { "Cache-Control": "no-store" } });
  } catch (error) {
    const status = error instanceof UserinfoError ? error.status : undefined;
    return Response.json({ error: "upstream_error", status }, { status: 502, headers: { "Cache-Control": "no-store" } });
  }
}
