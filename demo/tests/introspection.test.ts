// RFC 7662 token introspection at the demo IdP, on refresh tokens: what Lockstep's liveness check asks.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { demoUsers } from "../idp/users";
import { HttpSession, parseForm } from "../../tests/support/http-client";
import { authorize, basicAuth, redeem, startAppServer, tokenRequest, type AppServer, type AuthorizationOptions } from "./support";

describe("token introspection (RFC 7662) at the demo IdP", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  const credentials = { username: alice.username, password: alice.password };
  let app: AppServer;
  let idp: RunningIdp;
  let first: DemoClient;
  let second: DemoClient;
  let discovery: Record<string, unknown>;

  beforeAll(async () => {
    app = await startAppServer();
    first = {
      clientId: "first-app",
      clientSecret: "first-secret",
      appUrl: app.origin,
      name: "First App",
      backchannelSessionRequired: true,
    };
    second = { clientId: "second-app", clientSecret: "second-secret", appUrl: `${app.origin}/second`, name: "Second App" };
    idp = await startIdp({ port: 0, clients: [first, second], accessTokenTtlSeconds: 300 });
    discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  });

  afterAll(async () => {
    await idp?.close();
    await app?.close();
  });

  /** Signs in to `client` in `browser` (password, or single sign-on when the browser has an IdP session) and redeems the code. */
  async function signIn(browser: HttpSession, client: DemoClient, options: AuthorizationOptions = {}) {
    const result = await authorize(browser, idp.issuer, client, credentials, options);
    expect(result.code, result.page?.html).toEqual(expect.any(String));
    const { status, body } = await redeem(idp.issuer, client, result.code!, result.pending.verifier);
    expect(status).toBe(200);
    expect(body.refresh_token).toEqual(expect.any(String));
    return { idToken: String(body.id_token), refreshToken: String(body.refresh_token) };
  }

  /** POSTs the token to the introspection endpoint as `caller` (client_secret_basic, or no authentication). */
  async function introspect(caller: DemoClient | undefined, token: string) {
    const res = await fetch(String(discovery.introspection_endpoint), {
      method: "POST",
      headers: caller ? { authorization: basicAuth(caller) } : {},
      body: new URLSearchParams({ token, token_type_hint: "refresh_token" }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const refresh = (client: DemoClient, refreshToken: string) =>
    tokenRequest(idp.issuer, client, { grant_type: "refresh_token", refresh_token: refreshToken });

  /** Asks the IdP to end its session (RP-initiated logout) and answers the confirm page: "Yes, sign me out", or "Only sign out of <app>". */
  async function signOutAtIdp(browser: HttpSession, idToken: string, choice: "everywhere" | "this-app-only") {
    const url = new URL(String(discovery.end_session_endpoint));
    url.search = new URLSearchParams({
      id_token_hint: idToken,
      post_logout_redirect_uri: `${first.appUrl}/api/logout/callback`,
    }).toString();
    const confirm = await browser.fetch(url, {}, { follow: true });
    expect(confirm.status).toBe(200);
    const form = parseForm(await confirm.text(), "op.logoutForm");
    const answer = await browser.submit(form, confirm.url, choice === "everywhere" ? { logout: "yes" } : {});
    expect(answer.status).toBeLessThan(400);
  }

  it("publishes its introspection endpoint (RFC 8414 §2), where clients authenticate as at the token endpoint", () => {
    expect(discovery.introspection_endpoint).toBe(`${idp.issuer}/token/introspection`);
    // oidc-provider publishes no introspection_endpoint_auth_methods_supported: its client authentication is the token endpoint's.
    expect(discovery).not.toHaveProperty("introspection_endpoint_auth_methods_supported");
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(["client_secret_basic"]));
  });

  it("says a refresh token is active, to its own client, while the IdP session lives (RFC 7662 §2.2)", async () => {
    const { refreshToken } = await signIn(new HttpSession(), first);

    const { status, body } = await introspect(first, refreshToken);
    expect(status).toBe(200);
    expect(body).toMatchObject({ active: true, client_id: first.clientId, sub: alice.sub, iss: idp.issuer });
    expect(body.exp).toEqual(expect.any(Number));
    expect(String(body.scope).split(" ")).toContain("openid");
  });

  it("tells another client nothing about it: active false and no other member (RFC 7662 §2.2, §4)", async () => {
    const { refreshToken } = await signIn(new HttpSession(), first);

    expect(await introspect(second, refreshToken)).toEqual({ status: 200, body: { active: false } });
    // The owner still gets the answer: the refusal is about the caller, not the token.
    expect((await introspect(first, refreshToken)).body.active).toBe(true);
  });

  it("refuses a caller that does not authenticate (RFC 7662 §2.1)", async () => {
    const { refreshToken } = await signIn(new HttpSession(), first);

    const { status, body } = await introspect(undefined, refreshToken);
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });

  it("after the user signs out at the IdP (RP-initiated logout, confirmed), says inactive, and the refresh grant fails with invalid_grant", async () => {
    const browser = new HttpSession();
    const { idToken, refreshToken } = await signIn(browser, first);
    const other = await signIn(browser, second); // single sign-on: the same IdP session
    expect((await introspect(first, refreshToken)).body.active).toBe(true);

    await signOutAtIdp(browser, idToken, "everywhere");

    expect(await introspect(first, refreshToken)).toEqual({ status: 200, body: { active: false } });
    expect(await refresh(first, refreshToken)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    // Every app of that IdP session, not only the one that asked.
    expect(await introspect(second, other.refreshToken)).toEqual({ status: 200, body: { active: false } });
    expect(await refresh(second, other.refreshToken)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("after the admin page's “End all sessions”, says inactive, and the refresh grant fails with invalid_grant", async () => {
    const { refreshToken } = await signIn(new HttpSession(), first);
    const elsewhere = await signIn(new HttpSession(), first); // another browser: another IdP session of the same user
    expect((await introspect(first, refreshToken)).body.active).toBe(true);

    await idp.endAllSessions(alice.username);

    for (const token of [refreshToken, elsewhere.refreshToken]) {
      expect(await introspect(first, token)).toEqual({ status: 200, body: { active: false } });
      expect(await refresh(first, token)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    }
  });

  it("after “Only sign out of <app>” at the IdP, says inactive for that app only: the IdP session and the other app's grant live on", async () => {
    const browser = new HttpSession();
    const { idToken, refreshToken } = await signIn(browser, first);
    const other = await signIn(browser, second);

    await signOutAtIdp(browser, idToken, "this-app-only");

    expect(await introspect(first, refreshToken)).toEqual({ status: 200, body: { active: false } });
    expect(await refresh(first, refreshToken)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    expect((await introspect(second, other.refreshToken)).body.active).toBe(true);
    expect((await refresh(second, other.refreshToken)).status).toBe(200);
  });

  it("with offline_access, the refresh token outlives the IdP session on purpose: still active, and it still refreshes (Core §11)", async () => {
    // oidc-provider binds a refresh token to the IdP session (expiresWithSession) only without offline_access,
    // and keeps an offline_access grant at logout (persistsLogout). Introspecting such a token says nothing
    // about the user's IdP session: Lockstep asks for no offline_access, and liveness must not either.
    const browser = new HttpSession();
    const { idToken, refreshToken } = await signIn(browser, first, { scope: "openid offline_access", prompt: "consent" });
    expect((await introspect(first, refreshToken)).body).toMatchObject({ active: true, scope: "openid offline_access" });

    await signOutAtIdp(browser, idToken, "everywhere");

    expect((await introspect(first, refreshToken)).body.active).toBe(true);
    expect((await refresh(first, refreshToken)).status).toBe(200);
  });
});
