import * as oauth from "oauth4webapi";
import { requireSession } from "@/lib/session/current";
import { clearCookie, unauthorizedJson } from "@/lib/guard/responses";
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
  const gate = await requireSession(request);
  if ("response" in gate) return gate.response;
  const current = gate.session;
  const clear = clearCookie(ctx.cookies.session, ctx.cookies.secure);

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
