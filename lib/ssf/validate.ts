import { base64url, compactVerify, errors, type CompactJWSHeaderParameters, type JWTVerifyGetKey } from "jose";
import { SetError, type SetErrorCode } from "./errors";
import { isComplexMember, isUnprocessable, parseSubject, type Subject } from "./subject";

/** What a stream expects of its SETs: from the Transmitter's metadata and the stream configuration. */
export type SetPolicy = {
  /** SSF §4.1.6: the Transmitter's `issuer`, which is also the stream's `iss`. */
  issuer: string;
  /** SSF §4.1.8: the stream's `aud`; the SET's aud must include one of these. */
  audience: string | readonly string[];
  /** SSF §4.1.4: accepted JWS algorithms; RS256 (CAEP-Interop §2.6) when absent. `none` and HMAC are refused whatever this says. */
  algorithms?: readonly string[];
  leewaySeconds: number;
  /** How old a SET's iat may be (poll delivery and retries make SETs arrive late). */
  maxAgeSeconds: number;
  /** SSF §3.6, §7.1: the Transmitter's `critical_subject_members`. */
  criticalSubjectMembers?: readonly string[];
};

export const DEFAULT_SET_ALGORITHMS: readonly string[] = ["RS256"];

export type ValidSet = {
  jti: string;
  iss: string;
  iat: number;
  aud: string[];
  txn?: string;
  toe?: number;
  /** The one key of `events`. */
  eventType: string;
  /** Its value (an object, possibly `{}`); unknown members are left for the event's handler to ignore. */
  event: Record<string, unknown>;
  subject: Subject;
  /** SSF §3.1: `sub_id`, or the legacy `subject` inside the event. */
  subjectSource: "sub_id" | "legacy_subject";
};

// SSF §4.1.1, RFC 8417 §2.3: "secevent+jwt", or its full media type (RFC 7515 §4.1.9 lets the prefix go).
const ACCEPTED_TYP = new Set(["secevent+jwt", "application/secevent+jwt"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const fail = (code: SetErrorCode): never => {
  throw new SetError(code);
};

/**
 * Validates a Security Event Token as RFC 8417 and the SSF 1.0 profile (SSF §3, §4) require.
 * Returns the trusted claims or throws a SetError with the rule's code; never returns null.
 * Deduplication on (iss, jti) (RFC 8417 §2.2 jti; RFC 8935 §2 retries) and what the event means are the receiver's business.
 */
export async function validateSet(raw: string, policy: SetPolicy, getKey: JWTVerifyGetKey, nowSeconds: number): Promise<ValidSet> {
  // RFC 8417 §2: a SET is a JWT; this Receiver takes compact JWS only.
  const parts = typeof raw === "string" ? raw.split(".") : [];
  if (parts.length === 5) fail("encrypted_set_unsupported");
  if (parts.length !== 3) fail("malformed");

  const header = decodeHeader(parts[0] as string);
  // RFC 7797 payloads (b64 false) are not JWTs.
  if (header.b64 === false) fail("malformed");

  // SSF §4.1.1: explicit typing is a MUST; it is what tells a SET from an ID or logout token.
  if (typeof header.typ !== "string" || !ACCEPTED_TYP.has(header.typ.toLowerCase())) fail("invalid_typ");

  // SSF §4.1.4, CAEP-Interop §2.6: judged from the header, before any key is looked up, so that a token signed with
  // another algorithm is refused even when a published key (e.g. an EC one) would verify it.
  const alg = typeof header.alg === "string" ? header.alg : "none";
  if (alg.toLowerCase() === "none") fail("alg_none");
  // HMAC would need a secret shared with the Transmitter; keyed with a public key it is forgeable.
  if (/^HS\d+$/i.test(alg)) fail("alg_symmetric");
  const algorithms = policy.algorithms ?? DEFAULT_SET_ALGORITHMS;
  if (!algorithms.includes(alg)) fail("alg_not_allowed");

  const payloadBytes = await verifySignature(raw, header as unknown as CompactJWSHeaderParameters, getKey, alg);

  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payloadBytes));
  } catch {
    return fail("invalid_payload");
  }
  if (!isObject(claims)) return fail("invalid_payload");

  // SSF §4.1.6: "Receivers MUST validate" iss against the stream's issuer; exact comparison.
  if (claims.iss !== policy.issuer) fail("invalid_issuer");

  // SSF §4.1.8: aud is a string or an array, and must include the stream's audience.
  // Other audiences may be present: one SET can be addressed to several Receivers (RFC 8417 §2.2).
  const ours: readonly string[] = typeof policy.audience === "string" ? [policy.audience] : policy.audience;
  const aud =
    typeof claims.aud === "string"
      ? [claims.aud]
      : Array.isArray(claims.aud) && claims.aud.every((a) => typeof a === "string")
        ? (claims.aud as string[])
        : [];
  if (!aud.some((a) => ours.includes(a))) fail("invalid_audience");

  // RFC 8417 §2.2: iat is REQUIRED; it bounds how stale a SET may be.
  const { iat } = claims;
  if (typeof iat !== "number" || !Number.isFinite(iat)) return fail("missing_iat");
  if (iat > nowSeconds + policy.leewaySeconds) fail("iat_in_future");
  if (iat < nowSeconds - policy.maxAgeSeconds - policy.leewaySeconds) fail("iat_too_old");

  // RFC 8417 §2.2: jti is REQUIRED (and the deduplication key).
  const { jti } = claims;
  if (typeof jti !== "string" || jti.length === 0) return fail("missing_jti");

  // SSF §4.1.2, §4.1.3: sub MUST NOT be present; §4.1.7: exp MUST NOT be used. Both keep a
  // SET from passing for an ID token, access token or logout token, and the reverse.
  if (Object.hasOwn(claims, "sub")) fail("sub_present");
  if (Object.hasOwn(claims, "exp")) fail("exp_present");

  // RFC 8417 §2.2: events is an object of event-type URI to object. SSF §4.2.1 with CAEP-Interop
  // §2.8.1: exactly one event per SET.
  const { events } = claims;
  if (!isObject(events)) return fail("invalid_events");
  const eventTypes = Object.keys(events);
  if (eventTypes.length === 0) fail("missing_event");
  if (eventTypes.length > 1) fail("multiple_events");
  const eventType = eventTypes[0] as string;
  const event = events[eventType];
  if (!isObject(event)) return fail("invalid_event_payload");

  // SSF §4.1.9 (txn) and RFC 8417 §2.2 (txn, toe): optional, but typed when present.
  const { txn, toe } = claims;
  if (txn !== undefined && typeof txn !== "string") fail("invalid_txn");
  if (toe !== undefined && (typeof toe !== "number" || !Number.isFinite(toe))) fail("invalid_toe");

  // SSF §3.1: sub_id names the primary subject. Existing CAEP/RISC events may instead carry
  // `subject` inside the event (legacy). A sub_id that is present but ill-formed is refused rather
  // than replaced by the legacy member, which could name someone else.
  let rawSubject: unknown;
  let subjectSource: ValidSet["subjectSource"];
  if (Object.hasOwn(claims, "sub_id")) {
    rawSubject = claims.sub_id;
    subjectSource = "sub_id";
  } else if (Object.hasOwn(event, "subject")) {
    rawSubject = event.subject;
    subjectSource = "legacy_subject";
  } else {
    return fail("missing_subject");
  }
  // SSF §3.2-§3.5, RFC 9493 §3.2, RISC §3.1: throws invalid_subject.
  const subject = parseSubject(rawSubject);

  // SSF §3.6: a critical member we cannot process (a format, or a member name, we do not
  // know) means the event MUST be discarded: acknowledged, not acted on.
  const critical = policy.criticalSubjectMembers ?? [];
  if (subject.format === "complex" && isObject(rawSubject)) {
    for (const name of critical) {
      if (name === "format" || !Object.hasOwn(rawSubject, name)) continue;
      const member = isComplexMember(name) ? subject[name] : undefined;
      if (member === undefined || isUnprocessable(member)) fail("unprocessable_critical_subject");
    }
  }

  return {
    jti,
    iss: policy.issuer,
    iat,
    aud,
    ...(txn !== undefined ? { txn: txn as string } : {}),
    ...(toe !== undefined ? { toe: toe as number } : {}),
    eventType,
    event,
    subject,
    subjectSource,
  };
}

/** The JOSE header of a compact JWS: base64url JSON object. jose parses it again, strictly, when verifying. */
function decodeHeader(segment: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(base64url.decode(segment)));
  } catch {
    return fail("malformed");
  }
  return isObject(header) ? header : fail("malformed");
}

/** Errors a key resolver raises when it cannot produce the key set at all (network, timeout, not a JWKS). */
function keysUnreachable(error: unknown): boolean {
  return !(
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  );
}

/**
 * SSF §4.1.4: verifies with the Transmitter's published keys (jwks_uri). The key is resolved here, apart from the
 * verification, so that "we could not get the keys" (503, retry) is never confused with "the
 * Transmitter's key is wrong" (400).
 */
async function verifySignature(raw: string, header: CompactJWSHeaderParameters, getKey: JWTVerifyGetKey, alg: string): Promise<Uint8Array> {
  const [protectedHeader, payload, signature] = raw.split(".") as [string, string, string];
  let candidates: AsyncIterable<Awaited<ReturnType<JWTVerifyGetKey>>>;
  try {
    const key = await getKey(header, { protected: protectedHeader, payload, signature });
    candidates = (async function* () {
      yield key;
    })();
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) return fail("unknown_key");
    // No kid and several keys of the right type: try each (jose hands them out on the error).
    if (error instanceof errors.JWKSMultipleMatchingKeys && typeof error[Symbol.asyncIterator] === "function") candidates = error;
    else return fail(keysUnreachable(error) ? "keys_unavailable" : "unusable_key");
  }

  for await (const key of candidates) {
    try {
      const { payload: bytes } = await compactVerify(raw, key, { algorithms: [alg] });
      return bytes;
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) continue;
      if (error instanceof errors.JWSInvalid) return fail("malformed");
      // E.g. an RSA key under 2048 bits, or a key of the wrong type for alg.
      return fail("unusable_key");
    }
  }
  return fail("invalid_signature");
}
