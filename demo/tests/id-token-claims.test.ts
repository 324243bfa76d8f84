// A client registered with `idTokenClaims: false` gets its profile and email claims at userinfo only,
// as from an IdP that follows OpenID Connect Core §5.4; other clients still get them in the ID token.
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { parseIdpConfig } from "../idp/config";
import { demoUsers } from "../idp/users";
import { HttpSession } from "../../tests/support/http-client";
import { authorize, redeem, startAppServer, tokenRequest, type AppServer } from "./support";

describe("per-client ID token claims at the demo IdP", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  let app: AppServer;
  let idp: RunningIdp;
  let plain: DemoClient;
  let subOnly: DemoClient;

  beforeAll(async () => {
    app = await startAppServer();
    plain = { clientId: "plain-app", clientSecret: "plain-secret", appUrl: app.origin, name: "Plain App" };
    subOnly = {
      clientId: "conform-app",
      clientSecret: "conform-secret",
      appUrl: `${app.origin}/c`,
      name: "Conform App",
      idTokenClaims: false,
    };
    idp = await startIdp({ port: 0, clients: [plain, subOnly] });
  });

  afterAll(async () => {
    await idp?.close();
    await app?.close();
  });

  /** Signs alice in to `client` (scope "openid profile email") and redeems the code. */
  async function tokensFor(client: DemoClient) {
    const result = await authorize(new HttpSession(), idp.issuer, client, { username: alice.username, password: alice.password });
    const { status, body } = await redeem(idp.issuer, client, result.code!, result.pending.verifier);
    expect(status).toBe(200);
    return { idToken: String(body.id_token), accessToken: String(body.access_token), refreshToken: String(body.refresh_token) };
  }

  const userinfo = async (accessToken: string) =>
    (await (await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } })).json()) as Record<string, unknown>;

  it("puts the scope's claims in the ID token by default", async () => {
    const { idToken } = await tokensFor(plain);
    expect(decodeJwt(idToken)).toMatchObject({ sub: alice.sub, name: alice.name, email: alice.email, email_verified: true });
  });

  it("with idTokenClaims false, issues ID tokens with sub only and releases the claims at userinfo (Core §5.4)", async () => {
    const { idToken, accessToken, refreshToken } = await tokensFor(subOnly);

    const claims = decodeJwt(idToken);
    expect(claims.sub).toBe(alice.sub);
    expect(claims).not.toHaveProperty("name");
    expect(claims).not.toHaveProperty("email");
    expect(claims).not.toHaveProperty("email_verified");
    expect(await userinfo(accessToken)).toEqual({ sub: alice.sub, name: alice.name, email: alice.email, email_verified: true });

    // The refresh grant's ID tokens too.
    const refreshed = await tokenRequest(idp.issuer, subOnly, { grant_type: "refresh_token", refresh_token: refreshToken });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(String(refreshed.body.id_token))).not.toHaveProperty("name");
  });

  it("takes idTokenClaims from IDP_CLIENTS, as a boolean", () => {
    const client = { clientId: "a", clientSecret: "s", appUrl: "http://localhost:3000", name: "A" };
    expect(parseIdpConfig({ IDP_CLIENTS: JSON.stringify([{ ...client, idTokenClaims: false }]) }).clients[0]?.idTokenClaims).toBe(false);
    expect(() => parseIdpConfig({ IDP_CLIENTS: JSON.stringify([{ ...client, idTokenClaims: "no" }]) })).toThrow(/idTokenClaims/);
  });
});
