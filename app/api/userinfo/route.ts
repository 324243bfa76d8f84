import * as oauth from "oauth4webapi";
import { currentSession, sessionCookie } from "@/lib/session/current";
import { clearCookie, unauthorizedJson, unavailable } from "@/lib/guard/responses";
import { getContext } from "@/lib/context";
import { getAccessToken, SessionEndedError } from "@/lib/session/refresh";
import { getIdpMetadata, getOidcClient } from "@/lib/oidc/client";

export const dynamic = "force-dynamic";

/**
 * GET /api/userinfo: a BFF call made with the server-held access token (refreshed when near
 * expiry). The browser gets the IdP's answer, never the token.
 */
export async function GET(request: Request): Promise<Response> {
  const ctx = getContext();
  const clear = clearCookie(ctx.cookies.session, ctx.cookies.secure);
  let current;
  try {
    current = await currentSession(sessionCookie(request));
  } catch {
    return unavailable(true);
  }
  if (current.state === "none") return unauthorizedJson("no_session");
  if (current.state === "ended") return unauthorizedJson(current.reason, clear);

  let accessToken: string;
  try {
    accessToken = await getAccessToken(
      { redis: ctx.redis, keys: ctx.keys, store: ctx.store, skewSeconds: ctx.config.REFRESH_SKEW_SECONDS },
      current.id,
    );
  } catch (error) {
    if (error instanceof SessionEndedError) return unauthorizedJson("refresh_failed", clear);
    return Response.json({ error: "upstream_error" }, { status: 502, headers: { "Cache-Control": "no-store" } });
  }
  const as = await getIdpMetadata();
  const { client, options } = getOidcClient();
  const response = await oauth.userInfoRequest(as, client, accessToken, options);
  if (!response.ok) {
    return Response.json({ error: "upstream_error", status: response.status }, { status: 502, headers: { "Cache-Control": "no-store" } });
  }
  const claims = await oauth.processUserInfoResponse(as, client, current.record.sub, response);
  return Response.json({ claims }, { headers: { "Cache-Control": "no-store" } });
}
