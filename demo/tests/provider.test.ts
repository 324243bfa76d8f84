// Drives the demo IdP end to end over plain HTTP, the way a browser and Auth.js would.
import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { demoUsers } from "../idp/users";
import { HttpSession, parseForm } from "../../tests/support/http-client";
import { BACKCHANNEL_EVENT, continueLinkOf, iframesOf, startAppServer, type AppServer } from "./support";

const ACCESS_TOKEN_TTL = 300;

const random = () => randomBytes(16).toString("base64url");
const basicAuth = (client: DemoClient) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret ?? "")}`).toString("base64")}`;

describe("demo IdP", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  const logs: string[] = [];
  const browser = new HttpSession();
  let app: AppServer;
  let idp: RunningIdp;
  let first: DemoClient;
  let second: DemoClient;
  let discovery: Record<string, unknown>;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  // Shared by the steps below, which run in order like one browser session.
  let pending: { url: URL; verifier: string; state: string; nonce: string };
  let loginPageUrl: string;
  let loginHtml: string;
  let code: string;
  let tokens: { id_token: string; access_token: string; refresh_token: string };
  let idTokenClaims: JWTPayload;

  const endpoint = (name: string) => String(discovery[name]);
  const isApp = (url: URL) => url.origin === app.origin;
  const callbackUrl = (client: DemoClient) => `${client.appUrl}/api/auth/callback/oidc`;

  function authorizationRequest(client: DemoClient) {
    const verifier = randomBytes(32).toString("base64url");
    const state = random();
    const nonce = random();
    const url = new URL(endpoint("authorization_endpoint"));
    url.search = new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: callbackUrl(client),
      response_type: "code",
      scope: "openid profile email",
      state,
      nonce,
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    }).toString();
    return { url, verifier, state, nonce };
  }

  async function tokenRequest(client: DemoClient, params: Record<string, string>) {
    const res = await fetch(endpoint("token_endpoint"), {
      method: "POST",
      headers: { authorization: basicAuth(client) },
      body: new URLSearchParams(params),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function redeem(client: DemoClient, authCode: string, verifier: string) {
    return tokenRequest(client, {
      grant_type: "authorization_code",
      code: authCode,
      redirect_uri: callbackUrl(client),
      code_verifier: verifier,
    });
  }

  beforeAll(async () => {
    app = await startAppServer();
    // The first app asks for sids (backchannel_logout_session_required, and front-channel logout by default);
    // the second keeps the back-channel default and has no front-channel logout, so it gets no sid at all.
    first = {
      clientId: "test-app",
      clientSecret: "test-app-secret",
      appUrl: app.origin,
      name: "Test App",
      backchannelSessionRequired: true,
    };
    second = {
      clientId: "second-app",
      clientSecret: "second-app-secret",
      appUrl: `${app.origin}/second`,
      name: "Second App",
      frontchannelLogout: false,
    };
    idp = await startIdp({ port: 0, clients: [first, second], accessTokenTtlSeconds: ACCESS_TOKEN_TTL, log: (line) => logs.push(line) });
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    discovery = (await res.json()) as Record<string, unknown>;
    jwks = createRemoteJWKSet(new URL(endpoint("jwks_uri")));
  });

  afterAll(async () => {
    await idp?.close();
    await app?.close();
  });

  it("listens on localhost and publishes discovery with the endpoints and flags Lockstep needs", () => {
    expect(idp.issuer).toMatch(/^http:\/\/localhost:\d+$/);
    expect(discovery).toMatchObject({
      issuer: idp.issuer,
      authorization_endpoint: `${idp.issuer}/auth`,
      token_endpoint: `${idp.issuer}/token`,
      userinfo_endpoint: `${idp.issuer}/me`,
      jwks_uri: `${idp.issuer}/jwks`,
      end_session_endpoint: `${idp.issuer}/session/end`,
      revocation_endpoint: `${idp.issuer}/token/revocation`,
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      code_challenge_methods_supported: ["S256"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code"],
    });
    expect(discovery.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token"]));
    expect(discovery.scopes_supported).toEqual(expect.arrayContaining(["openid", "profile", "email"]));
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(["sub", "sid", "name", "email", "email_verified"]));
    expect(discovery.token_endpoint_auth_methods_supported).toContain("client_secret_basic");
  });

  it("answers an authorization request (code + PKCE + state + nonce) with the login page", async () => {
    pending = authorizationRequest(first);
    const res = await browser.fetch(pending.url, {}, { follow: true });
    loginHtml = await res.text();
    loginPageUrl = res.url;

    expect(res.status).toBe(200);
    expect(new URL(loginPageUrl).pathname).toMatch(/^\/interaction\/[\w-]+$/);
    expect(loginHtml).toContain("<title>Sign in to Lockstep Demo IdP</title>");
    expect(loginHtml).toContain("Test App");
    expect(loginHtml).toContain("alice-password");
    const form = parseForm(loginHtml);
    expect(form).toEqual({
      action: `${new URL(loginPageUrl).pathname}/login`,
      method: "POST",
      fields: { username: "", password: "" },
    });
  });

  it("refuses a wrong password and shows the form again", async () => {
    const res = await browser.submit(
      parseForm(loginHtml),
      loginPageUrl,
      { username: "alice", password: "not-her-password" },
      { follow: true },
    );
    const html = await res.text();

    expect(res.status).toBe(401);
    expect(res.url).toBe(`${loginPageUrl}/login`);
    expect(html).toContain("Wrong username or password.");
    expect(parseForm(html).fields).toEqual({ username: "alice", password: "" });

    // What the user typed comes back escaped.
    const hostile = await browser.submit(parseForm(loginHtml), loginPageUrl, { username: '"><script>alert(1)</script>', password: "x" });
    const hostileHtml = await hostile.text();
    expect(hostileHtml).not.toContain("<script>");
    expect(hostileHtml).toContain("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("refuses an interaction page to a browser without its interaction cookie", async () => {
    const stranger = await new HttpSession().fetch(loginPageUrl);
    expect(stranger.status).toBe(400);
    expect(await stranger.text()).toContain("expired or was already used");
  });

  it("signs alice in and redirects back to the redirect_uri with a code and the same state", async () => {
    const res = await browser.submit(
      parseForm(loginHtml),
      loginPageUrl,
      { username: "alice", password: alice.password },
      { follow: true, stopAt: isApp },
    );
    expect(res.status).toBe(303);

    const callback = new URL(res.headers.get("location") ?? "");
    expect(`${callback.origin}${callback.pathname}`).toBe(callbackUrl(first));
    expect(callback.searchParams.get("state")).toBe(pending.state);
    expect(callback.searchParams.get("iss")).toBe(idp.issuer);
    code = callback.searchParams.get("code") ?? "";
    expect(code).not.toBe("");
  });

  it("exchanges the code (client_secret_basic + code_verifier) for an ID token, access token and refresh token", async () => {
    const { status, body } = await redeem(first, code, pending.verifier);
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: ACCESS_TOKEN_TTL, scope: "openid profile email" });
    tokens = body as typeof tokens;
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, {
      issuer: idp.issuer,
      audience: first.clientId,
      algorithms: ["RS256"],
    });
    expect(protectedHeader).toEqual({ alg: "RS256", kid: expect.any(String) });
    expect(payload).toMatchObject({ sub: alice.sub, nonce: pending.nonce, name: alice.name, email: alice.email, email_verified: true });
    expect(payload.sid).toEqual(expect.any(String));
    idTokenClaims = payload;
  });

  it("refreshes with the refresh_token grant", async () => {
    const { status, body } = await tokenRequest(first, { grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    expect(status).toBe(200);
    expect(body.access_token).toEqual(expect.any(String));
    expect(body.access_token).not.toBe(tokens.access_token);
    expect(body.refresh_token).toEqual(expect.any(String));

    const { payload } = await jwtVerify(String(body.id_token), jwks, { issuer: idp.issuer, audience: first.clientId });
    expect(payload.sub).toBe(alice.sub);
    expect(payload.sid).toBe(idTokenClaims.sid);
    tokens = { ...tokens, access_token: String(body.access_token), refresh_token: String(body.refresh_token) };
  });

  it("serves userinfo for the access token", async () => {
    const res = await fetch(endpoint("userinfo_endpoint"), { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: alice.sub, name: alice.name, email: alice.email, email_verified: true });
  });

  it("gives a second app single sign-on: no password, straight back with a code (and no sid without a session-required logout)", async () => {
    const request = authorizationRequest(second);
    const res = await browser.fetch(request.url, {}, { follow: true, stopAt: isApp });
    expect(res.status).toBe(303);

    const callback = new URL(res.headers.get("location") ?? "");
    expect(`${callback.origin}${callback.pathname}`).toBe(callbackUrl(second));
    expect(callback.searchParams.get("state")).toBe(request.state);
    const secondCode = callback.searchParams.get("code") ?? "";
    const { status, body } = await redeem(second, secondCode, request.verifier);
    expect(status).toBe(200);
    const { payload } = await jwtVerify(String(body.id_token), jwks, {
      issuer: idp.issuer,
      audience: second.clientId,
      algorithms: ["RS256"],
    });
    expect(payload).toMatchObject({ sub: alice.sub, nonce: request.nonce });
    // Neither backchannel_logout_session_required nor a front-channel logout URI: oidc-provider leaves sid out.
    expect(payload).not.toHaveProperty("sid");

    // A replayed code is refused and revokes what it was exchanged for; the app's IdP session stays.
    expect((await redeem(second, secondCode, request.verifier)).body.error).toBe("invalid_grant");
    const userinfo = await fetch(endpoint("userinfo_endpoint"), { headers: { authorization: `Bearer ${String(body.access_token)}` } });
    expect(userinfo.status).toBe(401);
  });

  it("signs out: confirm page, logout tokens to every app, front-channel page, then back to post_logout_redirect_uri with the state", async () => {
    const state = random();
    const postLogoutRedirectUri = `${first.appUrl}/api/logout/callback`;
    const endSession = new URL(endpoint("end_session_endpoint"));
    endSession.search = new URLSearchParams({
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: postLogoutRedirectUri,
      state,
    }).toString();

    const confirm = await browser.fetch(endSession, {}, { follow: true });
    const html = await confirm.text();
    expect(confirm.status).toBe(200);
    expect(html).toContain("Sign out of the Lockstep Demo IdP?");
    const form = parseForm(html, "op.logoutForm");
    expect(form.method).toBe("POST");
    expect(form.fields.xsrf).toEqual(expect.any(String));
    expect(html).toMatch(/<button[^>]*name="logout"[^>]*value="yes"/);

    const res = await browser.submit(form, confirm.url, { logout: "yes" }, { follow: true, stopAt: isApp });
    expect(res.status).toBe(200);
    const page = await res.text();
    // Only the first app has a front-channel logout URI.
    expect(iframesOf(page).map((f) => f.src.href)).toEqual([
      `${first.appUrl}/api/frontchannel-logout?${new URLSearchParams({ iss: idp.issuer, sid: String(idTokenClaims.sid) })}`,
    ]);
    const back = new URL(continueLinkOf(page));
    expect(`${back.origin}${back.pathname}`).toBe(postLogoutRedirectUri);
    expect(back.searchParams.get("state")).toBe(state);

    // oidc-provider waits for the back-channel POSTs before it redirects.
    const sidFor = new Map<string, unknown>([
      [first.clientId, idTokenClaims.sid],
      [second.clientId, undefined],
    ]);
    const received = [...app.deliveries].sort((a, b) => a.path.localeCompare(b.path));
    expect(received.map((d) => d.path)).toEqual(["/api/backchannel-logout", "/second/api/backchannel-logout"]);
    for (const [delivery, client] of [
      [received[0]!, first],
      [received[1]!, second],
    ] as const) {
      expect(delivery.contentType).toMatch(/^application\/x-www-form-urlencoded/);
      expect(decodeProtectedHeader(delivery.logoutToken)).toMatchObject({ alg: "RS256", typ: "logout+jwt" });
      const { payload } = await jwtVerify(delivery.logoutToken, jwks, {
        issuer: idp.issuer,
        audience: client.clientId,
        typ: "logout+jwt",
        algorithms: ["RS256"],
        requiredClaims: ["iat", "exp", "jti", "sub", "events"],
      });
      expect(payload.sub).toBe(alice.sub);
      // sid only for the app that registered backchannel_logout_session_required; sub-only otherwise.
      expect(payload.sid).toBe(sidFor.get(client.clientId));
      expect(payload.events).toEqual({ [BACKCHANNEL_EVENT]: {} });
      expect(payload.jti).toEqual(expect.any(String));
      expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
      expect(payload).not.toHaveProperty("nonce");
    }
    expect(logs.filter((line) => line.includes("failed"))).toEqual([]);
  });

  it("ends the IdP session and the grants with it", async () => {
    const refresh = await tokenRequest(first, { grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe("invalid_grant");

    const res = await browser.fetch(authorizationRequest(first).url, {}, { follow: true });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<title>Sign in to Lockstep Demo IdP</title>");
  });

  it("shows its own signed-out page when the logout request has no post_logout_redirect_uri", async () => {
    const endSession = new URL(endpoint("end_session_endpoint"));
    endSession.searchParams.set("client_id", first.clientId);
    // Without an IdP session there is nothing to confirm: oidc-provider answers with a self-submitting form.
    const autoPost = await browser.fetch(endSession, {}, { follow: true });
    const res = await browser.submit(parseForm(await autoPost.text()), autoPost.url, {}, { follow: true });
    expect(res.status).toBe(200);
    expect(new URL(res.url).pathname).toBe("/session/end/success");
    expect(await res.text()).toContain("Signed out of the Lockstep Demo IdP");
  });
});
