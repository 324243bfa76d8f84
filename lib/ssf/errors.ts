/**
 * Every way a Security Event Token (or its push request) can be refused, with its rule in
 * specification's section, the RFC 8935 §2.4 error code sent as `err`, and the HTTP status.
 *
 * - status 400 is final: the Transmitter must not retry (RFC 8935 §2.3).
 * - status 503 asks the Transmitter to retry later (the failure is ours, not the SET's).
 * - `discard: true` (SSF §3.6): the SET is not acted on, but the Receiver acknowledges it
 *   (push: 202 with an empty body; poll: `ack`) and logs the code. `err`/`status` are what to send
 *   only if it is reported at all.
 *
 * The signature family maps to `invalid_key` (RFC 8935 §2.4: "keys used to … sign the SET [are]
 * invalid or otherwise unacceptable"). `authentication_failed` ("could not authenticate the SET
 * Transmitter") is kept for the push request's own credentials (SSF §6.1.1), so that a Transmitter's
 * operator can tell a bad signing key from a bad bearer token.
 *
 * Messages go out as `description`: they never echo a value from the SET.
 */
export const setErrors = {
  malformed: { err: "invalid_request", status: 400, spec: "RFC 8417 §2.2", message: "The SET is not a compact JWS." },
  encrypted_set_unsupported: {
    err: "invalid_request",
    status: 400,
    spec: "RFC 8417 §2.2",
    message: "Encrypted SETs (JWE) are not supported by this Receiver.",
  },
  invalid_typ: {
    err: "invalid_request",
    status: 400,
    spec: "SSF §4.1.1, RFC 8417 §2.3",
    message: "The SET's typ header is not secevent+jwt.",
  },
  alg_none: { err: "invalid_key", status: 400, spec: "SSF §4.1.4, CAEP-Interop §2.6", message: "Unsigned SETs (alg none) are refused." },
  alg_symmetric: {
    err: "invalid_key",
    status: 400,
    spec: "SSF §4.1.4, CAEP-Interop §2.6",
    message: "SETs signed with a shared secret (HMAC) are refused.",
  },
  alg_not_allowed: {
    err: "invalid_key",
    status: 400,
    spec: "SSF §4.1.4, CAEP-Interop §2.6",
    message: "The SET is not signed with an algorithm this stream accepts.",
  },
  unknown_key: {
    err: "invalid_key",
    status: 400,
    spec: "SSF §4.1.4, CAEP-Interop §2.6",
    message: "No key published by the Transmitter matches the SET's header.",
  },
  unusable_key: {
    err: "invalid_key",
    status: 400,
    spec: "SSF §4.1.4, CAEP-Interop §2.6",
    message: "The Transmitter's key cannot be used for the SET's algorithm (e.g. an RSA key under 2048 bits).",
  },
  invalid_signature: {
    err: "invalid_key",
    status: 400,
    spec: "SSF §4.1.4, CAEP-Interop §2.6",
    message: "The SET's signature does not verify with the Transmitter's key.",
  },
  keys_unavailable: {
    err: "invalid_key",
    status: 503,
    spec: "SSF §4.1.4, RFC 8935 §2.3",
    message: "The Transmitter's keys could not be fetched; try again later.",
  },
  invalid_payload: { err: "invalid_request", status: 400, spec: "RFC 8417 §2.2", message: "The SET's payload is not a JSON object." },
  invalid_issuer: { err: "invalid_issuer", status: 400, spec: "SSF §4.1.6", message: "The SET's iss is not this stream's issuer." },
  invalid_audience: {
    err: "invalid_audience",
    status: 400,
    spec: "SSF §4.1.8",
    message: "The SET's aud does not name this stream's audience.",
  },
  missing_iat: { err: "invalid_request", status: 400, spec: "RFC 8417 §2.2", message: "The SET has no numeric iat." },
  iat_in_future: { err: "invalid_request", status: 400, spec: "RFC 8417 §2.2", message: "The SET's iat is in the future." },
  iat_too_old: { err: "invalid_request", status: 400, spec: "RFC 8417 §2.2", message: "The SET was issued too long ago." },
  missing_jti: { err: "invalid_request", status: 400, spec: "RFC 8417 §2.2", message: "The SET has no jti." },
  sub_present: {
    err: "invalid_request",
    status: 400,
    spec: "SSF §4.1.2, §4.1.3, §4.1.7",
    message: "SETs must not carry a sub claim; use sub_id.",
  },
  exp_present: { err: "invalid_request", status: 400, spec: "SSF §4.1.2, §4.1.3, §4.1.7", message: "SETs must not carry an exp claim." },
  invalid_events: { err: "invalid_request", status: 400, spec: "RFC 8417 §2.2", message: "The SET's events claim is not a JSON object." },
  missing_event: {
    err: "invalid_request",
    status: 400,
    spec: "SSF §4.2.1, CAEP-Interop §2.8.1",
    message: "The SET's events claim holds no event.",
  },
  multiple_events: {
    err: "invalid_request",
    status: 400,
    spec: "SSF §4.2.1, CAEP-Interop §2.8.1",
    message: "The SET's events claim holds more than one event.",
  },
  invalid_event_payload: {
    err: "invalid_request",
    status: 400,
    spec: "RFC 8417 §2.2",
    message: "The SET's event value is not a JSON object.",
  },
  invalid_txn: { err: "invalid_request", status: 400, spec: "SSF §4.1.9", message: "The SET's txn is not a string." },
  invalid_toe: { err: "invalid_request", status: 400, spec: "RFC 8417 §2.2", message: "The SET's toe is not a NumericDate." },
  missing_subject: {
    err: "invalid_request",
    status: 400,
    spec: "SSF §3.1",
    message: "The SET names no subject (neither sub_id nor a legacy subject).",
  },
  invalid_subject: {
    err: "invalid_request",
    status: 400,
    spec: "SSF §3.2-§3.5, RFC 9493 §3.2",
    message: "The SET's subject identifier is not well-formed.",
  },
  unprocessable_critical_subject: {
    err: "invalid_request",
    status: 400,
    spec: "SSF §3.6",
    message: "A critical subject member has a format this Receiver cannot process.",
  },
  // The push request's authorization_header is missing or wrong.
  authentication_failed: {
    err: "authentication_failed",
    status: 400,
    spec: "SSF §6.1.1",
    message: "The push request could not be authenticated.",
  },
  // The SET is not acceptable from this Transmitter (e.g. no such stream, or it is disabled).
  // SSF is on, but this receiver has no stream stored (never registered, or the store lost it): a
  // transient state on our side, so the Transmitter keeps the SET and retries (register the stream again).
  stream_not_registered: {
    err: "access_denied",
    status: 503,
    spec: "RFC 8935 §2.3",
    message: "This receiver has no stream registered right now; try again later.",
  },
  access_denied: { err: "access_denied", status: 400, spec: "RFC 8935 §2", message: "This Transmitter may not deliver this SET here." },
  // RFC 8935 §2.1: the push request itself.
  unsupported_content_type: {
    err: "invalid_request",
    status: 400,
    spec: "RFC 8935 §2.1",
    message: "Send the SET as application/secevent+jwt.",
  },
  body_too_large: { err: "invalid_request", status: 400, spec: "RFC 8935 §2.1", message: "The request body is too large for a SET." },
  invalid_state: {
    err: "invalid_state",
    status: 400,
    spec: "SSF §8.1.4.1",
    message: "The Verification event's state does not match the one requested.",
  },
  invalid_verification_subject: {
    err: "invalid_request",
    status: 400,
    spec: "SSF §8.1.4.1",
    message: "The Verification event's sub_id is not the opaque stream id.",
  },
} as const satisfies Record<string, { err: WireErr; status: 400 | 503; spec: string; message: string }>;

/** RFC 8935 §2.4 (IANA "Security Event Token Error Codes") plus SSF §11's invalid_state. */
export type WireErr =
  "invalid_request" | "invalid_key" | "invalid_issuer" | "invalid_audience" | "authentication_failed" | "access_denied" | "invalid_state";

export type SetErrorCode = keyof typeof setErrors;

/** Codes whose SET is acknowledged but not acted on (SSF §3.6). */
const DISCARDED: ReadonlySet<SetErrorCode> = new Set<SetErrorCode>(["unprocessable_critical_subject"]);

export class SetError extends Error {
  readonly err: WireErr;
  readonly status: 400 | 503;
  readonly spec: string;
  /** Acknowledge (push 202 / poll ack) without acting, instead of refusing (SSF §3.6). */
  readonly discard: boolean;
  constructor(readonly code: SetErrorCode) {
    super(setErrors[code].message);
    this.name = "SetError";
    this.err = setErrors[code].err;
    this.status = setErrors[code].status;
    this.spec = setErrors[code].spec;
    this.discard = DISCARDED.has(code);
  }

  /** The RFC 8935 §2.3 error body. */
  toJSON(): { err: WireErr; description: string } {
    return { err: this.err, description: this.message };
  }
}
