// RFC 8707 resource indicators and RFC 9068 JWT access tokens at the demo IdP, at the three grants the
// BFF uses them with (authorization code, refresh token, client credentials); and what stays as it was:
// without `resource`, the opaque token for userinfo.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { demoResources } from "../idp/resources";
import { demoUsers } from "../idp/users";
import { HttpSession } from "../../tests/support/http-client";
import { authorize, redeem, startAppServer, tokenRequest, type AppServer } from "./support";

const { statements, portfolio } = demoResources;
const RESOURCE_SCOPES = `${statements.scope} ${portfolio.scope}`;

describe("resource indicators (RFC 8707) and JWT access tokens (RFC 9068) at the demo IdP", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  const credentials = { username: alice.username, password: alice.password };
  let app: AppServer;
  let idp: RunningIdp;
  let client: DemoClient;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  beforeAll(async () => {
    app = await startAppServer();
    client = { clientId: "bank", clientSecret: "bank-secret", appUrl: app.origin, name: "Bank", backchannelSessionRequired: true };
    idp = await startIdp({ port: 0, clients: [client], accessTokenTtlSeconds: 300 });
    jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  });

  afterAll(async () => {
    await idp?.close();
    await app?.close();
  });

  /** Signs alice in asking for both resources and their scopes, and answers the code and its verifier. */
  async function authorizeWithResources(browser = new HttpSession()) {
    const result = await authorize(browser, idp.issuer, client, credentials, {
      scope: `openid profile email ${RESOURCE_SCOPES}`,
      resource: [statements.indicator, portfolio.indicator],
    });
    expect(result.code, result.page?.html).toEqual(expect.any(String));
    return { browser, code: result.code!, verifier: result.pending.verifier };
  }

  /** Verifies an RFC 9068 access token against the IdP's jwks_uri for `audience`. */
  async function verifyAccessToken(token: unknown, audience: string) {
    expect(token).toEqual(expect.any(String));
    return jwtVerify(String(token), jwks, { issuer: idp.issuer, audience, typ: "at+jwt", algorithms: ["RS256"] });
  }

  it("advertises the client credentials grant and authorization_response_iss_parameter_supported (RFC 9207 §3)", async () => {
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token", "client_credentials"]));
    expect(discovery.authorization_response_iss_parameter_supported).toBe(true);
  });

  it("issues a JWT access token for the resource named at the code exchange (RFC 8707 §2.2): RS256, typ at+jwt, aud = the resource", async () => {
    const { code, verifier } = await authorizeWithResources();
    const { status, body } = await tokenRequest(idp.issuer, client, {
      grant_type: "authorization_code",
      code,
      redirect_uri: `${client.appUrl}/api/auth/callback/oidc`,
      code_verifier: verifier,
      resource: statements.indicator,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: "Bearer", scope: statements.scope });
    expect(body.id_token).toEqual(expect.any(String));
    expect(body.refresh_token).toEqual(expect.any(String));
    const { payload, protectedHeader } = await verifyAccessToken(body.access_token, statements.indicator);
    expect(protectedHeader).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    expect(payload).toMatchObject({ sub: alice.sub, client_id: client.clientId, scope: statements.scope, aud: statements.indicator });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload).not.toHaveProperty("cnf");
  });

  it("keeps the opaque userinfo token when the code exchange names no resource", async () => {
    const { code, verifier } = await authorizeWithResources();
    const { status, body } = await redeem(idp.issuer, client, code, verifier);
    expect(status).toBe(200);
    expect(String(body.access_token).split(".")).toHaveLength(1);
    expect(body.scope).toBe("openid profile email");
    const userinfo = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${String(body.access_token)}` } });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ sub: alice.sub });
  });

  it("issues a JWT access token for another granted resource at the refresh-token grant (RFC 8707 §2.2), and opaque without one", async () => {
    const { code, verifier } = await authorizeWithResources();
    const signIn = await redeem(idp.issuer, client, code, verifier);
    let refreshToken = String(signIn.body.refresh_token);

    const forPortfolio = await tokenRequest(idp.issuer, client, {
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      resource: portfolio.indicator,
    });
    expect(forPortfolio.status).toBe(200);
    const { payload } = await verifyAccessToken(forPortfolio.body.access_token, portfolio.indicator);
    expect(payload).toMatchObject({ sub: alice.sub, scope: portfolio.scope });
    refreshToken = String(forPortfolio.body.refresh_token ?? refreshToken);

    const plain = await tokenRequest(idp.issuer, client, { grant_type: "refresh_token", refresh_token: refreshToken });
    expect(plain.status).toBe(200);
    expect(String(plain.body.access_token).split(".")).toHaveLength(1);
  });

  it("refuses a resource the grant did not include, or one it does not know (RFC 8707 §2: invalid_target)", async () => {
    const browser = new HttpSession();
    const result = await authorize(browser, idp.issuer, client, credentials, {
      scope: `openid ${statements.scope}`,
      resource: [statements.indicator],
    });
    const signIn = await redeem(idp.issuer, client, result.code!, result.pending.verifier);
    const refreshToken = String(signIn.body.refresh_token);
    for (const resource of [portfolio.indicator, "https://api.lockstep.example/unknown"]) {
      const { status, body } = await tokenRequest(idp.issuer, client, {
        grant_type: "refresh_token",
        refresh_token: refreshToken,
        resource,
      });
      expect(status).toBe(400);
      expect(body.error).toBe("invalid_target");
    }
  });

  it("puts only the resource's own scope in its token: a scope the user was not asked for is left out", async () => {
    const browser = new HttpSession();
    const result = await authorize(browser, idp.issuer, client, credentials, { scope: "openid", resource: [statements.indicator] });
    const { status, body } = await tokenRequest(idp.issuer, client, {
      grant_type: "authorization_code",
      code: result.code!,
      redirect_uri: `${client.appUrl}/api/auth/callback/oidc`,
      code_verifier: result.pending.verifier,
      resource: statements.indicator,
    });
    expect(status).toBe(200);
    const { payload } = await verifyAccessToken(body.access_token, statements.indicator);
    expect(payload.scope).toBeUndefined();
  });

  it("issues the app's own JWT access token at the client credentials grant (RFC 6749 §4.4), sub = the client", async () => {
    const { status, body } = await tokenRequest(idp.issuer, client, {
      grant_type: "client_credentials",
      resource: statements.indicator,
      scope: statements.scope,
    });
    expect(status).toBe(200);
    expect(body).not.toHaveProperty("refresh_token");
    const { payload } = await verifyAccessToken(body.access_token, statements.indicator);
    expect(payload).toMatchObject({ sub: client.clientId, client_id: client.clientId, scope: statements.scope });
    expect(decodeProtectedHeader(String(body.access_token)).kid).toEqual(expect.any(String));
  });

  it("ends the refresh token with the IdP session even when it asks for a resource (expiresWithSession)", async () => {
    const { code, verifier } = await authorizeWithResources();
    const signIn = await redeem(idp.issuer, client, code, verifier);
    await idp.endAllSessions(alice.username);
    const { status, body } = await tokenRequest(idp.issuer, client, {
      grant_type: "refresh_token",
      refresh_token: String(signIn.body.refresh_token),
      resource: statements.indicator,
    });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_grant");
  });
});
