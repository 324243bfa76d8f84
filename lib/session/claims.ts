import * as oauth from "oauth4webapi";
import { getContext } from "@/lib/context";
import { getIdpMetadata, getOidcClient } from "@/lib/oidc/client";
import { getAccessToken } from "./refresh";
import type { SessionRecord } from "./record";

/**
 * CAEP token-claims-change: a session marked stale reads its claims again from the IdP's userinfo
 * endpoint (with its server-held access token) on its next request. Best effort: when the IdP
 * cannot answer, the mark stays and the next request tries again.
 */
export async function refreshStaleClaims(sessionId: string, record: SessionRecord): Promise<SessionRecord> {
  if (!record.claimsStale) return record;
  const ctx = getContext();
  try {
    const accessToken = await getAccessToken(
      { redis: ctx.redis, keys: ctx.keys, store: ctx.store, skewSeconds: ctx.config.REFRESH_SKEW_SECONDS },
      sessionId,
    );
    const as = await getIdpMetadata();
    const { client, options } = getOidcClient();
    const response = await oauth.userInfoRequest(as, client, accessToken, options);
    const claims = await oauth.processUserInfoResponse(as, client, record.sub, response);
    const fresh = (await ctx.store.read(sessionId)) ?? record;
    const updated: SessionRecord = {
      ...fresh,
      claimsStale: false,
      claims: {
        name: typeof claims.name === "string" ? claims.name : fresh.claims.name,
        email: typeof claims.email === "string" ? claims.email : fresh.claims.email,
      },
    };
    await ctx.store.update(sessionId, updated);
    return updated;
  } catch {
    return record;
  }
}
