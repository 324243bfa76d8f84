// How demo clients authenticate (client_secret_basic, client_secret_post, private_key_jwt per RFC 7523),
// Pushed Authorization Requests (RFC 9126, optionally required per client), and the `iss` of the
// authorization response (RFC 9207).
import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { demoResources } from "../idp/resources";
import { demoUsers } from "../idp/users";
import { HttpSession } from "../../tests/support/http-client";
import { authorize, basicAuth, startAppServer, type AppServer } from "./support";

const { statements } = demoResources;

describe("client authentication, PAR and RFC 9207 at the demo IdP", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  const credentials = { username: alice.username, password: alice.password };
  let app: AppServer;
  let idp: RunningIdp;
  let basic: DemoClient;
  let post: DemoClient;
  let keyed: DemoClient;
  let pushed: DemoClient;
  let privateKey: CryptoKey;
  let kid: string;

  beforeAll(async () => {
    app = await startAppServer();
    const pair = await generateKeyPair("ES256", { extractable: true });
    privateKey = pair.privateKey;
    kid = randomBytes(8).toString("hex");
    const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, use: "sig", alg: "ES256" };
    basic = { clientId: "basic-app", clientSecret: "basic-secret", appUrl: app.origin, name: "Basic" };
    post = {
      clientId: "post-app",
      clientSecret: "post-secret",
      appUrl: `${app.origin}/post`,
      name: "Post",
      tokenEndpointAuthMethod: "client_secret_post",
    };
    keyed = {
      clientId: "keyed-app",
      appUrl: `${app.origin}/keyed`,
      name: "Keyed",
      tokenEndpointAuthMethod: "private_key_jwt",
      jwks: { keys: [publicJwk] },
    };
    pushed = {
      clientId: "pushed-app",
      clientSecret: "pushed-secret",
      appUrl: `${app.origin}/pushed`,
      name: "Pushed",
      requirePushedAuthorizationRequests: true,
    };
    idp = await startIdp({ port: 0, clients: [basic, post, keyed, pushed] });
  });

  afterAll(async () => {
    await idp?.close();
    await app?.close();
  });

  /** RFC 7523 §3: iss = sub = the client, aud = the issuer, a fresh jti and a short exp; `claims` change any of them. */
  const clientAssertion = (claims: Record<string, unknown> = {}, key: CryptoKey = privateKey) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: keyed.clientId,
      sub: keyed.clientId,
      aud: idp.issuer,
      jti: randomBytes(16).toString("base64url"),
      iat: now,
      exp: now + 60,
      ...claims,
    })
      .setProtectedHeader({ alg: "ES256", kid })
      .sign(key);
  };

  const assertionParams = async (claims?: Record<string, unknown>, key?: CryptoKey) => ({
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: await clientAssertion(claims, key),
  });

  async function token(params: Record<string, string>, headers: Record<string, string> = {}) {
    const res = await fetch(`${idp.issuer}/token`, { method: "POST", headers, body: new URLSearchParams(params) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const ownToken = { grant_type: "client_credentials", resource: statements.indicator };

  it("takes client_secret_basic and client_secret_post, and records which one each request used", async () => {
    expect((await token(ownToken, { authorization: basicAuth(basic) })).status).toBe(200);
    expect((await token({ ...ownToken, client_id: post.clientId, client_secret: post.clientSecret! })).status).toBe(200);
    // oidc-provider takes either for a client registered with one of them: the record tells them apart.
    expect((await token(ownToken, { authorization: basicAuth(post) })).status).toBe(200);
    expect(idp.clientAuthentications.slice(-3)).toEqual([
      { clientId: basic.clientId, endpoint: "token", method: "client_secret_basic", status: 200 },
      { clientId: post.clientId, endpoint: "token", method: "client_secret_post", status: 200 },
      { clientId: post.clientId, endpoint: "token", method: "client_secret_basic", status: 200 },
    ]);
  });

  it("refuses a wrong secret (invalid_client) and records it", async () => {
    const wrong = await token({ ...ownToken, client_id: post.clientId, client_secret: "wrong" });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe("invalid_client");
  });

  it("takes a private_key_jwt client assertion signed with a registered key (RFC 7523 §2.2), and no secret", async () => {
    const ok = await token({ ...ownToken, ...(await assertionParams()) });
    expect(ok.status).toBe(200);
    expect(ok.body.access_token).toEqual(expect.any(String));
    expect(idp.clientAuthentications.at(-1)).toEqual({
      clientId: keyed.clientId,
      endpoint: "token",
      method: "private_key_jwt",
      status: 200,
    });
    const withSecret = await token({ ...ownToken, client_id: keyed.clientId, client_secret: "anything" });
    expect(withSecret.body.error).toBe("invalid_client");
  });

  it("refuses a client assertion signed with another key, for another audience, or replayed (RFC 7523 §3)", async () => {
    const stranger = (await generateKeyPair("ES256")).privateKey;
    expect((await token({ ...ownToken, ...(await assertionParams({}, stranger)) })).body.error).toBe("invalid_client");
    expect((await token({ ...ownToken, ...(await assertionParams({ aud: "https://elsewhere.example" })) })).body.error).toBe(
      "invalid_client",
    );
    const once = await assertionParams();
    expect((await token({ ...ownToken, ...once })).status).toBe(200);
    expect((await token({ ...ownToken, ...once })).body.error).toBe("invalid_client");
  });

  it("sends iss in the authorization response (RFC 9207 §2)", async () => {
    const result = await authorize(new HttpSession(), idp.issuer, basic, credentials);
    expect(result.callback?.searchParams.get("iss")).toBe(idp.issuer);
  });

  it("takes a pushed authorization request from any client (RFC 9126 §2), and returns to it with the code and iss", async () => {
    const result = await authorize(new HttpSession(), idp.issuer, basic, credentials, { par: true });
    expect(result.code, result.page?.html).toEqual(expect.any(String));
    expect(result.callback?.searchParams.get("iss")).toBe(idp.issuer);
  });

  it("refuses a plain authorization request from a client that must push (RFC 9126 §6), and takes its pushed one", async () => {
    const plain = await authorize(new HttpSession(), idp.issuer, pushed, credentials);
    expect(plain.code).toBeUndefined();
    expect(plain.callback?.searchParams.get("error")).toBe("invalid_request");
    expect(plain.callback?.searchParams.get("iss")).toBe(idp.issuer);

    const viaPar = await authorize(new HttpSession(), idp.issuer, pushed, credentials, { par: true });
    expect(viaPar.code, viaPar.page?.html).toEqual(expect.any(String));
  });

  it("says in discovery where to push, and which client authentication methods it takes", async () => {
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.pushed_authorization_request_endpoint).toBe(`${idp.issuer}/request`);
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["client_secret_basic", "client_secret_post", "private_key_jwt"]),
    );
    expect(discovery).not.toHaveProperty("require_pushed_authorization_requests");
  });

  it("refuses to start with a private_key_jwt client without keys, a secret client without a secret, or private key members", async () => {
    const base = { clientId: "x", appUrl: app.origin, name: "X" };
    await expect(startIdp({ port: 0, clients: [{ ...base, tokenEndpointAuthMethod: "private_key_jwt" }] })).rejects.toThrow(/jwks/);
    await expect(startIdp({ port: 0, clients: [base] })).rejects.toThrow(/clientSecret/);
    const { privateKey: secretPart } = await generateKeyPair("ES256", { extractable: true });
    const leaked = await exportJWK(secretPart);
    await expect(
      startIdp({ port: 0, clients: [{ ...base, tokenEndpointAuthMethod: "private_key_jwt", jwks: { keys: [leaked] } }] }),
    ).rejects.toThrow(/public keys only/);
  });
});
