// RFC 9449 DPoP at the demo IdP's token endpoint: sender-constrained JWT access tokens for the demo
// resources (cnf.jkt), and server nonces, offered always and demanded with `dpopRequireNonce`.
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { demoResources } from "../idp/resources";
import { demoUsers } from "../idp/users";
import { HttpSession } from "../../tests/support/http-client";
import { authorize, dpopKey, dpopProof, startAppServer, tokenRequest, type AppServer, type DpopKey } from "./support";

const { portfolio } = demoResources;

describe("DPoP (RFC 9449) at the demo IdP", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  const credentials = { username: alice.username, password: alice.password };
  let app: AppServer;
  let idp: RunningIdp;
  let strict: RunningIdp;
  let client: DemoClient;
  let key: DpopKey;

  beforeAll(async () => {
    app = await startAppServer();
    client = { clientId: "brokerage", clientSecret: "brokerage-secret", appUrl: app.origin, name: "Brokerage" };
    [idp, strict] = await Promise.all([
      startIdp({ port: 0, clients: [client] }),
      startIdp({ port: 0, clients: [client], dpopRequireNonce: true }),
    ]);
    key = await dpopKey();
  });

  afterAll(async () => {
    await Promise.all([idp?.close(), strict?.close()]);
    await app?.close();
  });

  const proofFor = (issuer: string, nonce?: string) => dpopProof(key, { htm: "POST", htu: `${issuer}/token`, nonce });

  async function signIn(issuer: string) {
    const result = await authorize(new HttpSession(), issuer, client, credentials, {
      scope: `openid ${portfolio.scope}`,
      resource: [portfolio.indicator],
    });
    expect(result.code, result.page?.html).toEqual(expect.any(String));
    return {
      grant_type: "authorization_code",
      code: result.code!,
      redirect_uri: `${client.appUrl}/api/auth/callback/oidc`,
      code_verifier: result.pending.verifier,
      resource: portfolio.indicator,
    };
  }

  async function boundTo(issuer: string, token: unknown) {
    const { payload } = await jwtVerify(String(token), createRemoteJWKSet(new URL(`${issuer}/jwks`)), {
      issuer,
      audience: portfolio.indicator,
      typ: "at+jwt",
    });
    return (payload.cnf as { jkt?: string } | undefined)?.jkt;
  }

  it("advertises its DPoP algorithms (RFC 9449 §5.1)", async () => {
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(["ES256", "EdDSA"]));
  });

  it("binds the resource's access token to the proof's key at the code exchange: token_type DPoP, cnf.jkt (RFC 9449 §5, §6.1)", async () => {
    const { status, body } = await tokenRequest(idp.issuer, client, await signIn(idp.issuer), { dpop: await proofFor(idp.issuer) });
    expect(status).toBe(200);
    expect(body.token_type).toBe("DPoP");
    expect(await boundTo(idp.issuer, body.access_token)).toBe(key.thumbprint);
  });

  it("binds the tokens of the refresh-token and client credentials grants too", async () => {
    const first = await tokenRequest(idp.issuer, client, await signIn(idp.issuer), { dpop: await proofFor(idp.issuer) });
    const refreshed = await tokenRequest(
      idp.issuer,
      client,
      { grant_type: "refresh_token", refresh_token: String(first.body.refresh_token), resource: portfolio.indicator },
      { dpop: await proofFor(idp.issuer) },
    );
    expect(refreshed.status).toBe(200);
    expect(await boundTo(idp.issuer, refreshed.body.access_token)).toBe(key.thumbprint);
    const own = await tokenRequest(
      idp.issuer,
      client,
      { grant_type: "client_credentials", resource: portfolio.indicator, scope: portfolio.scope },
      { dpop: await proofFor(idp.issuer) },
    );
    expect(own.status).toBe(200);
    expect(own.body.token_type).toBe("DPoP");
    expect(await boundTo(idp.issuer, own.body.access_token)).toBe(key.thumbprint);
  });

  it("offers a nonce but takes a proof without one when nonces are not required", async () => {
    const { status, headers } = await tokenRequest(
      idp.issuer,
      client,
      { grant_type: "client_credentials", resource: portfolio.indicator },
      { dpop: await proofFor(idp.issuer) },
    );
    expect(status).toBe(200);
    expect(headers.get("dpop-nonce")).toEqual(expect.any(String));
  });

  it("refuses a replayed proof (RFC 9449 §11.1)", async () => {
    const proof = await proofFor(idp.issuer);
    const params = { grant_type: "client_credentials", resource: portfolio.indicator };
    expect((await tokenRequest(idp.issuer, client, params, { dpop: proof })).status).toBe(200);
    const replay = await tokenRequest(idp.issuer, client, params, { dpop: proof });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_grant");
  });

  it("with dpopRequireNonce, answers use_dpop_nonce with a DPoP-Nonce, then takes the retry that carries it (RFC 9449 §8)", async () => {
    const params = await signIn(strict.issuer);
    const first = await tokenRequest(strict.issuer, client, params, { dpop: await proofFor(strict.issuer) });
    expect(first.status).toBe(400);
    expect(first.body.error).toBe("use_dpop_nonce");
    const nonce = first.headers.get("dpop-nonce");
    expect(nonce).toEqual(expect.any(String));
    const retry = await tokenRequest(strict.issuer, client, params, { dpop: await proofFor(strict.issuer, nonce!) });
    expect(retry.status).toBe(200);
    expect(await boundTo(strict.issuer, retry.body.access_token)).toBe(key.thumbprint);
  });
});
