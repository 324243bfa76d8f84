import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTVerifyGetKey } from "jose";
import { receiveLogoutToken, type BackchannelDeps } from "@/lib/logout/backchannel/receive";
import { BACKCHANNEL_LOGOUT_EVENT } from "@/lib/logout/backchannel/validate";
import { LogoutTokenError } from "@/lib/logout/backchannel/errors";
import { memoryStores } from "@/lib/store/memory";
import { signInTo, type SignedIn } from "../support/sessions";
import { StoreError } from "@/lib/store/errors";
import { PendingEndings } from "@/lib/revocation/pending";
import type { Stores } from "@/lib/store/ports";
import type { SessionRecord } from "@/lib/session/record";

const NOW_S = 1_800_000_000;
const NOW_MS = NOW_S * 1000;
const ISSUER = "https://idp.example.com";
const OTHER_ISSUER = "https://other-idp.example.com";
const CLIENT = "lockstep-bank";

let signingKey: CryptoKey;
let getKey: JWTVerifyGetKey;
let clock: number;
let stores: Stores;
/** What the fake RFC 7009 endpoint was asked to revoke. */
let revokedAtIdp: string[];

beforeAll(async () => {
  // ES256: the same checks as RS256, and key generation is quick enough for the unit tier.
  const pair = await generateKeyPair("ES256");
  signingKey = pair.privateKey;
  getKey = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1" }] });
});

beforeEach(() => {
  clock = NOW_MS;
  stores = memoryStores({ ttlSeconds: 86_400, now: () => clock });
  revokedAtIdp = [];
});

function deps(overrides: Partial<BackchannelDeps> = {}): BackchannelDeps {
  return {
    sessions: stores.sessions,
    revocations: stores.revocations,
    now: () => clock,
    policy: { issuer: ISSUER, clientId: CLIENT, expectedAlg: "ES256", sessionRequired: false, leewaySeconds: 60, maxAgeSeconds: 600 },
    getKey,
    // Stands in for the IdP's RFC 7009 revocation endpoint (lib/oidc/revoke.ts makes the real call): it only records what it was asked to revoke.
    revokeRefreshToken: async (token) => {
      revokedAtIdp.push(token);
      return true;
    },
    ...overrides,
  };
}

let jtiCounter = 0;
/** A logout token as BCL §2.4 shapes it, issued now; `claims` adds or overrides (undefined removes). */
async function logoutToken(claims: Record<string, unknown>): Promise<string> {
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: CLIENT,
    iat: NOW_S,
    exp: NOW_S + 120,
    jti: `jti-${++jtiCounter}`,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: "k1", typ: "logout+jwt" }).sign(signingKey);
}

type Signed = SignedIn;
const signIn = (fields: Partial<SessionRecord> = {}) => signInTo(stores, ISSUER, NOW_MS, fields);

const check = (s: Signed) => stores.revocations.check(s.handle);
const ACTIVE = { active: true };
const REVOKED = { active: false, reason: "revoked" };

async function errorOf(promise: Promise<unknown>): Promise<LogoutTokenError | "resolved"> {
  try {
    await promise;
    return "resolved";
  } catch (error) {
    if (error instanceof LogoutTokenError) return error;
    throw error;
  }
}

describe("receiveLogoutToken (Back-Channel Logout 1.0) on the in-memory stores", () => {
  it("ends only the IdP session of that issuer that the sid names (BCL §2.4, §2.7)", async () => {
    const named = await signIn({ sid: "sid-1" });
    const otherIssuer = await signIn({ iss: OTHER_ISSUER, sid: "sid-1" });
    const otherSid = await signIn({ sid: "sid-2" });

    const outcome = await receiveLogoutToken(await logoutToken({ sid: "sid-1" }), deps());

    expect(outcome.result).toBe("ended");
    expect(outcome.sessionsEnded).toBe(1);
    expect(await check(named)).toEqual(REVOKED);
    expect(await stores.sessions.read(named.id)).toBeNull();
    expect(await check(otherIssuer)).toEqual(ACTIVE);
    expect(await check(otherSid)).toEqual(ACTIVE);
    expect(await stores.sessions.find({ iss: OTHER_ISSUER, sid: "sid-1" })).toHaveLength(1);
    expect((await stores.revocations.endedSince(0)).map((e) => e.lsid)).toEqual([named.id]);
  });

  it("ends nothing when the sid's session belongs to another sub, and a replay of that token changes nothing (BCL §2.7)", async () => {
    const alice = await signIn({ sub: "alice", sid: "sid-1" });
    const raw = await logoutToken({ sub: "mallory", sid: "sid-1" });

    const outcome = await receiveLogoutToken(raw, deps());
    expect(outcome.result).toBe("sub_mismatch");
    expect(outcome.sessionsEnded).toBe(0);
    expect(await check(alice)).toEqual(ACTIVE);
    expect(await stores.revocations.endedSince(0)).toEqual([]);

    // Delivered again while alice still holds sid-1: the token was remembered (BCL §2.6 jti), nothing changes.
    expect((await receiveLogoutToken(raw, deps())).result).toBe("replayed");
    expect(await check(alice)).toEqual(ACTIVE);

    // Delivered again once sid-1 is free: the token was remembered (BCL §2.6 jti), so it cannot now
    // mark sid-1 and refuse the next session that holds it.
    await stores.sessions.end(await stores.sessions.find({ iss: ISSUER, sid: "sid-1" }), "logout");
    clock += 5_000;
    expect((await receiveLogoutToken(raw, deps())).result).toBe("replayed");
    const next = await signIn({ sub: "mallory", sid: "sid-1", createdAt: clock + 1 });
    expect(await check(next)).toEqual(ACTIVE);
    expect(await stores.revocations.endedSince(0)).toEqual([]);
    expect(revokedAtIdp).toEqual([]);
  });

  it("with sub alone ends the sub's sessions that started before iat, to the second, and none begun later (BCL §2.4, §2.7)", async () => {
    clock = NOW_MS + 4_000;
    const iat = NOW_S;
    const long = await signIn({ createdAt: NOW_MS - 600_000 });
    const sameSecond = await signIn({ createdAt: iat * 1000 + 999 });
    const afterIat = await signIn({ createdAt: (iat + 1) * 1000 });
    const otherSub = await signIn({ sub: "bob", createdAt: NOW_MS - 600_000 });
    const otherIssuer = await signIn({ iss: OTHER_ISSUER, createdAt: NOW_MS - 600_000 });

    const outcome = await receiveLogoutToken(await logoutToken({ sub: "alice", iat }), deps());

    expect(outcome.result).toBe("ended");
    expect(outcome.sessionsEnded).toBe(2);
    expect(await check(long)).toEqual(REVOKED);
    expect(await check(sameSecond)).toEqual(REVOKED);
    expect(await check(afterIat)).toEqual(ACTIVE);
    expect(await check(otherSub)).toEqual(ACTIVE);
    expect(await check(otherIssuer)).toEqual(ACTIVE);
    expect((await stores.sessions.find({ iss: ISSUER, sub: "alice" })).map((s) => s.id)).toEqual([afterIat.id]);
  });

  it("marks an unknown sid so that a sign-in with it that races the logout is refused (BCL §2.7)", async () => {
    const outcome = await receiveLogoutToken(await logoutToken({ sid: "sid-racing" }), deps());
    expect(outcome.result).toBe("ended");
    expect(outcome.sessionsEnded).toBe(0);

    // The sign-in that began at the IdP before the logout, stored here after it.
    clock += 50;
    const racing = await signIn({ sid: "sid-racing", createdAt: clock });
    expect(await stores.sessions.read(racing.id)).not.toBeNull();
    expect(await check(racing)).toEqual(REVOKED);
    // Another issuer's session with that sid is not named.
    expect(await check(await signIn({ iss: OTHER_ISSUER, sid: "sid-racing", createdAt: clock }))).toEqual(ACTIVE);
  });

  it("acts on a logout token once: a second delivery of (iss, jti) is replayed and writes no feed entry (BCL §2.6 jti)", async () => {
    const session = await signIn({ sid: "sid-1", refreshToken: "rt-1", scope: "openid" });
    const raw = await logoutToken({ sid: "sid-1", jti: "same-jti" });

    expect((await receiveLogoutToken(raw, deps())).result).toBe("ended");
    expect(await stores.revocations.endedSince(0)).toHaveLength(1);

    clock += 10_000;
    const again = await receiveLogoutToken(raw, deps());
    expect(again.result).toBe("replayed");
    expect(again.sessionsEnded).toBe(0);
    expect(await stores.revocations.endedSince(0)).toHaveLength(1);
    expect(revokedAtIdp).toEqual(["rt-1"]);
    expect(await check(session)).toEqual(REVOKED);
  });

  it("revokes the ended sessions' refresh tokens at the IdP, except those issued for offline_access (BCL §2.7)", async () => {
    await signIn({ refreshToken: "rt-online", scope: "openid profile" });
    await signIn({ refreshToken: "rt-offline", scope: "openid offline_access" });
    await signIn({ refreshToken: "rt-no-scope" });
    await signIn({});
    await signIn({ sub: "bob", refreshToken: "rt-bob", scope: "openid" });

    const outcome = await receiveLogoutToken(await logoutToken({ sub: "alice" }), deps());

    expect(outcome.sessionsEnded).toBe(4);
    expect(outcome.refreshTokensRevoked).toBe(2);
    expect(revokedAtIdp.sort()).toEqual(["rt-no-scope", "rt-online"]);
  });

  it("answers store_unavailable (503) and changes nothing when the revocation cannot be stored, so that the IdP retries (BCL §2.8)", async () => {
    const session = await signIn({ sid: "sid-1", refreshToken: "rt-1" });
    const raw = await logoutToken({ sid: "sid-1" });
    const failing = {
      ...stores.revocations,
      revoke: async () => {
        throw new StoreError("revocation.revoke");
      },
    };

    const error = await errorOf(receiveLogoutToken(raw, deps({ revocations: failing })));
    expect(error).toBeInstanceOf(LogoutTokenError);
    expect(error !== "resolved" && [error.code, error.status]).toEqual(["store_unavailable", 503]);
    expect(await check(session)).toEqual(ACTIVE);
    expect(await stores.sessions.read(session.id)).not.toBeNull();
    expect(await stores.revocations.endedSince(0)).toEqual([]);
    expect(revokedAtIdp).toEqual([]);

    // Nothing was remembered either: the IdP's retry is acted on.
    expect((await receiveLogoutToken(raw, deps())).result).toBe("ended");
    expect(await check(session)).toEqual(REVOKED);
  });

  it("queues a valid token the store could not take and stores it once the store is back, though the IdP never retries", async () => {
    const session = await signIn({ sid: "sid-q", refreshToken: "rt-q" });
    const raw = await logoutToken({ sid: "sid-q" });
    let down = true;
    const flaky = {
      ...stores.revocations,
      revoke: (...args: Parameters<Stores["revocations"]["revoke"]>) =>
        down ? Promise.reject(new StoreError("revocation.revoke")) : stores.revocations.revoke(...args),
    };
    const logged: string[] = [];
    const pending = new PendingEndings({ log: (e) => logged.push(e.event), maxAgeMs: 60_000, now: () => clock });
    const error = await errorOf(receiveLogoutToken(raw, deps({ revocations: flaky, pending })));
    // Still 503 (BCL §2.8: the sender should retry), and this process now refuses the session.
    expect(error !== "resolved" && error.status).toBe(503);
    expect(pending.size).toBe(1);
    expect(pending.covers(session.handle)).toBe("revoked");
    await pending.flush();
    expect(pending.size).toBe(1);
    expect(await check(session)).toEqual(ACTIVE);

    down = false;
    await pending.flush();
    expect(pending.size).toBe(0);
    expect(await check(session)).toEqual(REVOKED);
    expect(await stores.sessions.read(session.id)).toBeNull();
    expect(revokedAtIdp).toEqual(["rt-q"]);
    expect(logged).toEqual(["pending_ending.queued", "pending_ending.retrying", "pending_ending.applied"]);
    // An IdP that does retry later changes nothing: the replay record came with the queued revocation.
    expect((await receiveLogoutToken(raw, deps())).result).toBe("replayed");
  });

  describe("with a Defer (the route's after()): the answer waits for the revocation only", () => {
    type Task = { event: string; run: () => Promise<Record<string, unknown> | void> };
    const deferred = () => {
      const tasks: Task[] = [];
      return { tasks, defer: (event: string, run: Task["run"]) => void tasks.push({ event, run }) };
    };

    it("stores the revocation before answering, and leaves deleting the tokens and revoking refresh tokens to after the answer", async () => {
      const session = await signIn({ sid: "sid-1", refreshToken: "rt-1", scope: "openid" });
      const { tasks, defer } = deferred();

      const outcome = await receiveLogoutToken(await logoutToken({ sid: "sid-1" }), deps({ defer }));
      expect(outcome).toMatchObject({ result: "ended", sessionsEnded: 1, cleanupDeferred: true });
      // Answered: the session is already over for the guard, its tokens are still there, the IdP not yet asked.
      expect(await check(session)).toEqual(REVOKED);
      expect(await stores.sessions.read(session.id)).not.toBeNull();
      expect(revokedAtIdp).toEqual([]);
      expect(tasks.map((t) => t.event).sort()).toEqual(["backchannel_logout.refresh_tokens", "sessions.cleanup"]);

      const results = await Promise.all(tasks.map((t) => t.run()));
      expect(await stores.sessions.read(session.id)).toBeNull();
      expect(revokedAtIdp).toEqual(["rt-1"]);
      expect(results).toContainEqual({ revoked: 1, failed: 0 });
    });

    it("retries what fails after the answer, and reports what still failed for the log", async () => {
      await signIn({ sid: "sid-2", refreshToken: "rt-2", scope: "openid" });
      let endCalls = 0;
      let revokeCalls = 0;
      const sessions = {
        ...stores.sessions,
        end: async (...args: Parameters<Stores["sessions"]["end"]>) => {
          endCalls += 1;
          if (endCalls < 2) throw new StoreError("session.end");
          return stores.sessions.end(...args);
        },
      };
      const { tasks, defer } = deferred();
      await receiveLogoutToken(
        await logoutToken({ sid: "sid-2" }),
        deps({
          sessions,
          defer,
          revokeRefreshToken: async () => {
            revokeCalls += 1;
            throw new Error("the IdP did not answer");
          },
        }),
      );
      const byEvent = Object.fromEntries(tasks.map((t) => [t.event, t.run]));
      await expect(byEvent["sessions.cleanup"]!()).resolves.toEqual({ sessions: 1 });
      expect(endCalls).toBe(2);
      await expect(byEvent["backchannel_logout.refresh_tokens"]!()).resolves.toEqual({ revoked: 0, failed: 1 });
      expect(revokeCalls).toBe(3);
    });

    it("defers nothing when nothing ended, and a store failure is still answered 503 before anything is deferred", async () => {
      const { tasks, defer } = deferred();
      expect((await receiveLogoutToken(await logoutToken({ sid: "nobody-holds-this" }), deps({ defer }))).result).toBe("ended");
      const failing = { ...stores.revocations, revoke: () => Promise.reject(new StoreError("revocation.revoke")) };
      await signIn({ sid: "sid-3" });
      const error = await errorOf(receiveLogoutToken(await logoutToken({ sid: "sid-3" }), deps({ defer, revocations: failing })));
      expect(error !== "resolved" && error.status).toBe(503);
      expect(tasks).toEqual([]);
    });
  });

  it("takes fractional iat and exp (RFC 7519 §2 NumericDate), to the millisecond, and still remembers the jti", async () => {
    clock = NOW_MS + 700;
    const iat = NOW_S - 0.5;
    const before = await signIn({ createdAt: NOW_MS + 400 });
    const after = await signIn({ createdAt: NOW_MS + 600 });
    const raw = await logoutToken({ sub: "alice", iat, exp: NOW_S + 119.5 });

    const outcome = await receiveLogoutToken(raw, deps());
    expect(outcome.result).toBe("ended");
    // beforeMs = (iat + 1) s = NOW_MS + 500.
    expect(await check(before)).toEqual(REVOKED);
    expect(await check(after)).toEqual(ACTIVE);

    clock += 100_000;
    expect((await receiveLogoutToken(raw, deps())).result).toBe("replayed");
  });
});
