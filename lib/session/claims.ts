import { getAccessToken, type RefreshDeps } from "./refresh";
import type { SessionRecord } from "./record";
import { fetchUserinfo } from "@/lib/oidc/userinfo";

/**
 * CAEP §3.3 token-claims-change: a session marked stale reads its claims again from the IdP's
 * userinfo endpoint (with its server-held access token) on its next request. Best effort: when the
 * IdP cannot answer, the mark stays and the next request tries again.
 */
export async function refreshStaleClaims(deps: RefreshDeps, sessionId: string, record: SessionRecord): Promise<SessionRecord> {
  if (!record.claimsStale) return record;
  const store = deps.ending.sessions;
  try {
    const claims = await fetchUserinfo(await getAccessToken(deps, sessionId), record.sub);
    const fresh = (await store.read(sessionId)) ?? record;
    const updated: SessionRecord = {
      ...fresh,
      claimsStale: false,
      claims: {
        name: typeof claims.name === "string" ? claims.name : fresh.claims.name,
        email: typeof claims.email === "string" ? claims.email : fresh.claims.email,
      },
    };
    await store.update(sessionId, updated);
    return updated;
  } catch {
    return record;
  }
}
