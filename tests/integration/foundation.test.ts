import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis as IORedis } from "ioredis";
import { HttpSession } from "../support/http-client";
import { bank, confirmIdpLogout, sessionOf, signIn, startTestStack } from "../support/lockstep";
import { testRedisUrl } from "../support/require-redis";
import type { Stack } from "../../scripts/stack";
import { appKeys, type Keys } from "@/lib/store/keys";
import { subjectMark } from "@/lib/revocation/verdict";
import type { SessionRecord } from "@/lib/session/record";

let stack: Stack;
let app: string;
let redis: IORedis;
let k: Keys;

beforeAll(async () => {
  stack = await startTestStack();
  app = stack.apps[0]!.url;
  redis = new IORedis(testRedisUrl);
  k = appKeys(stack.keyPrefix, bank.appId);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

type SessionJson = { user: { sub: string; name: string; email: string }; session: { id: string; expiresAt: string; idp: { iss: string; sid: string } } };

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
    const sessionKeys = [k.session(session.session.id), k.idpSession(stack.issuer, session.session.idp.sid), k.subjectSessions(stack.issuer, session.user.sub)];
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
    await redis.set(k.revokedIdpSession(stack.issuer, session.session.idp.sid), "revoked", "EX", 60);
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

  it("redirects a page request to the signed-out page with the reason and clears the cookie", async () => {
    const { browser, session } = await signedIn();
    await redis.set(k.revokedSession(session.session.id), "revoked", "EX", 60);
    const page = await browser.fetch(`${app}/account`);
    expect(page.status).toBe(303);
    expect(new URL(page.headers.get("location")!, app).href).toBe(`${app}/signed-out?reason=revoked`);
    expect(page.headers.getSetCookie().some((c) => c.startsWith("bank.session=;") && c.includes("Max-Age=0"))).toBe(true);
    expect(browser.cookies(app)["bank.session"]).toBeUndefined();
  });

  it("treats a session whose record is gone as over", async () => {
    const { browser, session } = await signedIn();
    await redis.del(k.session(session.session.id));
    await expectRefused(browser, "expired");
  });

  it("refuses a forged or garbled cookie", async () => {
    const response = await fetch(`${app}/api/session`, { headers: { cookie: "bank.session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..x.y.z" } });
    expect(response.status).toBe(401);
  });
});

describe("RP-initiated logout", () => {
  it("ends the session at the app and at the IdP, and checks the returned state", async () => {
    const { browser, session } = await signedIn();
    const toIdp = await browser.fetch(`${app}/api/logout`, { method: "POST", headers: { origin: app } });
    expect(toIdp.status).toBe(303);
    const endSession = new URL(toIdp.headers.get("location")!);
    expect(endSession.origin).toBe(new URL(stack.issuer).origin);
    expect(endSession.searchParams.get("id_token_hint")).toBeTruthy();
    expect(endSession.searchParams.get("post_logout_redirect_uri")).toBe(`${app}/api/logout/callback`);
    expect(endSession.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The app side is over before the browser even reaches the IdP.
    expect((await sessionOf(browser, app)).status).toBe(401);
    expect(await redis.exists(k.session(session.session.id))).toBe(0);

    const confirm = await browser.fetch(endSession, {}, { follow: true });
    const back = await confirmIdpLogout(browser, confirm);
    expect(back.status).toBe(200);
    expect(back.url).toBe(`${app}/signed-out?reason=logout`);

    // The IdP session is over too: signing in again asks for the password.
    const again = await signIn(browser, app, "alice", "alice-password");
    expect(new URL(again.url).pathname).toBe("/account");
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
    const state = new URL(toIdp.headers.get("location")!).searchParams.get("state");
    for (const query of [`?state=${state}_INVALID`, ""]) {
      const back = await browser.fetch(`${app}/api/logout/callback${query}`);
      expect(back.status).toBe(303);
      expect(back.headers.get("location")).toBe(`${app}/signed-out?reason=logout_unconfirmed`);
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

describe("when Redis cannot answer", () => {
  it("fails closed with a clear 503, and recovers when Redis returns", async () => {
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

  it("lets requests through when GUARD_FAIL_OPEN is set, while route handlers still refuse to guess", async () => {
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
    } finally {
      await stack.startGateway();
      await open.stop();
    }
  });
});
