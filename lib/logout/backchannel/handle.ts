import { decodeJwt } from "jose";
import type { Config } from "@/lib/config";
import type { EndDeps } from "@/lib/revocation/end-sessions";
import type { Defer } from "@/lib/revocation/deferred";
import { getIdpKeys, getIdTokenDecryption } from "@/lib/oidc/keys";
import { revokeRefreshToken } from "@/lib/oidc/revoke";
import { hashId, securityLog } from "@/lib/log/security-log";
import { LogoutTokenError } from "./errors";
import { receiveLogoutToken, type BackchannelOutcome } from "./receive";
import { tracedBackchannel } from "@/lib/telemetry/receivers";

/**
 * The route's use case: the configured policy, the IdP's keys, the stores, and the security log
 * line. With `defer` (the route's `after()`), the clean-up runs after the answer.
 */
async function handleLogoutTokenUntraced(
  deps: { config: Config; ending: EndDeps; defer?: Defer },
  raw: string,
): Promise<BackchannelOutcome> {
  const { config } = deps;
  try {
    const outcome = await receiveLogoutToken(raw, {
      ...deps.ending,
      defer: deps.defer,
      policy: {
        issuer: config.OIDC_ISSUER,
        clientId: config.OIDC_CLIENT_ID,
        expectedAlg: config.OIDC_ID_TOKEN_ALG,
        clientSecret: config.OIDC_CLIENT_SECRET,
        sessionRequired: config.BCL_SESSION_REQUIRED,
        leewaySeconds: config.BCL_CLOCK_LEEWAY_SECONDS,
        maxAgeSeconds: config.BCL_MAX_TOKEN_AGE_SECONDS,
        decryption: await getIdTokenDecryption(),
      },
      getKey: getIdpKeys,
      revokeRefreshToken,
    });
    const { token } = outcome;
    securityLog({
      event: "backchannel_logout",
      outcome: "ok",
      code: outcome.result,
      iss: token.iss,
      sid: hashId(token.sid),
      sub: hashId(token.sub),
      jti: token.jti,
      sessions_ended: outcome.sessionsEnded,
      refresh_tokens_revoked: outcome.refreshTokensRevoked,
      cleanup_failed: outcome.cleanupFailed,
      cleanup_deferred: outcome.cleanupDeferred,
    });
    return outcome;
  } catch (error) {
    const code = error instanceof LogoutTokenError ? error.code : "internal_error";
    const unverified = peek(raw);
    securityLog({
      event: "backchannel_logout",
      outcome: error instanceof LogoutTokenError && error.status === 400 ? "rejected" : "error",
      code,
      // Unverified, for finding the sender's mistake; never the token itself.
      iss: unverified.iss,
      sid: hashId(unverified.sid),
      sub: hashId(unverified.sub),
      jti: unverified.jti,
    });
    throw error;
  }
}

function peek(raw: string): { iss?: string; sid?: string; sub?: string; jti?: string } {
  try {
    const claims = decodeJwt(raw);
    const text = (v: unknown) => (typeof v === "string" ? v.slice(0, 200) : undefined);
    return { iss: text(claims.iss), sid: text(claims.sid), sub: text(claims.sub), jti: text(claims.jti) };
  } catch {
    return {};
  }
}

/** handleLogoutToken, in a span with its outcome when an OpenTelemetry SDK runs (lib/telemetry/receivers.ts). */
export const handleLogoutToken = tracedBackchannel(handleLogoutTokenUntraced);
