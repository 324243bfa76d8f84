// The demo IdP's published keys and `sign`, which tests use to build logout tokens the apps can verify.
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type RunningIdp } from "../idp/provider";
import { BACKCHANNEL_EVENT } from "./support";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"];

describe("demo IdP signing keys", () => {
  let idp: RunningIdp;
  let published: JWK[];
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  const rsa = () => published.find((k) => k.kty === "RSA")!;
  const ec = () => published.find((k) => k.kty === "EC")!;

  beforeAll(async () => {
    idp = await startIdp({
      port: 0,
      clients: [{ clientId: "app", clientSecret: "app-secret", appUrl: "http://localhost:9", name: "App" }],
    });
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    const res = await fetch(discovery.jwks_uri);
    expect(res.headers.get("content-type")).toMatch(/^application\/jwk-set\+json/);
    published = ((await res.json()) as { keys: JWK[] }).keys;
    jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  });

  afterAll(async () => {
    await idp?.close();
  });

  it("publishes an RSA key and an EC P-256 key, public parts only", () => {
    expect(published).toHaveLength(2);
    expect(rsa()).toMatchObject({ kty: "RSA", use: "sig", kid: expect.any(String), e: "AQAB", n: expect.any(String) });
    expect(ec()).toMatchObject({
      kty: "EC",
      crv: "P-256",
      use: "sig",
      kid: expect.any(String),
      x: expect.any(String),
      y: expect.any(String),
    });
    expect(rsa().kid).not.toBe(ec().kid);
    // The RSA key carries no alg. oidc-provider insists on one for a key that can only do one algorithm,
    // so the EC key comes out with "ES256".
    expect(rsa()).not.toHaveProperty("alg");
    expect(ec().alg).toBe("ES256");
    for (const key of published) for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
  });

  it("signs RS256 with the published RSA key: kid, no typ, the claims as given", async () => {
    const claims = { iss: idp.issuer, aud: "app", sub: "someone", iat: 1, events: { [BACKCHANNEL_EVENT]: {} }, extra: [1, "two"] };
    const token = await idp.sign(claims);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", kid: rsa().kid });
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { algorithms: ["RS256"] });
    expect(payload).toEqual(claims);
    expect(protectedHeader.kid).toBe(rsa().kid);
  });

  it("signs ES256 with the published EC key", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await idp.sign({ sub: "someone", iat: now, exp: now + 60 }, { alg: "ES256" });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "ES256", kid: ec().kid });
    const { payload } = await jwtVerify(token, jwks, { algorithms: ["ES256"] });
    expect(payload).toEqual({ sub: "someone", iat: now, exp: now + 60 });
    // A verifier that only takes RS256 (what the apps registered) refuses it.
    await expect(jwtVerify(token, jwks, { algorithms: ["RS256"] })).rejects.toBeInstanceOf(errors.JOSEAlgNotAllowed);
  });

  it("takes extra header members, which can also override the defaults for mutated tokens", async () => {
    const typed = await idp.sign({ sub: "someone" }, { header: { typ: "logout+jwt" } });
    expect(decodeProtectedHeader(typed)).toEqual({ alg: "RS256", kid: rsa().kid, typ: "logout+jwt" });
    await expect(jwtVerify(typed, jwks, { typ: "logout+jwt" })).resolves.toBeDefined();

    const unknownKid = await idp.sign({ sub: "someone" }, { header: { kid: "no-such-key" } });
    await expect(jwtVerify(unknownKid, jwks)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);

    // The EC key's kid on an RSA signature: the published key that kid names cannot verify it.
    const crossed = await idp.sign({ sub: "someone" }, { header: { kid: ec().kid } });
    await expect(jwtVerify(crossed, jwks)).rejects.toThrow();
  });

  it("still signs ID tokens with RS256 only", async () => {
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.id_token_signing_alg_values_supported).toEqual(["RS256"]);
  });
});
