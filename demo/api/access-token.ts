import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { ResourceError } from "./errors";

/** How the request presented its token (RFC 6750 §2.1, RFC 9449 §7.1). */
export type Credentials = { scheme: "Bearer" | "DPoP"; token: string };

/** RFC 6750 §2.1 b64token, the token68 syntax the DPoP scheme uses too (RFC 9449 §7.1). */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Reads the Authorization header: `Bearer <token>` or `DPoP <token>` (schemes are case-insensitive,
 * RFC 9110 §11.1). No header: missing_token (RFC 6750 §3.1: then no error code is sent).
 */
export function parseAuthorization(header: string | undefined): Credentials {
  if (header === undefined || header === "") throw new ResourceError("missing_token", "no access token", "RFC 6750 §3.1");
  const match = /^(\S+) +(\S+)$/.exec(header);
  const scheme = match?.[1]?.toLowerCase();
  const token = match?.[2];
  if (!token || !TOKEN68.test(token) || (scheme !== "bearer" && scheme !== "dpop")) {
    throw new ResourceError("invalid_authorization", "Authorization must be `Bearer <token>` or `DPoP <token>`", "RFC 6750 §2.1");
  }
  return { scheme: scheme === "dpop" ? "DPoP" : "Bearer", token };
}

/** A validated RFC 9068 access token's claims. */
export type AccessTokenClaims = JWTPayload & {
  iss: string;
  sub: string;
  client_id: string;
  jti: string;
  exp: number;
  iat: number;
  scope?: string;
  /** RFC 9449 §6.1: the thumbprint of the key the token is bound to. */
  cnf?: { jkt?: string };
};

export type AccessTokenExpectations = {
  /** The IdP's issuer identifier, compared exactly. */
  issuer: string;
  /** This resource's indicator: `aud` must contain it (RFC 9068 §4, RFC 8707 §2). */
  audience: string;
  /** The IdP's keys (createRemoteJWKSet on its jwks_uri). */
  keys: JWTVerifyGetKey;
  /** The clock, epoch milliseconds. */
  now: number;
  /** Signing algorithms accepted. Default RS256, what the demo IdP signs with. */
  algorithms?: string[];
};

/** RFC 9068 §2.2: the claims every JWT access token carries. */
const REQUIRED_CLAIMS = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

/**
 * Validates a JWT access token (RFC 9068 §4): `typ` at+jwt, an allowed algorithm, the signature by the
 * IdP's keys, `iss` exactly the issuer, `aud` this resource, `exp` not passed, and the required claims.
 * Returns the claims, or throws a ResourceError with the rule's code.
 */
export async function validateAccessToken(token: string, expected: AccessTokenExpectations): Promise<AccessTokenClaims> {
  try {
    const { payload } = await jwtVerify(token, expected.keys, {
      // RFC 9068 §4: "verify that the typ header value is at+jwt or application/at+jwt and reject tokens carrying any other value".
      typ: "at+jwt",
      algorithms: expected.algorithms ?? ["RS256"],
      // RFC 9068 §4: "The issuer identifier ... MUST exactly match the value of the iss claim."
      issuer: expected.issuer,
      // RFC 9068 §4: "MUST validate that the aud claim contains a resource indicator value corresponding to an identifier the resource server expects for itself."
      audience: expected.audience,
      requiredClaims: REQUIRED_CLAIMS,
      currentDate: new Date(expected.now),
    });
    if (typeof payload.client_id !== "string" || typeof payload.sub !== "string" || typeof payload.jti !== "string") {
      throw new ResourceError("missing_claim", "sub, client_id and jti must be strings", "RFC 9068 §2.2");
    }
    if (payload.scope !== undefined && typeof payload.scope !== "string") {
      throw new ResourceError("missing_claim", "scope must be a string", "RFC 9068 §2.2.3");
    }
    return payload as AccessTokenClaims;
  } catch (error) {
    throw asResourceError(error);
  }
}

function asResourceError(error: unknown): ResourceError {
  if (error instanceof ResourceError) return error;
  if (error instanceof joseErrors.JWTExpired) {
    // RFC 9068 §4: "The current time MUST be before the time represented by the exp claim."
    return new ResourceError("expired", "the access token has expired", "RFC 9068 §4", { cause: error });
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return new ResourceError("missing_claim", `the access token has no ${error.claim}`, "RFC 9068 §2.2");
    switch (error.claim) {
      case "typ":
        return new ResourceError("invalid_typ", "the access token is not typ at+jwt", "RFC 9068 §4");
      case "iss":
        return new ResourceError("invalid_iss", "the access token is from another issuer", "RFC 9068 §4");
      case "aud":
        return new ResourceError("invalid_aud", "the access token is for another resource", "RFC 9068 §4");
      case "nbf":
        return new ResourceError("not_yet_valid", "the access token is not valid yet", "RFC 7519 §4.1.5");
      default:
        return new ResourceError("missing_claim", `the access token's ${error.claim} is invalid`, "RFC 9068 §2.2");
    }
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    return new ResourceError("alg_not_allowed", "the access token's alg is not accepted", "RFC 9068 §4");
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return new ResourceError("unknown_key", "no key of the issuer matches the access token", "RFC 9068 §4");
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    // RFC 9068 §4: "The resource server MUST validate the signature of all incoming JWT access tokens."
    return new ResourceError("invalid_signature", "the access token's signature does not verify", "RFC 9068 §4");
  }
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) {
    return new ResourceError("malformed_token", "the access token is not a signed JWT", "RFC 9068 §2.1");
  }
  // JWKSTimeout, JWKSInvalid or a network error: the keys are not to be had just now.
  return new ResourceError("jwks_unavailable", "the issuer's keys could not be fetched", "RFC 9068 §4", { cause: error });
}

/** Whether the token's `scope` (space-separated, RFC 9068 §2.2.3) grants `scope`. */
export function hasScope(claims: AccessTokenClaims, scope: string): boolean {
  return (claims.scope ?? "").split(" ").includes(scope);
}
