/**
 * Every way a logout token can be refused, each with its rule in Back-Channel Logout 1.0
 * (errata set 1) and the HTTP status it gets. 400s are final; a 503 asks the IdP to retry.
 */
export const logoutTokenErrors = {
  unsupported_content_type: { spec: "BCL §2.5", status: 400, message: "Send the logout token as application/x-www-form-urlencoded." },
  body_too_large: { spec: "BCL §2.5", status: 400, message: "The request body is too large for a logout token." },
  duplicate_parameter: { spec: "BCL §2.5", status: 400, message: "logout_token was given more than once." },
  missing_logout_token: { spec: "BCL §2.5", status: 400, message: "The request has no logout_token parameter." },
  malformed: { spec: "BCL §2.4", status: 400, message: "The logout token is not a well-formed JWT." },
  encryption_required: {
    spec: "BCL §2.6 step 1",
    status: 400,
    message: "ID token encryption is registered, but the logout token is not encrypted.",
  },
  unexpected_encryption: {
    spec: "BCL §2.6 step 1",
    status: 400,
    message: "The logout token is encrypted, but no ID token encryption is registered.",
  },
  decryption_failed: { spec: "BCL §2.6 step 1", status: 400, message: "The logout token could not be decrypted." },
  alg_none: { spec: "BCL §2.6 step 3", status: 400, message: "Unsigned logout tokens (alg none) are refused." },
  alg_not_allowed: {
    spec: "BCL §2.6 step 3",
    status: 400,
    message: "The logout token is not signed with the algorithm expected for ID tokens.",
  },
  invalid_typ: { spec: "BCL §2.4, §4.1", status: 400, message: "The logout token's typ names another kind of JWT." },
  unknown_key: { spec: "BCL §2.6 step 2", status: 400, message: "No key of the issuer matches the logout token's kid." },
  invalid_signature: { spec: "BCL §2.6 step 2", status: 400, message: "The logout token's signature does not verify." },
  jwks_unavailable: { spec: "BCL §2.8", status: 503, message: "The issuer's keys could not be fetched; try again." },
  invalid_iss: { spec: "BCL §2.6 step 4", status: 400, message: "The logout token's iss is not the configured issuer." },
  invalid_aud: { spec: "BCL §2.6 step 4", status: 400, message: "The logout token's aud does not name this client alone." },
  invalid_azp: { spec: "BCL §2.6 step 4, Core §3.1.3.7", status: 400, message: "The logout token's azp is not this client." },
  missing_iat: { spec: "BCL §2.4", status: 400, message: "The logout token has no iat." },
  iat_in_future: { spec: "BCL §2.6 step 4", status: 400, message: "The logout token's iat is in the future." },
  iat_too_old: { spec: "BCL §2.6 step 4", status: 400, message: "The logout token was issued too long ago." },
  missing_exp: { spec: "BCL §2.4 (errata 1)", status: 400, message: "The logout token has no exp." },
  expired: { spec: "BCL §2.6 step 4", status: 400, message: "The logout token has expired." },
  missing_jti: { spec: "BCL §2.4", status: 400, message: "The logout token has no jti." },
  missing_sub_and_sid: { spec: "BCL §2.6 step 5", status: 400, message: "The logout token has neither sub nor sid." },
  invalid_sub: { spec: "BCL §2.4", status: 400, message: "The logout token's sub is not a non-empty string." },
  invalid_sid: { spec: "BCL §2.4", status: 400, message: "The logout token's sid is not a non-empty string." },
  sid_required: { spec: "BCL §2.2", status: 400, message: "This client requires sid in logout tokens." },
  invalid_events: { spec: "BCL §2.6 step 6", status: 400, message: "The logout token's events claim is not a JSON object." },
  missing_logout_event: {
    spec: "BCL §2.6 step 6",
    status: 400,
    message: "The logout token's events do not contain the back-channel logout event.",
  },
  invalid_logout_event: { spec: "BCL §2.6 step 6", status: 400, message: "The back-channel logout event's value is not a JSON object." },
  nonce_present: { spec: "BCL §2.6 step 7", status: 400, message: "Logout tokens must not contain a nonce." },
  store_unavailable: { spec: "BCL §2.8", status: 503, message: "The logout could not be stored; try again." },
} as const;

export type LogoutTokenErrorCode = keyof typeof logoutTokenErrors;

export class LogoutTokenError extends Error {
  readonly spec: string;
  readonly status: 400 | 503;
  constructor(readonly code: LogoutTokenErrorCode) {
    super(logoutTokenErrors[code].message);
    this.name = "LogoutTokenError";
    this.spec = logoutTokenErrors[code].spec;
    this.status = logoutTokenErrors[code].status;
  }
}
