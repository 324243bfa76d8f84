import type { JWTVerifyGetKey } from "jose";
import { validateLogoutToken, type LogoutTokenPolicy, type ValidLogoutToken } from "./validate";
import { LogoutTokenError } from "./errors";
import { endSessions, findSessions, recordRevocation, type RevocationDeps, type RevocationTarget } from "@/lib/revocation/revoke";
import type { SessionRecord } from "@/lib/session/record";

export type BackchannelDeps = RevocationDeps & {
  policy: LogoutTokenPolicy;
  getKey: JWTVerifyGetKey;
  /** RFC 7009 revocation of a refresh token at the IdP; resolves false when the IdP has no endpoint. */
  revokeRefreshToken: (token: string) => Promise<boolean>;
  now: () => number;
};

export type BackchannelOutcome = {
  token: ValidLogoutToken;
  /** ended: the revocation was stored; replayed: this (iss, jti) was seen before, nothing changed; sub_mismatch: the sid's session belongs to another sub. */
  result: "ended" | "replayed" | "sub_mismatch";
  sessionsEnded: number;
  refreshTokensRevoked: number;
  /** The revocation holds, but deleting the ended sessions' tokens failed; they expire with their TTL. */
  cleanupFailed?: boolean;
  /** Milliseconds per stage, for the Server-Timing header and the benchmark. */
  timings: { validate: number; store: number; cleanup: number; revoke: number };
};

/**
 * BCL §2.7: validates a logout token, stores the revocation (atomically with its replay mark),
 * then deletes what the ended sessions held and revokes their refresh tokens at the IdP.
 * Throws LogoutTokenError; a Redis failure becomes `store_unavailable` (503) so that the IdP retries.
 */
export async function receiveLogoutToken(raw: string, deps: BackchannelDeps): Promise<BackchannelOutcome> {
  const nowMs = deps.now();
  const timings = { validate: 0, store: 0, cleanup: 0, revoke: 0 };
  let mark = performance.now();
  const lap = (stage: keyof typeof timings) => {
    const t = performance.now();
    timings[stage] = t - mark;
    mark = t;
  };
  const token = await validateLogoutToken(raw, deps.policy, deps.getKey, Math.floor(nowMs / 1000));
  lap("validate");

  // With sid: that IdP session only. With sub alone: the user's sessions that started before the
  // token was issued, so that a replay (or a late delivery) cannot end sessions begun afterwards.
  const target: RevocationTarget = token.sid
    ? { kind: "idp-session", iss: token.iss, sid: token.sid }
    : { kind: "subject", iss: token.iss, sub: token.sub!, beforeMs: Math.min(nowMs, (token.iat + 1) * 1000) };
  // BCL §2.6 step 11: remember (iss, jti) until the token could no longer be accepted anyway.
  const replay = {
    key: deps.keys.logoutTokenJti(token.iss, token.jti),
    ttlSeconds: Math.max(token.exp, token.iat + deps.policy.maxAgeSeconds) + deps.policy.leewaySeconds - Math.floor(nowMs / 1000) + 1,
  };

  try {
    if (target.kind === "idp-session" && token.sub) {
      // BCL §2.7: with both, the sid's session must belong to that sub.
      const [found] = await findSessions(deps, target);
      if (found && found.record.sub !== token.sub) {
        await deps.redis.set(replay.key, "1", { nx: true, ex: replay.ttlSeconds });
        lap("store");
        return { token, result: "sub_mismatch", sessionsEnded: 0, refreshTokensRevoked: 0, timings };
      }
    }
    const stored = await recordRevocation(deps, target, "revoked", replay);
    lap("store");
    if (!stored) return { token, result: "replayed", sessionsEnded: 0, refreshTokensRevoked: 0, timings };
  } catch {
    throw new LogoutTokenError("store_unavailable");
  }

  // The revocation holds from here on; what follows removes what is left, and cannot undo it.
  let ended: SessionRecord[];
  try {
    ended = await endSessions(deps, target, "revoked");
  } catch {
    lap("cleanup");
    return { token, result: "ended", sessionsEnded: 0, refreshTokensRevoked: 0, cleanupFailed: true, timings };
  }
  lap("cleanup");
  const refreshTokensRevoked = await revokeRefreshTokens(ended, deps.revokeRefreshToken);
  lap("revoke");
  return { token, result: "ended", sessionsEnded: ended.length, refreshTokensRevoked, timings };
}

/** BCL §2.7: refresh tokens issued without offline_access are revoked; offline ones are left alone. */
async function revokeRefreshTokens(ended: SessionRecord[], revoke: (token: string) => Promise<boolean>): Promise<number> {
  const results = await Promise.allSettled(
    ended
      .filter((r) => r.refreshToken && !(r.scope ?? "").split(" ").includes("offline_access"))
      .map((r) => revoke(r.refreshToken!)),
  );
  return results.filter((r) => r.status === "fulfilled" && r.value).length;
}
