import { getAccessToken, type RefreshDeps } from "./refresh";
import type { SessionRecord } from "./record";
import { fetchUserinfo, UserinfoError, type UserinfoErrorCode } from "@/lib/oidc/userinfo";
import { hashId, securityLog } from "@/lib/log/security-log";

/** The claims a session keeps for the user (shown by /api/session). */
export type SessionClaims = SessionRecord["claims"];

/** The ID token's claims as Auth.js hands them over (its `profile`), once `sub` is known to be a string. */
export type IdTokenClaims = { sub: string; name?: unknown; email?: unknown };

/** Userinfo claims for an access token, checked against `sub` (Core §5.3.2); throws when they cannot be had (lib/oidc/userinfo.ts). */
export type FetchUserinfo = (accessToken: string, expectedSub: string) => Promise<Record<string, unknown>>;

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/**
 * The claims a new session starts with. OpenID Connect Core §5.4: when the IdP issues an access token,
 * it may put the claims that `profile` and `email` ask for at the userinfo endpoint only, not in the ID
 * token. So when the ID token lacks `name` or `email` and the token response has an access token, the
 * missing ones are taken from the IdP's userinfo (whose `sub` must be the ID token's, Core §5.3.2;
 * `fetchUserinfoFn` checks it); a value in the ID token wins over userinfo's. One request at most.
 *
 * Never throws: when the IdP has no userinfo endpoint the claims stay missing, and when userinfo fails
 * they stay missing too and one security-log line (`session.claims`, with a code and the hashed `sub`,
 * never a token) says why. The sign-in goes on either way.
 */
export async function signInClaims(
  idToken: IdTokenClaims,
  accessToken: string | undefined,
  fetchUserinfoFn: FetchUserinfo = fetchUserinfo,
): Promise<SessionClaims> {
  const claims: SessionClaims = { name: text(idToken.name), email: text(idToken.email) };
  if ((claims.name !== undefined && claims.email !== undefined) || !accessToken) return claims;
  const failed = (code: UserinfoErrorCode, status?: number): SessionClaims => {
    if (code !== "no_userinfo_endpoint") {
      const outcome = code === "userinfo_sub_mismatch" ? "rejected" : "error";
      securityLog({ event: "session.claims", outcome, code, status, sub: hashId(idToken.sub) });
    }
    return claims;
  };
  let userinfo: Record<string, unknown>;
  try {
    userinfo = await fetchUserinfoFn(accessToken, idToken.sub);
  } catch (error) {
    return error instanceof UserinfoError ? failed(error.code, error.status) : failed("userinfo_failed");
  }
  // Core §5.3.2, whichever fetcher was given: claims about another subject are not this user's.
  if (userinfo.sub !== idToken.sub) return failed("userinfo_sub_mismatch");
  return { name: claims.name ?? text(userinfo.name), email: claims.email ?? text(userinfo.email) };
}

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
