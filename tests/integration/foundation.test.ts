import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Redis as IORedis } from "ioredis";
import { HttpSession } from "../support/http-client";
import { bank, confirmIdpLogout, sessionOf, signIn, startTestStack, onCluster } from "../support/lockstep";
import { testRedis } from "../support/test-redis";
import type { Stack } from "../../demo/scripts/stack";
import { appKeys, sessionTag, type Keys } from "@/lib/store/keys";
import { subjectMark } from "@/lib/store/verdict";
import type { SessionRecord } from "@/lib/session/record";

let stack: Stack;
let app: string;
let redis: IORedis;
let k: Keys;

beforeAll(async () => {
  stack = await startTestStack();
  app = stack.apps[0]!.url;
  redis = await testRedis();
  k = appKeys(stack.keyPrefix, bank.appId);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

type SessionJson = {
  user: { sub: string; name: string; email: string };
  session: { id: string; expiresAt: string; idp: { iss: string; sid: string } };
};

async function signedIn(username = "alice") {
  const browser = new HttpSession();
  const landed = await signIn(browser, app, username, `${username}-password`);
  expect(landed.status).toBe(200);
  expect(new URL(landed.url).pathname).toBe("/account");
  const response = await sessionOf(browser, app);
  expect(response.status).toBe(200);
  const session = (await response.json()) as SessionJson;
  return { browser, session, page: await landed.text() };
}

async function record(sessionId: string): Promise<SessionRecord> {
  const raw = await redis.get(k.session(sessionId));
  expect(raw).not.toBeNull();
  return JSON.parse(raw!) as SessionRecord;
}

describe("sign-in and the server-side session", () => {
  it("signs in through the IdP's real login form and shows who the user is", async () => {
    const { session, page } = await signedIn();
    expect(session.user).toMatchObject({ name: "Alice Example", email: "alice@example.com" });
    expect(session.session.idp.iss).toBe(stack.issuer);
    expect(session.session.idp.sid).toBeTruthy();
    expect(page).toContain("Alice Example");
  });

  it("ends the server session when Auth.js's own signOut() is used, not only the cookie", async () => {
    const { browser, session } = await signedIn();
    const oldCookie = browser.cookieHeader(app)!;
    const csrf = (await (await browser.fetch(`${app}/api/auth/csrf`)).json()) as { csrfToken: string };
    const out = await browser.fetch(`${app}/api/auth/signout`, {
      method: "POST",
      body: new URLSearchParams({ csrfToken: csrf.csrfToken }),
    });
    expect(out.status).toBeLessThan(400);
    expect((await fetch(`${app}/api/session`, { headers: { cookie: oldCookie } })).status).toBe(401);
    expect(await redis.exists(k.session(session.session.id))).toBe(0);
  });

  it("answers Auth.js's session endpoint from the revocation list: a revoked session is signed out there too", async () => {
    const { browser, session } = await signedIn();
    const live = await browser.fetch(`${app}/api/auth/session`);
    expect(((await live.json()) as { expires?: string }).expires).toBeTruthy();
    await redis.set(k.revokedSession(session.session.id), "revoked", "EX", 60);
    const cookie = browser.cookieHeader(app)!;
    const answer = await fetch(`${app}/api/auth/session`, { headers: { cookie } });
    const body = (await answer.json()) as { expires?: string } | null;
    expect(body?.expires).toBeUndefined();
    // Its cookie is not re-issued.
    const reissued = answer.headers.getSetCookie().filter((c) => c.startsWith("bank.session=") && !/^bank\.session=;|Max-Age=0/.test(c));
    expect(reissued).toEqual([]);
  });

  it("ends the session a new sign-in in the same browser replaces", async () => {
    const first = await signedIn();
    const firstCookie = first.browser.cookieHeader(app)!;
    await signIn(first.browser, app, "alice", "alice-password");
    const second = (await (await sessionOf(first.browser, app)).json()) as { session: { id: string } };
    expect(second.session.id).not.toBe(first.session.session.id);
    expect((await fetch(`${app}/api/session`, { headers: { cookie: firstCookie } })).status).toBe(401);
  });

  it("refuses a wrong password at the IdP and creates no session", async () => {
    const browser = new HttpSession();
    const landed = await signIn(browser, app, "alice", "wrong-password");
    expect(new URL(landed.url).origin).toBe(new URL(stack.issuer).origin);
    expect((await sessionOf(browser, app)).status).toBe(401);
  });

  it("keeps every token on the server: none in any cookie, page or JSON the browser receives", async () => {
    const { browser, session, page } = await signedIn();
    const stored = await record(session.session.id);
    const tokens = [stored.idToken, stored.accessToken, stored.refreshToken].filter((t): t is string => Boolean(t));
    expect(tokens.length).toBe(3);

    const seen: string[] = [page, JSON.stringify(session)];
    for (const path of ["/", "/account", "/api/session", "/api/auth/session", "/api/userinfo"]) {
      const response = await browser.fetch(`${app}${path}`);
      seen.push(await response.text(), ...response.headers.getSetCookie());
    }
    seen.push(JSON.stringify(browser.cookies(app)));
    const everything = seen.join("\n");
    for (const token of tokens) {
      expect(everything).not.toContain(token);
      // Not even one of a JWT's parts (the payload would reveal claims).
      for (const part of token.split(".").filter((p) => p.length > 20)) expect(everything).not.toContain(part);
    }
  });

  it("answers 401 JSON on /api/session without a session", async () => {
    const response = await fetch(`${app}/api/session`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "unauthorized", reason: "no_session" });
  });

  it("writes every session key with a TTL", async () => {
    const { session } = await signedIn();
    const sessionKeys = [
      k.session(session.session.id),
      k.idpSession(stack.issuer, session.session.idp.sid),
      k.subjectSessions(stack.issuer, session.user.sub),
    ];
    for (const key of sessionKeys) {
      const ttl = await redis.ttl(key);
      expect(ttl, key).toBeGreaterThan(0);
    }
  });
});

describe("the edge guard refuses the very next request after a revocation", () => {
  async function expectRefused(browser: HttpSession, reason: string) {
    const api = await sessionOf(browser, app);
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: "unauthorized", reason });
    // The cookie was cleared by that answer: the next page request goes to sign in.
  }

  it("by Lockstep session id", async () => {
    const { browser, session } = await signedIn();
    await redis.set(k.revokedSession(session.session.id), "revoked", "EX", 60);
    await expectRefused(browser, "revoked");
  });

  it("by the IdP session (iss, sid)", async () => {
    const { browser, session } = await signedIn();
    await redis.set(k.revokedIdpSession(sessionTag(session.session.id), stack.issuer, session.session.idp.sid), "revoked", "EX", 60);
    await expectRefused(browser, "revoked");
  });

  it("by subject, for sessions started before the mark; a later sign-in works", async () => {
    const { browser, session } = await signedIn("bob");
    await redis.set(k.revokedSubject(stack.issuer, session.user.sub), subjectMark(Date.now(), "revoked"), "EX", 60);
    await expectRefused(browser, "revoked");
    const again = await signedIn("bob");
    expect(again.session.session.id).not.toBe(session.session.id);
    await redis.del(k.revokedSubject(stack.issuer, session.user.sub));
  });

  it("redirects a page request to the signed-out page, clears the cookie and leaves a sealed note the page reads the reason by", async () => {
    const { browser, session } = await signedIn();
    await redis.set(k.revokedSession(session.session.id), "revoked", "EX", 60);
    const page = await browser.fetch(`${app}/account`);
    expect(page.status).toBe(303);
    // No reason in the URL: anyone could craft one.
    expect(new URL(page.headers.get("location")!, app).href).toBe(`${app}/signed-out`);
    expect(page.headers.getSetCookie().some((c) => c.startsWith("bank.session=;") && c.includes("Max-Age=0"))).toBe(true);
    expect(browser.cookies(app)["bank.session"]).toBeUndefined();
    expect(browser.cookies(app)["bank.ended"]).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
    const shown = await (await browser.fetch(`${app}/signed-out?reason=security_event`)).text();
    expect(shown).toContain('data-reason="revoked"');
    // The same URL without this browser's note says nothing in particular.
    expect(await (await fetch(`${app}/signed-out?reason=security_event`)).text()).toContain('data-reason="none"');
  });

  it("treats a session whose record is gone as over", async () => {
    const { browser, session } = await signedIn();
    await redis.del(k.session(session.session.id));
    await expectRefused(browser, "expired");
  });

  it("reads a percent-encoded session cookie as the same value at the guard, the pages and the route handlers", async () => {
    const { browser } = await signedIn();
    const value = browser.cookies(app)["bank.session"]!;
    const encoded = [...value].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("");
    const cookie = `bank.session=${encoded}`;
    expect((await fetch(`${app}/api/session`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${app}/account`, { headers: { cookie }, redirect: "manual" })).status).toBe(200);
    // A value that does not decode is no cookie at all, at every layer alike.
    const broken = `bank.session=${value}%E0%A4%A`;
    expect((await fetch(`${app}/api/session`, { headers: { cookie: broken } })).status).toBe(401);
    expect((await fetch(`${app}/account`, { headers: { cookie: broken }, redirect: "manual" })).status).not.toBe(200);
  });

  it("serves nothing through Next's image optimizer (it would fetch a page such as /account)", async () => {
    const { browser } = await signedIn();
    const response = await browser.fetch(`${app}/_next/image?url=${encodeURIComponent("/account")}&w=64&q=75`);
    expect(response.status).toBe(404);
  });

  it("refuses a forged or garbled cookie", async () => {
    const response = await fetch(`${app}/api/session`, {
      headers: { cookie: "bank.session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..x.y.z" },
    });
    expect(response.status).toBe(401);
  });
});

/**
 * RP-Initiated Logout 1.0 §2: the redirect to the IdP's end_session_endpoint. Checks that no ID
 * token travels in it (id_token_hint is only RECOMMENDED, and a URL is logged everywhere).
 */
function endSessionRedirect(response: Response): URL {
  expect(response.status).toBe(303);
  const url = new URL(response.headers.get("location")!);
  expect(url.origin).toBe(new URL(stack.issuer).origin);
  expect(url.searchParams.get("id_token_hint")).toBeNull();
  return url;
}

describe("RP-initiated logout", () => {
  it("ends the session at the app and at the IdP, and checks the returned state", async () => {
    const { browser, session } = await signedIn();
    const toIdp = await browser.fetch(`${app}/api/logout`, { method: "POST", headers: { origin: app } });
    const endSession = endSessionRedirect(toIdp);
    expect(endSession.searchParams.get("client_id")).toBe(bank.clientId);
    expect(endSession.searchParams.get("post_logout_redirect_uri")).toBe(`${app}/api/logout/callback`);
    expect(endSession.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The app side is over before the browser even reaches the IdP; the record's deletion follows the answer.
    expect((await sessionOf(browser, app)).status).toBe(401);
    await vi.waitFor(async () => expect(await redis.exists(k.session(session.session.id))).toBe(0), { timeout: 2_000 });

    const confirm = await browser.fetch(endSession, {}, { follow: true });
    const back = await confirmIdpLogout(browser, confirm);
    expect(back.status).toBe(200);
    expect(back.url).toBe(`${app}/signed-out`);
    const page = await back.text();
    expect(page).toContain('data-reason="logout"');
    // The IdP came back with our state; that proves it handled the request, not that it ended its session.
    expect(page).toContain('data-idp="returned"');

    // The IdP session is over too: signing in again asks for the password.
    const again = await signIn(browser, app, "alice", "alice-password");
    expect(new URL(again.url).pathname).toBe("/account");
  });

  it("answers the account page's script with the same step as JSON: the same cookies, no token", async () => {
    const { browser, session } = await signedIn();
    const answer = await browser.fetch(`${app}/api/logout`, { method: "POST", headers: { origin: app, accept: "application/json" } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toContain("application/json");
    expect(answer.headers.get("cache-control")).toBe("no-store");
    const { next } = (await answer.json()) as { next: string };
    const endSession = new URL(next);
    expect(endSession.origin).toBe(new URL(stack.issuer).origin);
    expect(endSession.searchParams.get("client_id")).toBe(bank.clientId);
    expect(endSession.searchParams.get("id_token_hint")).toBeNull();
    expect(endSession.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Ended before the answer (the record's deletion follows it), the cookie cleared by it.
    expect((await sessionOf(browser, app)).status).toBe(401);
    await vi.waitFor(async () => expect(await redis.exists(k.session(session.session.id))).toBe(0), { timeout: 2_000 });
    // The state cookie came with the JSON answer: the IdP's return is trusted as from the redirect.
    const back = await confirmIdpLogout(browser, await browser.fetch(endSession, {}, { follow: true }));
    expect(back.url).toBe(`${app}/signed-out`);
    const page = await back.text();
    expect(page).toContain('data-reason="logout"');
    expect(page).toContain('data-idp="returned"');
  });

  it("refuses a cross-site logout POST and keeps the session", async () => {
    const { browser } = await signedIn();
    const forged = await browser.fetch(`${app}/api/logout`, { method: "POST", headers: { origin: "http://evil.example" } });
    expect(forged.status).toBe(403);
    const noOrigin = await browser.fetch(`${app}/api/logout`, { method: "POST" });
    expect(noOrigin.status).toBe(403);
    expect((await sessionOf(browser, app)).status).toBe(200);
  });

  it("does not trust a callback whose state differs or is missing (RPIL §2, §4)", async () => {
    const { browser } = await signedIn();
    const toIdp = await browser.fetch(`${app}/api/logout`, { method: "POST", headers: { origin: app } });
    const state = endSessionRedirect(toIdp).searchParams.get("state");
    for (const query of [`?state=${state}_INVALID`, ""]) {
      const back = await browser.fetch(`${app}/api/logout/callback${query}`);
      expect(back.status).toBe(303);
      expect(back.headers.get("location")).toBe(`${app}/signed-out`);
      expect(await (await browser.fetch(`${app}/signed-out`)).text()).toContain('data-reason="logout_unconfirmed"');
    }
    expect((await sessionOf(browser, app)).status).toBe(401);
  });
});

describe("server-held access tokens", () => {
  it("refreshes a token near expiry once, even under concurrent requests", async () => {
    const { browser, session } = await signedIn();
    const before = await record(session.session.id);
    await redis.set(k.session(session.session.id), JSON.stringify({ ...before, accessTokenExpiresAt: Date.now() }), "KEEPTTL");

    let refreshes = 0;
    const count = (ctx: { oidc: { params?: { grant_type?: unknown } } }) => {
      if (ctx.oidc.params?.grant_type === "refresh_token") refreshes += 1;
    };
    stack.idp.provider.on("grant.success", count);
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => browser.fetch(`${app}/api/userinfo`)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      const body = (await answers[0]!.json()) as { claims: { sub: string } };
      expect(body.claims.sub).toBe(session.user.sub);
    } finally {
      stack.idp.provider.off("grant.success", count);
    }
    expect(refreshes).toBe(1);
    const after = await record(session.session.id);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.accessTokenExpiresAt).toBeGreaterThan(Date.now());
  });
});

describe("an access token the IdP refuses (RFC 6750 §3.1)", () => {
  /** Counts the refresh-token grants the IdP completes while `run` runs. */
  async function refreshesDuring(run: () => Promise<void>): Promise<number> {
    let refreshes = 0;
    const count = (ctx: { oidc: { params?: { grant_type?: unknown } } }) => {
      if (ctx.oidc.params?.grant_type === "refresh_token") refreshes += 1;
    };
    stack.idp.provider.on("grant.success", count);
    try {
      await run();
    } finally {
      stack.idp.provider.off("grant.success", count);
    }
    return refreshes;
  }

  it("is replaced once with the refresh token, and the call answered", async () => {
    const { browser, session } = await signedIn();
    const before = await record(session.session.id);
    // Revoked at the IdP, unknown to Lockstep: its record still says the token is valid for minutes.
    await (await stack.idp.provider.AccessToken.find(before.accessToken!))!.destroy();

    const refreshes = await refreshesDuring(async () => {
      const answer = await browser.fetch(`${app}/api/userinfo`);
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { claims: { sub: string } }).claims.sub).toBe(session.user.sub);
    });
    expect(refreshes).toBe(1);
    expect((await record(session.session.id)).accessToken).not.toBe(before.accessToken);
    expect((await sessionOf(browser, app)).status).toBe(200);
  });

  it("ends the session when the IdP refuses its refresh token too (a grant revoked, or a sign-out racing the call)", async () => {
    const { browser, session } = await signedIn();
    const before = await record(session.session.id);
    await (await stack.idp.provider.AccessToken.find(before.accessToken!))!.destroy();
    await (await stack.idp.provider.RefreshToken.find(before.refreshToken!))!.destroy();

    const answer = await browser.fetch(`${app}/api/userinfo`);
    expect(answer.status).toBe(401);
    expect(await answer.json()).toEqual({ error: "unauthorized", reason: "refresh_failed" });
    // Ended here, not only refused once: the next request finds the session revoked.
    const next = await sessionOf(browser, app);
    expect(next.status).toBe(401);
    await vi.waitFor(async () => expect(await redis.get(k.session(session.session.id))).toBeNull());
  });
});

describe("when Redis cannot answer", () => {
  // The stack cannot take a Redis Cluster away (onCluster): Redis-down behaviour is tested on one Redis, and a cluster that cannot be reached in the store-cluster tier.
  it.skipIf(onCluster)("fails closed with a clear 503, and recovers when Redis returns", async () => {
    const { browser } = await signedIn();
    await stack.stopGateway();
    try {
      const api = await sessionOf(browser, app);
      expect(api.status).toBe(503);
      expect(((await api.json()) as { error: string }).error).toBe("temporarily_unavailable");
      const page = await browser.fetch(`${app}/account`);
      expect(page.status).toBe(503);
      expect(page.headers.get("content-type")).toContain("text/html");
      // The cookie is kept: the session is not known to be over.
      expect(browser.cookies(app)["bank.session"]).toBeDefined();
    } finally {
      await stack.startGateway();
    }
    expect((await sessionOf(browser, app)).status).toBe(200);
  });

  // The stack cannot take a Redis Cluster away (onCluster): Redis-down behaviour is tested on one Redis, and a cluster that cannot be reached in the store-cluster tier.
  it.skipIf(onCluster)(
    "signs out anyway: clears the cookie, stores the sign-out once the store is back, and still sends the browser to the IdP",
    async () => {
      const { browser, session } = await signedIn();
      const oldCookie = browser.cookieHeader(app)!;
      await stack.stopGateway();
      let toIdp: Response;
      try {
        toIdp = await browser.fetch(`${app}/api/logout`, { method: "POST", headers: { origin: app } });
        expect(browser.cookies(app)["bank.session"]).toBeUndefined();
      } finally {
        await stack.startGateway();
      }
      // The request names the client (RPIL §2); no ID token could have been read anyway.
      const endSession = endSessionRedirect(toIdp);
      expect(endSession.searchParams.get("client_id")).toBe(bank.clientId);
      // The sign-out was queued while the store was down and is stored now that it is back: a copy of
      // the cookie opens nothing, before the IdP says anything.
      for (let i = 0; i < 100 && (await redis.exists(k.session(session.session.id))) === 1; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await redis.exists(k.session(session.session.id))).toBe(0);
      expect((await fetch(`${app}/api/session`, { headers: { cookie: oldCookie } })).status).toBe(401);
      expect((await fetch(`${app}/api/userinfo`, { headers: { cookie: oldCookie } })).status).toBe(401);

      const back = await confirmIdpLogout(browser, await browser.fetch(endSession, {}, { follow: true }));
      expect(back.url).toBe(`${app}/signed-out`);
      // The queued sign-out is recorded by now: the page reads it like any other.
      expect(await back.text()).toContain('data-reason="logout"');
      expect((await fetch(`${app}/api/session`, { headers: { cookie: oldCookie } })).status).toBe(401);
    },
  );

  // The stack cannot take a Redis Cluster away (onCluster): Redis-down behaviour is tested on one Redis, and a cluster that cannot be reached in the store-cluster tier.
  it.skipIf(onCluster)("lets requests through when GUARD_FAIL_OPEN is set, while route handlers still refuse to guess", async () => {
    const running = stack.apps[0]!;
    const open = await stack.addInstance({ ...running, env: { ...running.env, GUARD_FAIL_OPEN: "true" } });
    const { browser } = await signedIn();
    const cookie = browser.cookieHeader(app)!;
    await stack.stopGateway();
    try {
      // Fail open: the guard lets a cookie-bearing request pass to a route that needs no Redis.
      expect((await fetch(`${open.url}/api/health`, { headers: { cookie } })).status).toBe(200);
      // Fail closed (the default) on the same request.
      expect((await fetch(`${app}/api/health`, { headers: { cookie } })).status).toBe(503);
      // A handler that needs the session checks again, and cannot: 503, not a guess.
      expect((await fetch(`${open.url}/api/session`, { headers: { cookie } })).status).toBe(503);
      // A page that needs the session says plainly that it cannot check it, instead of failing with a 500.
      const page = await fetch(`${open.url}/account`, { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Your session cannot be checked right now");
    } finally {
      await stack.startGateway();
      await open.stop();
    }
  });
});
