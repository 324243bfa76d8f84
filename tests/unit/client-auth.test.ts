/**
 * How Lockstep authenticates its own requests to the IdP (lib/oidc/client-auth.ts), per
 * OIDC_CLIENT_AUTH_METHOD, against a loopback stand-in for the IdP that records what arrives. The
 * integration tier (tests/integration/modern-client.test.ts) signs in with each method at the demo IdP.
 */
import { generateKeyPairSync } from "node:crypto";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { closeServers, serve, stubIdpSettings } from "../support/loopback";

const ecPair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const privateJwk = { ...ecPair.privateKey.export({ format: "jwk" }), kid: "lockstep-test-key", alg: "ES256" };
const publicJwk = ecPair.publicKey.export({ format: "jwk" });

type Seen = { url?: string; authorization?: string; body: URLSearchParams };
let seen: Seen[];
let issuer: string;

beforeEach(async () => {
  vi.resetModules();
  seen = [];
  issuer = await serve((req, body, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization, body: new URLSearchParams(body) });
    const self = `http://${req.headers.host}`;
    if (req.url === "/.well-known/openid-configuration") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ issuer: `${self}/`, token_endpoint: `${self}/token`, revocation_endpoint: `${self}/revoke` }));
    } else res.writeHead(200).end();
  });
  stubIdpSettings(vi.stubEnv, `${issuer}/`);
});

afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await closeServers();
});

/** One request that needs client authentication (RFC 7009 §2.1); answers what reached the IdP. */
async function revokeOnce(): Promise<Seen> {
  const { revokeRefreshToken } = await import("@/lib/oidc/revoke");
  await revokeRefreshToken("r-t0ken");
  const request = seen.filter((r) => r.url === "/revoke").at(-1);
  if (!request) throw new Error("nothing reached /revoke");
  return request;
}

describe("client authentication of Lockstep's own requests (OIDC_CLIENT_AUTH_METHOD)", () => {
  it("sends the secret in an Authorization: Basic header by default (RFC 6749 §2.3.1)", async () => {
    const request = await revokeOnce();
    const [scheme, credentials] = request.authorization!.split(" ");
    expect(scheme).toBe("Basic");
    // Each part form-urlencoded, then joined with ":" (RFC 6749 §2.3.1).
    expect(atob(credentials!).split(":").map(decodeURIComponent)).toEqual(["client", "client-secret-of-the-test"]);
    expect(request.body.has("client_secret")).toBe(false);
  });

  it("sends client_id and client_secret in the body with client_secret_post, and no Authorization header (RFC 6749 §2.3.1)", async () => {
    vi.stubEnv("OIDC_CLIENT_AUTH_METHOD", "client_secret_post");
    const request = await revokeOnce();
    expect(request.authorization).toBeUndefined();
    expect(request.body.get("client_id")).toBe("client");
    expect(request.body.get("client_secret")).toBe("client-secret-of-the-test");
  });

  describe("private_key_jwt (RFC 7523 §2.2, Core §9)", () => {
    beforeEach(() => {
      vi.stubEnv("OIDC_CLIENT_AUTH_METHOD", "private_key_jwt");
      vi.stubEnv("OIDC_CLIENT_SECRET", "");
      vi.stubEnv("OIDC_CLIENT_PRIVATE_KEY", JSON.stringify(privateJwk));
    });

    it("sends a signed assertion with iss = sub = client_id, aud = the issuer, a jti and a short exp (RFC 7523 §3), and no secret", async () => {
      const request = await revokeOnce();
      expect(request.authorization).toBeUndefined();
      expect(request.body.has("client_secret")).toBe(false);
      expect(request.body.get("client_id")).toBe("client");
      expect(request.body.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      const assertion = request.body.get("client_assertion")!;
      expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: "ES256", kid: "lockstep-test-key" });
      const { payload } = await jwtVerify(assertion, await importJWK(publicJwk, "ES256"), {
        issuer: "client",
        subject: "client",
        audience: `${issuer}/`,
      });
      expect(payload.jti).toEqual(expect.any(String));
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
      expect(payload.exp! * 1000).toBeGreaterThan(Date.now());
    });

    it("imports the key once and signs a new assertion, with a new jti, for every request", async () => {
      const importKey = vi.spyOn(crypto.subtle, "importKey");
      const first = await revokeOnce();
      const second = await revokeOnce();
      expect(importKey).toHaveBeenCalledTimes(1);
      const jtiOf = async (request: Seen) =>
        (await jwtVerify(request.body.get("client_assertion")!, await importJWK(publicJwk, "ES256"))).payload.jti;
      expect(await jtiOf(first)).not.toBe(await jtiOf(second));
    });

    it("refuses to send anything with a key WebCrypto cannot import, logs it once naming OIDC_CLIENT_PRIVATE_KEY, and never the key", async () => {
      const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
      // The right shape, but a point that is not this private key's: only the import can tell.
      vi.stubEnv("OIDC_CLIENT_PRIVATE_KEY", JSON.stringify({ ...privateJwk, x: other.x }));
      const lines: string[] = [];
      vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (lines.push(String(chunk)), true));
      const { revokeRefreshToken } = await import("@/lib/oidc/revoke");
      for (let i = 0; i < 2; i++) {
        await expect(revokeRefreshToken("r-t0ken")).rejects.toMatchObject({
          code: "client_key_unusable",
          setting: "OIDC_CLIENT_PRIVATE_KEY",
        });
      }
      expect(seen.map((r) => r.url)).not.toContain("/revoke");
      const logged = lines.filter((l) => l.includes('"oidc.client_key"'));
      expect(logged).toHaveLength(1);
      expect(JSON.parse(logged[0]!)).toMatchObject({ outcome: "error", code: "client_key_unusable", setting: "OIDC_CLIENT_PRIVATE_KEY" });
      expect(lines.join("")).not.toContain(privateJwk.d);
    });
  });
});

describe("Auth.js's code exchange gets the same method (its provider's client and token options)", () => {
  it("passes the method and the secret for the secret methods", async () => {
    const { authjsClientOptions } = await import("@/lib/oidc/client-auth");
    const base = { OIDC_CLIENT_SECRET: "s3cret", OIDC_CLIENT_PRIVATE_KEY: undefined };
    expect(await authjsClientOptions({ ...base, OIDC_CLIENT_AUTH_METHOD: "client_secret_post" })).toEqual({
      client: { token_endpoint_auth_method: "client_secret_post" },
      clientSecret: "s3cret",
    });
  });

  it("passes the imported private key as token.clientPrivateKey for private_key_jwt, non-extractable, with its kid", async () => {
    const { authjsClientOptions } = await import("@/lib/oidc/client-auth");
    const options = await authjsClientOptions({
      OIDC_CLIENT_AUTH_METHOD: "private_key_jwt",
      OIDC_CLIENT_SECRET: undefined,
      OIDC_CLIENT_PRIVATE_KEY: JSON.stringify(privateJwk),
    });
    expect(options.client).toEqual({ token_endpoint_auth_method: "private_key_jwt" });
    expect(options.clientSecret).toBeUndefined();
    const { key, kid } = options.token!.clientPrivateKey as { key: CryptoKey; kid: string };
    expect(kid).toBe("lockstep-test-key");
    expect(key).toMatchObject({ type: "private", extractable: false, usages: ["sign"] });
  });
});
