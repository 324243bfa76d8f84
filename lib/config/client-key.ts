/**
 * OIDC_CLIENT_PRIVATE_KEY: the key this client signs its private_key_jwt assertions with (RFC 7523 §3,
 * OpenID Connect Core §9). Checked here, when the configuration is read, so that a wrong key stops
 * the app at start-up with an error naming the setting; never with any part of the key (JSON.parse's
 * own message quotes its input, so it is never passed on).
 *
 * Pure and edge-safe (lib/config is read by the edge guard too): the shape is checked here, and the
 * key is imported once, in the Node runtime, by lib/oidc/client-auth.ts.
 */

/**
 * The JWS algorithms a client assertion may be signed with: asymmetric ones only (no `none`, no HMAC).
 * An Ed25519 key signs as `Ed25519` (RFC 9864), the name oauth4webapi, and so Auth.js, puts in the
 * header whatever the JWK says; `EdDSA` is refused so that the key and the header agree.
 */
export const CLIENT_ASSERTION_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "Ed25519"] as const;
export type ClientAssertionAlg = (typeof CLIENT_ASSERTION_ALGS)[number];

/** A private JWK whose shape has been checked: it can be handed to crypto.subtle.importKey as is. */
export type ClientPrivateJwk = JsonWebKey & { kty: "RSA" | "EC" | "OKP"; kid: string; alg: ClientAssertionAlg; d: string };

export type ClientKeyErrorCode =
  | "not_json"
  | "not_a_jwk"
  | "symmetric_key"
  | "unsupported_kty"
  | "not_private"
  | "missing_kid"
  | "missing_alg"
  | "unsupported_alg"
  | "alg_kty_mismatch"
  | "missing_member"
  | "not_for_signing";

export class ClientKeyError extends Error {
  constructor(
    readonly code: ClientKeyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ClientKeyError";
  }
}

/** Which key each alg needs: RFC 7518 §3.1 (RS*, PS* on RSA; ES* on the named curve), RFC 9864 (Ed25519 on OKP). */
const keyFor: Record<ClientAssertionAlg, { kty: "RSA" | "EC" | "OKP"; crv?: string }> = {
  RS256: { kty: "RSA" },
  RS384: { kty: "RSA" },
  RS512: { kty: "RSA" },
  PS256: { kty: "RSA" },
  PS384: { kty: "RSA" },
  PS512: { kty: "RSA" },
  ES256: { kty: "EC", crv: "P-256" },
  ES384: { kty: "EC", crv: "P-384" },
  ES512: { kty: "EC", crv: "P-521" },
  Ed25519: { kty: "OKP", crv: "Ed25519" },
};

/** The members each private key needs (RFC 7518 §6.3.2: an RSA private key with all its CRT members, as WebCrypto imports it). */
const membersOf = { RSA: ["n", "e", "d", "p", "q", "dp", "dq", "qi"], EC: ["crv", "x", "y", "d"], OKP: ["crv", "x", "d"] } as const;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Validates OIDC_CLIENT_PRIVATE_KEY's text: a private JWK (JSON) of an asymmetric key, with `kid`
 * (the IdP finds the registered public key by it) and `alg` (what the assertion's header says, and
 * what the key is imported for). Throws ClientKeyError; its message names the rule, never the value.
 */
export function validateClientPrivateJwk(text: string): ClientPrivateJwk {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new ClientKeyError(
      "not_json",
      'is not JSON (expected a private JWK such as {"kty":"EC","crv":"P-256","kid":"…","alg":"ES256",…})',
    );
  }
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk) || typeof (jwk as { kty?: unknown }).kty !== "string") {
    throw new ClientKeyError("not_a_jwk", "is not a JWK (expected one JSON object with kty; not a JWK Set)");
  }
  const key = jwk as Record<string, unknown>;
  // RFC 7523 §2.2 leaves the algorithm open; a shared secret is client_secret_jwt, not this method.
  if (key.kty === "oct")
    throw new ClientKeyError("symmetric_key", "must be an asymmetric private key (kty RSA, EC or OKP), not a shared secret");
  if (key.kty !== "RSA" && key.kty !== "EC" && key.kty !== "OKP") {
    throw new ClientKeyError("unsupported_kty", "must be an RSA, EC or OKP key");
  }
  if (typeof key.d !== "string")
    throw new ClientKeyError(
      "not_private",
      "must be the private key (it has no d): register the public half at the IdP, give the private one here",
    );
  if (typeof key.kid !== "string" || key.kid.length === 0) {
    throw new ClientKeyError("missing_kid", "must have a kid (the IdP finds the registered public key by it)");
  }
  if (typeof key.alg !== "string") throw new ClientKeyError("missing_alg", `must have an alg (one of ${CLIENT_ASSERTION_ALGS.join(", ")})`);
  if (key.alg === "EdDSA")
    throw new ClientKeyError("unsupported_alg", "has alg EdDSA: name it Ed25519 (RFC 9864), as its assertions are signed");
  if (!(CLIENT_ASSERTION_ALGS as readonly string[]).includes(key.alg)) {
    throw new ClientKeyError(
      "unsupported_alg",
      `has an alg that cannot sign a client assertion (expected one of ${CLIENT_ASSERTION_ALGS.join(", ")})`,
    );
  }
  const alg = key.alg as ClientAssertionAlg;
  const needed = keyFor[alg];
  if (key.kty !== needed.kty || (needed.crv !== undefined && key.crv !== needed.crv)) {
    throw new ClientKeyError("alg_kty_mismatch", `has alg ${alg}, which needs a${needed.crv ? ` ${needed.crv}` : "n"} ${needed.kty} key`);
  }
  for (const member of membersOf[key.kty]) {
    const value = key[member];
    if (typeof value !== "string" || (member !== "crv" && !BASE64URL.test(value))) {
      throw new ClientKeyError("missing_member", `is missing its ${member} member (or it is not base64url)`);
    }
  }
  if (
    (key.use !== undefined && key.use !== "sig") ||
    (key.key_ops !== undefined && !(Array.isArray(key.key_ops) && key.key_ops.includes("sign")))
  ) {
    throw new ClientKeyError("not_for_signing", 'is marked for another use than signing (use must be "sig", key_ops must include "sign")');
  }
  return { ...(key as JsonWebKey), kty: key.kty, kid: key.kid, alg, d: key.d };
}
