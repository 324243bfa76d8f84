import { beforeAll, describe, expect, it } from "vitest";
import {
  CompactEncrypt,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import { BACKCHANNEL_LOGOUT_EVENT, validateLogoutToken, type LogoutTokenPolicy } from "@/lib/logout/backchannel/validate";
import { LogoutTokenError, type LogoutTokenErrorCode } from "@/lib/logout/backchannel/errors";

const NOW = 1_800_000_000;
const ISSUER = "https://idp.example.com";
const CLIENT = "lockstep-bank";

let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
let other: { privateKey: CryptoKey; publicKey: CryptoKey };
let rsaPublicJwk: JWK;
let getKey: JWTVerifyGetKey;

const policy = (overrides: Partial<LogoutTokenPolicy> = {}): LogoutTokenPolicy => ({
  issuer: ISSUER,
  clientId: CLIENT,
  expectedAlg: "RS256",
  sessionRequired: false,
  leewaySeconds: 60,
  maxAgeSeconds: 600,
  ...overrides,
});

/** The valid base token of every test: the BCL §2.4 example's shape, issued now. */
const baseClaims = (): JWTPayload & Record<string, unknown> => ({
  iss: ISSUER,
  sub: "248289761001",
  aud: CLIENT,
  iat: NOW,
  exp: NOW + 120,
  jti: "bWJq",
  sid: "08a5019c-17e1-4977-8f42-65a12843ea02",
  events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  ignored_claim: "ignored",
});

type Mutation = {
  claims?: (c: Record<string, unknown>) => void;
  header?: Record<string, unknown>;
  alg?: string;
  key?: CryptoKey | Uint8Array;
  kid?: string;
};

async function token(m: Mutation = {}): Promise<string> {
  const claims = baseClaims();
  m.claims?.(claims);
  const alg = m.alg ?? "RS256";
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: m.kid ?? (alg === "ES256" ? "ec-1" : "rsa-1"), ...m.header })
    .sign(m.key ?? (alg === "ES256" ? ec.privateKey : rsa.privateKey));
}

async function codeOf(promise: Promise<unknown>): Promise<LogoutTokenErrorCode | "valid"> {
  try {
    await promise;
    return "valid";
  } catch (error) {
    if (error instanceof LogoutTokenError) return error.code;
    throw error;
  }
}

const check = (raw: string, p: LogoutTokenPolicy = policy(), now = NOW, keys: JWTVerifyGetKey = getKey) =>
  codeOf(validateLogoutToken(raw, p, keys, now));

beforeAll(async () => {
  rsa = await generateKeyPair("RS256");
  ec = await generateKeyPair("ES256");
  other = await generateKeyPair("RS256");
  rsaPublicJwk = { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1" };
  // As in the OpenID conformance suite: the published keys carry no alg, and an EC key is published too.
  getKey = createLocalJWKSet({ keys: [rsaPublicJwk, { ...(await exportJWK(ec.publicKey)), kid: "ec-1" }] });
});

describe("logout token validation (Back-Channel Logout 1.0, errata set 1)", () => {
  it("accepts the valid base token and returns its claims", async () => {
    const valid = await validateLogoutToken(await token(), policy(), getKey, NOW);
    expect(valid).toEqual({
      iss: ISSUER,
      sub: "248289761001",
      sid: "08a5019c-17e1-4977-8f42-65a12843ea02",
      jti: "bWJq",
      iat: NOW,
      exp: NOW + 120,
    });
  });

  it("rejects an empty logout_token (BCL §2.5)", async () => {
    expect(await check("")).toBe("missing_logout_token");
  });

  it("rejects a token that is not a JWT (BCL §2.4)", async () => {
    expect(await check("not-a-jwt")).toBe("malformed");
    expect(await check("a.b.c")).toBe("malformed");
  });

  it("rejects a signed payload that is not a JSON object (BCL §2.4)", async () => {
    const { CompactSign } = await import("jose");
    const signed = (payload: string) =>
      new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: "RS256", kid: "rsa-1" }).sign(rsa.privateKey);
    expect(await check(await signed("not json"))).toBe("malformed");
    expect(await check(await signed(JSON.stringify([baseClaims()])))).toBe("malformed");
  });

  it("rejects a signature segment that is not base64url (BCL §2.4)", async () => {
    const [header, payload] = (await token()).split(".");
    expect(await check(`${header}.${payload}.!!!`)).toBe("malformed");
  });

  it("rejects alg none with an empty signature (BCL §2.6 step 3, conformance S2)", async () => {
    const [, payload] = (await token()).split(".");
    const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
    expect(await check(`${header}.${payload}.`)).toBe("alg_none");
  });

  it("rejects a token signed with a published EC key when RS256 is expected, though its signature verifies (BCL §2.6 step 3, conformance S5)", async () => {
    expect(await check(await token({ alg: "ES256" }))).toBe("alg_not_allowed");
  });

  it("rejects HS256 keyed with the IdP's public key (BCL §2.6 step 3)", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(rsaPublicJwk));
    expect(await check(await token({ alg: "HS256", key: secret }))).toBe("alg_not_allowed");
  });

  it("verifies HS256 with the client secret when HS256 is the registered alg (BCL §2.6 step 2)", async () => {
    const secret = "a-client-secret-of-enough-length-000";
    const p = policy({ expectedAlg: "HS256", clientSecret: secret });
    expect(await check(await token({ alg: "HS256", key: new TextEncoder().encode(secret) }), p)).toBe("valid");
    expect(await check(await token({ alg: "HS256", key: new TextEncoder().encode("another-secret-of-enough-length-0") }), p)).toBe(
      "invalid_signature",
    );
  });

  it("rejects a signature by a key the issuer does not publish (BCL §2.6 step 2)", async () => {
    expect(await check(await token({ key: other.privateKey }))).toBe("invalid_signature");
  });

  it("rejects a kid the issuer does not publish (BCL §2.6 step 2)", async () => {
    expect(await check(await token({ key: other.privateKey, kid: "unknown" }))).toBe("unknown_key");
  });

  it("answers 503-class jwks_unavailable when the issuer's keys cannot be fetched, so the IdP retries (BCL §2.8)", async () => {
    const down: JWTVerifyGetKey = async () => {
      throw new TypeError("fetch failed");
    };
    const error = await validateLogoutToken(await token(), policy(), down, NOW).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogoutTokenError);
    expect((error as LogoutTokenError).code).toBe("jwks_unavailable");
    expect((error as LogoutTokenError).status).toBe(503);
  });

  it("accepts typ absent, JWT, logout+jwt and application/logout+jwt (BCL §2.4, §4.1)", async () => {
    for (const typ of [undefined, "JWT", "logout+jwt", "application/logout+jwt"]) {
      expect(await check(await token({ header: typ ? { typ } : {} })), String(typ)).toBe("valid");
    }
  });

  it("rejects other explicit JWT types (BCL §4.1: cross-JWT confusion)", async () => {
    for (const typ of ["secevent+jwt", "at+jwt", "dpop+jwt"]) {
      expect(await check(await token({ header: { typ } })), typ).toBe("invalid_typ");
    }
  });

  it("rejects an iss other than the configured issuer (BCL §2.6 step 4, conformance S8)", async () => {
    expect(await check(await token({ claims: (c) => void (c.iss = `${ISSUER}INVALID`) }))).toBe("invalid_iss");
    expect(await check(await token({ claims: (c) => void (c.iss = `${ISSUER}/`) }))).toBe("invalid_iss");
  });

  it("rejects an aud that does not contain the client id (BCL §2.6 step 4, conformance S6)", async () => {
    expect(await check(await token({ claims: (c) => void (c.aud = `${CLIENT}INVALID`) }))).toBe("invalid_aud");
    expect(await check(await token({ claims: (c) => void delete c.aud }))).toBe("invalid_aud");
  });

  it("accepts aud as an array holding only the client id, and rejects untrusted extra audiences (BCL §2.6 step 4)", async () => {
    expect(await check(await token({ claims: (c) => void (c.aud = [CLIENT]) }))).toBe("valid");
    expect(await check(await token({ claims: (c) => void (c.aud = [CLIENT, "someone-else"]) }))).toBe("invalid_aud");
  });

  it("rejects an azp other than the client id (BCL §2.6 step 4)", async () => {
    expect(await check(await token({ claims: (c) => void (c.azp = "someone-else") }))).toBe("invalid_azp");
    expect(await check(await token({ claims: (c) => void (c.azp = CLIENT) }))).toBe("valid");
  });

  it("rejects a token without iat (BCL §2.4)", async () => {
    expect(await check(await token({ claims: (c) => void delete c.iat }))).toBe("missing_iat");
  });

  it("rejects an iat in the future beyond the leeway, and accepts one within it (BCL §2.6 step 4)", async () => {
    expect(await check(await token({ claims: (c) => void ((c.iat = NOW + 61), (c.exp = NOW + 300)) }))).toBe("iat_in_future");
    expect(await check(await token({ claims: (c) => void ((c.iat = NOW + 59), (c.exp = NOW + 300)) }))).toBe("valid");
  });

  it("rejects a token issued longer ago than the maximum age (BCL §2.6 step 4)", async () => {
    expect(await check(await token({ claims: (c) => void ((c.iat = NOW - 700), (c.exp = NOW + 120)) }))).toBe("iat_too_old");
  });

  it("rejects a token without exp (BCL §2.4, errata set 1)", async () => {
    expect(await check(await token({ claims: (c) => void delete c.exp }))).toBe("missing_exp");
  });

  it("rejects an expired token beyond the leeway, and accepts one within it (BCL §2.6 step 4)", async () => {
    expect(await check(await token({ claims: (c) => void ((c.iat = NOW - 200), (c.exp = NOW - 61)) }))).toBe("expired");
    expect(await check(await token({ claims: (c) => void ((c.iat = NOW - 200), (c.exp = NOW - 59)) }))).toBe("valid");
  });

  it("rejects a token without jti (BCL §2.4)", async () => {
    expect(await check(await token({ claims: (c) => void delete c.jti }))).toBe("missing_jti");
    expect(await check(await token({ claims: (c) => void (c.jti = "") }))).toBe("missing_jti");
  });

  it("rejects a token with neither sub nor sid, and accepts either alone (BCL §2.6 step 5)", async () => {
    expect(await check(await token({ claims: (c) => void (delete c.sub, delete c.sid) }))).toBe("missing_sub_and_sid");
    expect(await check(await token({ claims: (c) => void delete c.sub }))).toBe("valid");
    expect(await check(await token({ claims: (c) => void delete c.sid }))).toBe("valid");
  });

  it("rejects sub or sid that are not non-empty strings (BCL §2.4)", async () => {
    expect(await check(await token({ claims: (c) => void (c.sub = 42) }))).toBe("invalid_sub");
    expect(await check(await token({ claims: (c) => void (c.sid = "") }))).toBe("invalid_sid");
  });

  it("rejects a token without events (BCL §2.6 step 6, conformance S3)", async () => {
    expect(await check(await token({ claims: (c) => void delete c.events }))).toBe("invalid_events");
  });

  it("rejects events that do not contain the back-channel logout event (BCL §2.6 step 6, conformance S7)", async () => {
    expect(await check(await token({ claims: (c) => void (c.events = { "http://schemas.openid.net/event/foobar": {} }) }))).toBe(
      "missing_logout_event",
    );
    // https:// is not the event's URI.
    expect(
      await check(await token({ claims: (c) => void (c.events = { "https://schemas.openid.net/event/backchannel-logout": {} }) })),
    ).toBe("missing_logout_event");
  });

  it("rejects events that are not an object (BCL §2.6 step 6)", async () => {
    for (const events of ["x", [BACKCHANNEL_LOGOUT_EVENT], null, true]) {
      expect(await check(await token({ claims: (c) => void (c.events = events) })), JSON.stringify(events)).toBe("invalid_events");
    }
  });

  it("rejects a logout event whose value is not an object (BCL §2.6 step 6)", async () => {
    for (const value of ["", [], null, true]) {
      expect(
        await check(await token({ claims: (c) => void (c.events = { [BACKCHANNEL_LOGOUT_EVENT]: value }) })),
        JSON.stringify(value),
      ).toBe("invalid_logout_event");
    }
  });

  it("tolerates extra events next to the logout event (BCL §2.6 step 6 says 'containing')", async () => {
    expect(await check(await token({ claims: (c) => void (c.events = { [BACKCHANNEL_LOGOUT_EVENT]: {}, "urn:example:other": {} }) }))).toBe(
      "valid",
    );
  });

  it("rejects a token that carries a nonce (BCL §2.6 step 7, conformance S4)", async () => {
    expect(await check(await token({ claims: (c) => void (c.nonce = "logout_tokens_must_not_contain_a_nonce") }))).toBe("nonce_present");
  });

  it("requires sid when the client registered backchannel_logout_session_required (BCL §2.2)", async () => {
    const p = policy({ sessionRequired: true });
    expect(await check(await token({ claims: (c) => void delete c.sid }), p)).toBe("sid_required");
    expect(await check(await token(), p)).toBe("valid");
  });

  describe("encrypted logout tokens (BCL §2.6 step 1)", () => {
    let enc: { privateKey: CryptoKey; publicKey: CryptoKey };
    const encrypted = async (signed: string, key: CryptoKey) =>
      new CompactEncrypt(new TextEncoder().encode(signed))
        .setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A128CBC-HS256", cty: "JWT", iss: ISSUER } as never)
        .encrypt(key);
    beforeAll(async () => {
      enc = await generateKeyPair("RSA-OAEP-256");
    });
    const encPolicy = () => policy({ decryption: { key: enc.privateKey, alg: "RSA-OAEP-256", enc: "A128CBC-HS256" } });

    it("decrypts, then validates the nested signed token", async () => {
      expect(await check(await encrypted(await token(), enc.publicKey), encPolicy())).toBe("valid");
    });

    it("rejects an unencrypted token when ID token encryption is registered", async () => {
      expect(await check(await token(), encPolicy())).toBe("encryption_required");
    });

    it("rejects an encrypted token when no encryption is registered", async () => {
      expect(await check(await encrypted(await token(), enc.publicKey))).toBe("unexpected_encryption");
    });

    it("rejects a token encrypted to another key", async () => {
      const stranger = await generateKeyPair("RSA-OAEP-256");
      expect(await check(await encrypted(await token(), stranger.publicKey), encPolicy())).toBe("decryption_failed");
    });

    it("still checks the nested token's rules after decryption", async () => {
      expect(await check(await encrypted(await token({ claims: (c) => void (c.nonce = "n") }), enc.publicKey), encPolicy())).toBe(
        "nonce_present",
      );
    });
  });
});
