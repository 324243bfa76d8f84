import * as oauth from "oauth4webapi";
import type { SessionRecord } from "./record";
import { getIdpMetadata, getOidcClient } from "@/lib/oidc/client";
import { endSessions, type EndDeps } from "@/lib/revocation/end-sessions";
import type { EndDetail } from "@/lib/store/ports";
import type { EndReason } from "@/lib/session/ending";
import { GRANT_TIMEOUT_MS, singleFlight } from "./single-flight";

export type RefreshDeps = { ending: EndDeps; skewSeconds: number; now?: () => number };

export class SessionEndedError extends Error {
  readonly code = "session_ended";
}

/** How a refused refresh (RFC 6749 §5.2 `invalid_grant`) ends the session: by default, `refresh_failed` carried by `token_refresh`. */
export type EndAs = { reason: EndReason; detail: EndDetail };
const refusedRefresh: EndAs = { reason: "refresh_failed", detail: { mechanism: "token_refresh" } };

/**
 * Returns a usable access token for a session, refreshing it at the IdP when it is within
 * `skewSeconds` of expiry. Under concurrent requests exactly one refreshes (a lock in the
 * session store); the others wait for the record it writes. Refresh tokens may rotate, so a second refresh with
 * the old one would fail, or make the IdP revoke the whole grant.
 *
 * `refused` is an access token the IdP has just refused (RFC 6750 §3.1 `invalid_token`, as a
 * userinfo 401): it is not returned again, however far its expiry, so the session's refresh token is
 * tried once. If the IdP refuses that too (the grant was revoked), the session ends here.
 */
export async function getAccessToken(
  deps: RefreshDeps,
  sessionId: string,
  refused?: string,
  endAs: EndAs = refusedRefresh,
): Promise<string> {
  const store = deps.ending.sessions;
  const now = deps.now ?? Date.now;
  const fresh = (r: SessionRecord | null) =>
    r?.accessToken &&
    r.accessToken !== refused &&
    (r.accessTokenExpiresAt === undefined || r.accessTokenExpiresAt - deps.skewSeconds * 1000 > now());

  const record = await store.read(sessionId);
  if (!record) throw new SessionEndedError("The session is over.");
  if (fresh(record)) return record.accessToken!;
  if (!record.refreshToken) throw new SessionEndedError("The access token expired and there is no refresh token.");

  const current = async () => {
    const r = await store.read(sessionId);
    if (!r) throw new SessionEndedError("The session is over.");
    return r;
  };
  return singleFlight({
    lock: (owner, ttlMs) => store.lock(sessionId, owner, ttlMs),
    unlock: (owner) => store.unlock(sessionId, owner),
    underLock: async () => {
      // Someone may have refreshed between our read and our lock.
      const r = await current();
      return fresh(r) ? r.accessToken! : refresh(deps, sessionId, r, endAs);
    },
    whileWaiting: async () => {
      const r = await current();
      return fresh(r) ? r.accessToken! : undefined;
    },
    timedOut: () => new Error("Timed out waiting for another request to refresh the session."),
    now,
  });
}

async function refresh(deps: RefreshDeps, sessionId: string, record: SessionRecord, endAs: EndAs): Promise<string> {
  const as = await getIdpMetadata();
  const { client, clientAuth, options } = getOidcClient();
  const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, record.refreshToken!, {
    ...options,
    signal: AbortSignal.timeout(GRANT_TIMEOUT_MS),
  });
  let result: oauth.TokenEndpointResponse;
  try {
    result = await oauth.processRefreshTokenResponse(as, client, response);
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && error.error === "invalid_grant") {
      await endSessions(deps.ending, [{ kind: "session", id: sessionId, record }], endAs.reason, { detail: endAs.detail });
      throw new SessionEndedError("The IdP refused to refresh the session.");
    }
    throw error;
  }
  const now = (deps.now ?? Date.now)();
  const updated: SessionRecord = {
    ...record,
    accessToken: result.access_token,
    accessTokenExpiresAt: result.expires_in !== undefined ? now + result.expires_in * 1000 : undefined,
    refreshToken: result.refresh_token ?? record.refreshToken,
    idToken: result.id_token ?? record.idToken,
    scope: result.scope ?? record.scope,
  };
  if (!(await deps.ending.sessions.update(sessionId, updated, "token_refreshed")))
    throw new SessionEndedError("The session ended during refresh.");
  return updated.accessToken!;
}
