import type { JWTVerifyGetKey } from "jose";
import { validateLogoutToken, type LogoutTokenPolicy, type ValidLogoutToken } from "./validate";
import { LogoutTokenError } from "./errors";
import { endSessions, type EndDeps, type EndTarget } from "@/lib/revocation/end-sessions";
import type { StoredSession } from "@/lib/store/ports";
import { retried, type Defer } from "@/lib/revocation/deferred";

export type BackchannelDeps = EndDeps & {
  policy: LogoutTokenPolicy;
  getKey: JWTVerifyGetKey;
  /** RFC 7009 revocation of a refresh token at the IdP; resolves false when the IdP has no endpoint. */
  revokeRefreshToken: (token: string) => Promise<boolean>;
  /**
   * Given (the route gives Next's `after()`), the clean-up the IdP need not wait for runs after the
   * answer: deleting the ended sessions' tokens and revoking their refresh tokens. Without it, both
   * run before the answer (tests, scripts).
   */
  defer?: Defer;
};

export type BackchannelOutcome = {
  token: ValidLogoutToken;
  /** ended: the revocation was stored; replayed: this (iss, jti) was seen before, nothing changed; sub_mismatch: the sid's session belongs to another sub. */
  result: "ended" | "replayed" | "sub_mismatch";
  sessionsEnded: number;
  /** Refresh tokens revoked at the IdP before the answer; with `defer` they are revoked after it (and logged then). */
  refreshTokensRevoked: number;
  /** The revocation holds, but deleting the ended sessions' tokens failed; they expire with their TTL. */
  cleanupFailed?: boolean;
  /** With `defer`: the clean-up runs after the answer. */
  cleanupDeferred?: boolean;
  /** Milliseconds per stage, for the Server-Timing header and the benchmark. */
  timings: { validate: number; store: number; revoke: number };
};

/**
 * BCL §2.7: validates a logout token, ends the sessions it names (the revocation stored atomically
 * with its replay record), then revokes their refresh tokens at the IdP.
 * Throws LogoutTokenError; a store failure becomes `store_unavailable` (503) so that the IdP retries (BCL §2.8).
 * A valid token the store could not take is also queued (`deps.pending`) and stored once the store
 * answers, since many IdPs never retry; the replay record then makes the IdP's retry change nothing.
 */
export async function receiveLogoutToken(raw: string, deps: BackchannelDeps): Promise<BackchannelOutcome> {
  const nowMs = deps.now();
  const nowSeconds = Math.floor(nowMs / 1000);
  const timings = { validate: 0, store: 0, revoke: 0 };
  let mark = performance.now();
  const lap = (stage: keyof typeof timings) => {
    const t = performance.now();
    timings[stage] = t - mark;
    mark = t;
  };
  const token = await validateLogoutToken(raw, deps.policy, deps.getKey, nowSeconds);
  lap("validate");

  // With sid: that IdP session only (and, with sub too, only if it is that sub's). With sub alone:
  // the user's sessions that started before the token was issued, so that a replay or a late
  // delivery cannot end sessions begun afterwards.
  const target: EndTarget = token.sid
    ? { kind: "idp-session", iss: token.iss, sid: token.sid, sub: token.sub }
    : { kind: "subject", iss: token.iss, sub: token.sub as string, beforeMs: Math.min(nowMs, (token.iat + 1) * 1000) };
  // BCL §2.6 step 8 (jti): remember (iss, jti) until the token could no longer be accepted anyway.
  const acceptableUntil = Math.max(token.exp, token.iat + deps.policy.maxAgeSeconds) + deps.policy.leewaySeconds;
  const replay = { kind: "bcl" as const, iss: token.iss, jti: token.jti, ttlSeconds: acceptableUntil - nowSeconds + 1 };

  const detail = { mechanism: "backchannel" as const, sentAt: token.iat * 1000 };
  let outcome;
  try {
    outcome = await endSessions(deps, [target], "revoked", { replay, detail, defer: deps.defer });
  } catch {
    deps.pending?.add({
      key: `bcl ${token.iss} ${token.jti}`,
      kind: "backchannel_logout",
      reason: "revoked",
      targets: [target],
      // Later, outside this request: the clean-up runs inline (no `after()` there), then the refresh tokens are revoked.
      apply: async () => {
        const later = await endSessions(deps, [target], "revoked", { replay, detail });
        if (later.result === "ended") await revokeRefreshTokens(later.ended, deps.revokeRefreshToken);
      },
    });
    throw new LogoutTokenError("store_unavailable");
  }
  lap("store");
  if (outcome.result !== "ended")
    return { token, result: outcome.result === "unknown" ? "ended" : outcome.result, sessionsEnded: 0, refreshTokensRevoked: 0, timings };

  const ended = { token, result: "ended" as const, sessionsEnded: outcome.ended.length, cleanupFailed: outcome.cleanupFailed };
  if (deps.defer) {
    const sessions = outcome.ended;
    if (refreshTokensOf(sessions).length > 0) {
      // After the answer there is time to retry an IdP that did not answer; what still failed is logged.
      deps.defer("backchannel_logout.refresh_tokens", () =>
        revokeRefreshTokens(sessions, (t) => retried(() => deps.revokeRefreshToken(t))),
      );
    }
    return { ...ended, refreshTokensRevoked: 0, cleanupDeferred: outcome.cleanupDeferred, timings };
  }
  const { revoked: refreshTokensRevoked } = await revokeRefreshTokens(outcome.ended, deps.revokeRefreshToken);
  lap("revoke");
  return { ...ended, refreshTokensRevoked, timings };
}

/** BCL §2.7: refresh tokens issued without offline_access are revoked; offline ones are left alone. */
const refreshTokensOf = (ended: StoredSession[]) =>
  ended.map((s) => s.record).filter((r) => r.refreshToken && !(r.scope ?? "").split(" ").includes("offline_access"));

/** Revokes each refresh token at the IdP (RFC 7009); counts those revoked and those the IdP refused or did not answer. */
async function revokeRefreshTokens(
  ended: StoredSession[],
  revoke: (token: string) => Promise<boolean>,
): Promise<{ revoked: number; failed: number }> {
  const results = await Promise.allSettled(refreshTokensOf(ended).map((r) => revoke(r.refreshToken as string)));
  return {
    revoked: results.filter((r) => r.status === "fulfilled" && r.value).length,
    failed: results.filter((r) => r.status === "rejected").length,
  };
}
