/**
 * The demo resource server's refusals: one code per rule, each with its HTTP status and wire error
 * (RFC 6750 §3.1 for bearer tokens, RFC 9449 §7.1 and §9 for DPoP). Callers branch on `code`.
 */
export type ResourceErrorCode =
  // RFC 6750 §2.1 / RFC 9449 §7.1: the Authorization header
  | "missing_token"
  | "invalid_authorization"
  // RFC 9068 §4: the JWT access token
  | "malformed_token"
  | "alg_not_allowed"
  | "unknown_key"
  | "invalid_signature"
  | "invalid_typ"
  | "invalid_iss"
  | "invalid_aud"
  | "expired"
  | "not_yet_valid"
  | "missing_claim"
  | "insufficient_scope"
  // What each resource takes: the market none at all, the reports only the app's own (client) token
  | "token_not_expected"
  | "client_token_required"
  // RFC 9449 §7.1, §7.2: how the token is presented
  | "dpop_required"
  | "bound_token_as_bearer"
  | "unbound_token_as_dpop"
  // RFC 9449 §4.3: the DPoP proof
  | "missing_proof"
  | "multiple_proofs"
  | "malformed_proof"
  | "proof_typ"
  | "proof_alg"
  | "proof_jwk"
  | "proof_signature"
  | "proof_claims"
  | "htm_mismatch"
  | "htu_mismatch"
  | "iat_out_of_window"
  | "ath_mismatch"
  | "jkt_mismatch"
  | "replayed_jti"
  // RFC 9449 §9: resource server nonces
  | "use_dpop_nonce"
  // The IdP's keys could not be fetched: nothing is said about the token.
  | "jwks_unavailable";

/** What goes on the wire: the HTTP status and the error of the WWW-Authenticate challenge (none for a request without a token, RFC 6750 §3.1). */
type WireError = {
  status: number;
  error?: "invalid_request" | "invalid_token" | "insufficient_scope" | "invalid_dpop_proof" | "use_dpop_nonce";
};

export const wireErrors: Record<ResourceErrorCode, WireError> = {
  missing_token: { status: 401 },
  invalid_authorization: { status: 400, error: "invalid_request" },
  malformed_token: { status: 401, error: "invalid_token" },
  alg_not_allowed: { status: 401, error: "invalid_token" },
  unknown_key: { status: 401, error: "invalid_token" },
  invalid_signature: { status: 401, error: "invalid_token" },
  invalid_typ: { status: 401, error: "invalid_token" },
  invalid_iss: { status: 401, error: "invalid_token" },
  invalid_aud: { status: 401, error: "invalid_token" },
  expired: { status: 401, error: "invalid_token" },
  not_yet_valid: { status: 401, error: "invalid_token" },
  missing_claim: { status: 401, error: "invalid_token" },
  insufficient_scope: { status: 403, error: "insufficient_scope" },
  token_not_expected: { status: 400, error: "invalid_request" },
  client_token_required: { status: 403 },
  dpop_required: { status: 401, error: "invalid_token" },
  bound_token_as_bearer: { status: 401, error: "invalid_token" },
  unbound_token_as_dpop: { status: 401, error: "invalid_token" },
  missing_proof: { status: 401, error: "invalid_dpop_proof" },
  multiple_proofs: { status: 401, error: "invalid_dpop_proof" },
  malformed_proof: { status: 401, error: "invalid_dpop_proof" },
  proof_typ: { status: 401, error: "invalid_dpop_proof" },
  proof_alg: { status: 401, error: "invalid_dpop_proof" },
  proof_jwk: { status: 401, error: "invalid_dpop_proof" },
  proof_signature: { status: 401, error: "invalid_dpop_proof" },
  proof_claims: { status: 401, error: "invalid_dpop_proof" },
  htm_mismatch: { status: 401, error: "invalid_dpop_proof" },
  htu_mismatch: { status: 401, error: "invalid_dpop_proof" },
  iat_out_of_window: { status: 401, error: "invalid_dpop_proof" },
  ath_mismatch: { status: 401, error: "invalid_dpop_proof" },
  jkt_mismatch: { status: 401, error: "invalid_dpop_proof" },
  replayed_jti: { status: 401, error: "invalid_dpop_proof" },
  use_dpop_nonce: { status: 401, error: "use_dpop_nonce" },
  jwks_unavailable: { status: 503 },
};

export class ResourceError extends Error {
  constructor(
    readonly code: ResourceErrorCode,
    message: string,
    /** The rule, e.g. "RFC 9449 §4.3": the same tag is in the comment where it is checked and in the test title. */
    readonly spec: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ResourceError";
  }
}

/** An auth-param value as a quoted-string (RFC 9110 §5.6.4): ASCII only, so "§" becomes "section". */
const quoted = (value: string) =>
  `"${value
    .replaceAll("§", "section ")
    .replace(/[^\x20-\x7e]/g, "")
    .replace(/["\\]/g, "\\$&")}"`;

export type ChallengeOptions = {
  /** Which schemes this resource takes: "Bearer" and "DPoP", or "DPoP" alone. */
  schemes: readonly ("Bearer" | "DPoP")[];
  /** The scheme the request used, if any: the error goes in that scheme's challenge. */
  used?: "Bearer" | "DPoP";
  /** RFC 9449 §7.1: the `algs` parameter of the DPoP challenge. */
  dpopAlgs: readonly string[];
  /** RFC 6750 §3: the scope an insufficient_scope error names. */
  scope: string;
};

/**
 * The WWW-Authenticate challenges for a refusal (RFC 6750 §3, RFC 9449 §7.1): one per scheme the
 * resource takes, the error (with its code in error_description) in the one the request used, or in
 * the only one. Without a token no error is given (RFC 6750 §3.1).
 */
export function challenges(error: ResourceError | undefined, options: ChallengeOptions): string[] {
  const wire = error ? wireErrors[error.code] : undefined;
  // The error goes with the scheme the request used, if this resource takes it; else with its first.
  const target = options.used && options.schemes.includes(options.used) ? options.used : options.schemes[0];
  return options.schemes.map((scheme) => {
    const params: string[] = scheme === "DPoP" ? [`algs=${quoted(options.dpopAlgs.join(" "))}`] : [`realm=${quoted("lockstep-demo-api")}`];
    if (error && wire?.error && scheme === target) {
      params.push(`error=${quoted(wire.error)}`, `error_description=${quoted(`${error.code}: ${error.message} (${error.spec})`)}`);
      if (error.code === "insufficient_scope") params.push(`scope=${quoted(options.scope)}`);
    }
    return `${scheme} ${params.join(", ")}`;
  });
}
