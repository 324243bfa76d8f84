import * as oauth from "oauth4webapi";
import type { SessionRecord } from "@/lib/session/record";
import { getAccessToken, SessionEndedError, type EndAs, type RefreshDeps } from "@/lib/session/refresh";
import { getIdpMetadata, getOidcClient } from "@/lib/oidc/client";
import { fetchUserinfo, UserinfoError } from "@/lib/oidc/userinfo";
import { StoreError } from "@/lib/store/errors";
import type { LivenessMethod } from "./plan";
import { tracedLivenessCheck } from "@/lib/telemetry/receivers";

/**
 * What one liveness check learned. Only `refused` ends a session, and only on an answer that says so
 * in the protocol's own words; everything else the IdP does (down, slow, 5xx, 429, a refused client)
 * is `unavailable`, which ends nothing.
 */
export type CheckOutcome =
  | { kind: "live"; method: LivenessMethod }
  /**
   * The IdP no longer honours the session's grant. `ended`: the session was already ended on the way
   * (a refused refresh ends it itself, lib/session/refresh.ts); otherwise the caller ends it.
   */
  | { kind: "refused"; method: LivenessMethod; code: "inactive" | "invalid_grant" | "invalid_token"; ended: boolean }
  /** Not an answer about the session: back off and try later. `retryAfterMs`: what the IdP asked for (RFC 9110 §10.2.3). */
  | { kind: "unavailable"; method: LivenessMethod; code: UnavailableCode; retryAfterMs?: number }
  /** This client may not use the method (e.g. introspection not allowed for it): try the next one. */
  | { kind: "unusable"; method: LivenessMethod; code: string };

export type UnavailableCode = "network" | "rate_limited" | "server_error" | "client_rejected" | "unexpected_answer" | "store_unavailable";

/** How long one call to the IdP may take. */
const CALL_TIMEOUT_MS = 5_000;

export type CheckDeps = {
  refresh: RefreshDeps;
  now: () => number;
};

/** Seconds or an HTTP date in Retry-After (RFC 9110 §10.2.3), as milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** A status the IdP gave that is about itself, not the session: 429 and 5xx. */
function unavailableFor(method: LivenessMethod, response: Response, now: number): CheckOutcome {
  return {
    kind: "unavailable",
    method,
    code: response.status === 429 ? "rate_limited" : "server_error",
    retryAfterMs: retryAfterMs(response.headers.get("retry-after"), now),
  };
}

/**
 * RFC 7662 §2.1–2.2: asks the IdP whether the session's refresh token (else its unexpired access
 * token) is active. `active: false` is a refusal: a refresh token is inactive only when its grant
 * (or, at most IdPs, its IdP session) is gone. 401/403 or `invalid_client`/`unauthorized_client`
 * mean this client may not introspect: the method is unusable here, not the session refused.
 */
export async function introspect(deps: CheckDeps, record: SessionRecord): Promise<CheckOutcome> {
  const method = "introspection";
  const accessLive = record.accessToken && (record.accessTokenExpiresAt === undefined || record.accessTokenExpiresAt > deps.now());
  const token = record.refreshToken ?? (accessLive ? record.accessToken : undefined);
  if (!token) return { kind: "unusable", method, code: "no_token" };
  const as = await getIdpMetadata();
  const { client, clientAuth, options } = getOidcClient();
  let response: Response;
  try {
    response = await oauth.introspectionRequest(as, client, clientAuth, token, {
      ...options,
      additionalParameters: { token_type_hint: record.refreshToken ? "refresh_token" : "access_token" },
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch {
    return { kind: "unavailable", method, code: "network" };
  }
  if (response.status === 429 || response.status >= 500) return unavailableFor(method, response, deps.now());
  if (response.status === 401 || response.status === 403) return { kind: "unusable", method, code: `http_${response.status}` };
  try {
    const answer = await oauth.processIntrospectionResponse(as, client, response);
    return answer.active ? { kind: "live", method } : { kind: "refused", method, code: "inactive", ended: false };
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) return { kind: "unusable", method, code: error.error };
    return { kind: "unavailable", method, code: "unexpected_answer" };
  }
}

/** The HTTP status of an IdP answer that oauth4webapi refused, when it carries one. */
function statusOf(error: unknown): number | undefined {
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError) return error.status;
  if (error instanceof oauth.OperationProcessingError && error.cause instanceof Response) return error.cause.status;
  return undefined;
}

/**
 * Sorts what a refresh threw. A refusal (`invalid_grant`) has already ended the session
 * (lib/session/refresh.ts); a refused client (RFC 6749 §5.2 `invalid_client`, `unauthorized_client`,
 * or a 401) is a configuration fault, never the session's.
 */
function refreshFailure(method: LivenessMethod, error: unknown): CheckOutcome {
  if (error instanceof SessionEndedError) return { kind: "refused", method, code: "invalid_grant", ended: true };
  if (error instanceof StoreError) return { kind: "unavailable", method, code: "store_unavailable" };
  const status = statusOf(error);
  if (status === undefined) return { kind: "unavailable", method, code: "network" };
  const clientError =
    error instanceof oauth.ResponseBodyError && (error.error === "invalid_client" || error.error === "unauthorized_client");
  if (clientError || status === 401) return { kind: "unavailable", method, code: "client_rejected" };
  if (status === 429) return { kind: "unavailable", method, code: "rate_limited" };
  return { kind: "unavailable", method, code: status >= 500 ? "server_error" : "unexpected_answer" };
}

/**
 * RFC 6749 §6: a refresh-token grant, with the session's refresh lock (one refresh at a time across
 * instances, since refresh tokens may rotate). `invalid_grant` (§5.2) ends the session as `endAs`
 * says. The new tokens are kept, so the check is also a refresh.
 */
export async function refreshGrant(deps: CheckDeps, sessionId: string, record: SessionRecord, endAs: EndAs): Promise<CheckOutcome> {
  const method = "refresh";
  if (!record.refreshToken) return { kind: "unusable", method, code: "no_refresh_token" };
  try {
    // The session's current access token is treated as refused, so a refresh happens unless another
    // request refreshed in the meantime (which proves the same thing).
    await getAccessToken(deps.refresh, sessionId, record.accessToken ?? "", endAs);
    return { kind: "live", method };
  } catch (error) {
    return refreshFailure(method, error);
  }
}

/**
 * OpenID Connect Core §5.3 with the access token. A 401 (RFC 6750 §3.1 `invalid_token`) gets one
 * refresh and one more call (an expired token is not a refusal); a refused refresh, or a second 401
 * with a freshly issued token, is a refusal.
 */
export async function userinfo(deps: CheckDeps, sessionId: string, record: SessionRecord, endAs: EndAs): Promise<CheckOutcome> {
  const method = "userinfo";
  let refused: string | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    let token: string;
    try {
      token = await getAccessToken(deps.refresh, sessionId, refused, endAs);
    } catch (error) {
      return refreshFailure(method, error);
    }
    try {
      await fetchUserinfo(token, record.sub);
      return { kind: "live", method };
    } catch (error) {
      const status = error instanceof UserinfoError ? error.status : undefined;
      if (status === 429) return { kind: "unavailable", method, code: "rate_limited" };
      if (status !== 401)
        return {
          kind: "unavailable",
          method,
          code: status === undefined ? "network" : status >= 500 ? "server_error" : "unexpected_answer",
        };
      if (refused !== undefined) return { kind: "refused", method, code: "invalid_token", ended: false };
      refused = token;
    }
  }
  return { kind: "unavailable", method, code: "unexpected_answer" };
}

/** Runs one method's check for a session; a refusal found by a refresh ends the session as `endAs` says. */
function checkWithUntraced(
  deps: CheckDeps,
  method: LivenessMethod,
  sessionId: string,
  record: SessionRecord,
  endAs: EndAs,
): Promise<CheckOutcome> {
  if (method === "introspection") return introspect(deps, record);
  if (method === "refresh") return refreshGrant(deps, sessionId, record, endAs);
  return userinfo(deps, sessionId, record, endAs);
}

/** checkWith, in a span with its outcome when an OpenTelemetry SDK runs (lib/telemetry/receivers.ts). */
export const checkWith = tracedLivenessCheck(checkWithUntraced);
