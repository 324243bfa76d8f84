import {
  compactDecrypt,
  compactVerify,
  decodeProtectedHeader,
  errors,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
  type KeyObject,
} from "jose";
import { LogoutTokenError } from "./errors";

export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

/** What this client expects of logout tokens, from its registration at the IdP. */
export type LogoutTokenPolicy = {
  issuer: string;
  clientId: string;
  /** id_token_signed_response_alg, RS256 unless registered otherwise. */
  expectedAlg: string;
  /** Needed only when expectedAlg is HS*: the key is the UTF-8 octets of the client secret. */
  clientSecret?: string;
  /** backchannel_logout_session_required. */
  sessionRequired: boolean;
  leewaySeconds: number;
  maxAgeSeconds: number;
  /** Present when ID token encryption is registered (id_token_encrypted_response_alg/enc). */
  decryption?: { key: CryptoKey | KeyObject | Uint8Array; alg: string; enc: string };
};

export type ValidLogoutToken = { iss: string; jti: string; iat: number; exp: number; sub?: string; sid?: string };

// BCL §2.4, §4.1: typ is optional; other explicit JWT types are a sign of cross-JWT confusion.
const ACCEPTED_TYP = new Set(["jwt", "logout+jwt", "application/logout+jwt"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** Ends validation with the rule's code. A declared `never` function, so that every check that calls it narrows what follows. */
function fail(code: ConstructorParameters<typeof LogoutTokenError>[0]): never {
  throw new LogoutTokenError(code);
}

/**
 * Validates a logout token in the order of Back-Channel Logout 1.0 §2.6 (errata set 1).
 * Returns the trusted claims or throws a LogoutTokenError with the rule's code; never returns null.
 * Replay (step 8, optional) is checked where the logout is stored, atomically with it.
 */
export async function validateLogoutToken(
  raw: string,
  policy: LogoutTokenPolicy,
  getKey: JWTVerifyGetKey,
  nowSeconds: number,
): Promise<ValidLogoutToken> {
  if (!raw) fail("missing_logout_token");
  let jws = raw;
  const parts = raw.split(".").length;

  // BCL §2.6 step 1: decrypt with the ID token encryption keys; an unencrypted token is refused when encryption is registered.
  if (parts === 5) {
    if (!policy.decryption) fail("unexpected_encryption");
    const { key, alg, enc } = policy.decryption!;
    try {
      const { plaintext } = await compactDecrypt(raw, key, { keyManagementAlgorithms: [alg], contentEncryptionAlgorithms: [enc] });
      jws = new TextDecoder("utf-8", { fatal: true }).decode(plaintext);
    } catch {
      fail("decryption_failed");
    }
  } else if (parts === 3) {
    if (policy.decryption) fail("encryption_required");
  } else {
    fail("malformed");
  }

  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    fail("malformed");
  }
  if (jws.split(".").length !== 3) fail("malformed");

  // BCL §2.6 step 3: alg none MUST NOT be used; any alg but the expected one is refused, even when its signature checks out.
  if (typeof header.alg !== "string" || header.alg.toLowerCase() === "none") fail("alg_none");
  if (header.alg !== policy.expectedAlg) fail("alg_not_allowed");
  if (header.typ !== undefined && (typeof header.typ !== "string" || !ACCEPTED_TYP.has(header.typ.toLowerCase()))) fail("invalid_typ");

  // BCL §2.6 step 2: the signature, with the issuer's keys (or the client secret for HS*). The key is
  // resolved apart from the verification, so that "the keys could not be had" (503, the IdP retries)
  // is never confused with "this token's key or signature is wrong" (400).
  let keys: AsyncIterable<CryptoKey | KeyObject | JWK | Uint8Array>;
  if (policy.expectedAlg.startsWith("HS")) {
    keys = single(new TextEncoder().encode(policy.clientSecret ?? ""));
  } else {
    const [protectedHeader = "", payload = "", signature = ""] = jws.split(".");
    try {
      keys = single(await getKey({ ...header, alg: policy.expectedAlg }, { protected: protectedHeader, payload, signature }));
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) fail("unknown_key");
      // No kid and several keys of the right type: try each (jose hands them out on the error).
      if (error instanceof errors.JWKSMultipleMatchingKeys && typeof error[Symbol.asyncIterator] === "function") keys = error;
      else fail("jwks_unavailable");
    }
  }
  let payloadBytes: Uint8Array | undefined;
  for await (const key of keys) {
    try {
      payloadBytes = (await compactVerify(jws, key, { algorithms: [policy.expectedAlg] })).payload;
      break;
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) continue;
      if (error instanceof errors.JWSInvalid) fail("malformed");
      // The key cannot verify this alg (e.g. an RSA key under 2048 bits): the token is refused, not retried.
      fail("invalid_signature");
    }
  }
  if (!payloadBytes) fail("invalid_signature");

  let claims: unknown;
  try {
    // RFC 7519 §7.2 step 10: the claims must be valid UTF-8 JSON.
    claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payloadBytes));
  } catch {
    fail("malformed");
  }
  if (!isObject(claims)) fail("malformed");

  // BCL §2.6 step 4 (as for ID tokens, Core §3.1.3.7): iss exactly the issuer.
  if (claims.iss !== policy.issuer) fail("invalid_iss");

  // BCL §2.6 step 4 (Core §3.1.3.7): aud contains client_id, and no audience we do not trust; azp, if present, is us.
  const aud = claims.aud;
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(policy.clientId) || audiences.some((a) => a !== policy.clientId)) fail("invalid_aud");
  if (claims.azp !== undefined && claims.azp !== policy.clientId) fail("invalid_azp");

  // BCL §2.6 step 4 (Core §3.1.3.7): iat present and not too far from now.
  const { iat, exp } = claims;
  if (typeof iat !== "number" || !Number.isFinite(iat)) fail("missing_iat");
  if (iat > nowSeconds + policy.leewaySeconds) fail("iat_in_future");
  if (iat < nowSeconds - policy.maxAgeSeconds - policy.leewaySeconds) fail("iat_too_old");

  // BCL §2.4, §2.6 step 4 (exp added by errata set 1): exp present and not passed.
  if (typeof exp !== "number" || !Number.isFinite(exp)) fail("missing_exp");
  if (nowSeconds >= exp + policy.leewaySeconds) fail("expired");

  // BCL §2.4: jti is REQUIRED (it is also the replay key).
  if (typeof claims.jti !== "string" || claims.jti.length === 0) fail("missing_jti");

  // BCL §2.6 step 5: sub or sid, or both.
  const { sub, sid } = claims;
  if (sub === undefined && sid === undefined) fail("missing_sub_and_sid");
  if (sub !== undefined && (typeof sub !== "string" || sub.length === 0)) fail("invalid_sub");
  if (sid !== undefined && (typeof sid !== "string" || sid.length === 0)) fail("invalid_sid");

  // BCL §2.6 step 6: events is an object containing the logout event, whose value is an object.
  if (!isObject(claims.events)) fail("invalid_events");
  if (!Object.hasOwn(claims.events, BACKCHANNEL_LOGOUT_EVENT)) fail("missing_logout_event");
  if (!isObject(claims.events[BACKCHANNEL_LOGOUT_EVENT])) fail("invalid_logout_event");

  // BCL §2.6 step 7: no nonce (it would let an ID token pass for a logout token, or the reverse).
  if (Object.hasOwn(claims, "nonce")) fail("nonce_present");

  // BCL §2.2: backchannel_logout_session_required means sid must be there.
  if (policy.sessionRequired && sid === undefined) fail("sid_required");

  return {
    iss: claims.iss,
    jti: claims.jti,
    iat,
    exp,
    sub,
    sid,
  };
}

async function* single<T>(value: T): AsyncIterable<T> {
  yield value;
}
