import { z } from "zod";
import { SetError } from "./errors";

/*
 * Subject identifiers of a SET (SSF 1.0 §3): RFC 9493 §3.2 formats, SSF 1.0 §3.2–3.5
 * additions and complex subjects, and RISC §3.1's legacy `subject_type`.
 * A format we do not know parses to `{ format: "unknown", raw }` so the Receiver can ignore it;
 * a known format with missing or ill-typed members is refused (invalid_subject).
 */

const text = z.string().min(1);

/** RFC 9493 §3.2.1: an `acct:` URI (RFC 7565). */
export const accountSubjectSchema = z.object({ format: z.literal("account"), uri: z.string().regex(/^acct:\S+$/) });

/** RFC 9493 §3.2.2. Only the shape `local@domain` is checked; matching does the rest. */
export const emailSubjectSchema = z.object({ format: z.literal("email"), email: z.string().refine((v) => splitEmail(v) !== undefined) });

/** RFC 9493 §3.2.3. */
export const issSubSubjectSchema = z.object({ format: z.literal("iss_sub"), iss: text, sub: text });

/** RFC 9493 §3.2.4. */
export const opaqueSubjectSchema = z.object({ format: z.literal("opaque"), id: text });

/**
 * RFC 9493 §3.2.5 asks for E.164, but SSF §5's own example is "+1 206 555 0123": visual separators
 * are tolerated. Phone numbers are never matched against a session, so this is shape only.
 */
export const phoneNumberSubjectSchema = z.object({
  format: z.literal("phone_number"),
  phone_number: z.string().regex(/^\+[0-9][0-9 ().-]*$/),
});

/** RFC 9493 §3.2.6: a DID URL (`did:<method>:…`). */
export const didSubjectSchema = z.object({ format: z.literal("did"), url: z.string().regex(/^did:[a-z0-9]+:\S+$/) });

/** RFC 9493 §3.2.7: an absolute URI. */
export const uriSubjectSchema = z.object({ format: z.literal("uri"), uri: z.string().refine((v) => URL.canParse(v)) });

/** SSF §3.5.1: a JWT by its issuer and jti. */
export const jwtIdSubjectSchema = z.object({ format: z.literal("jwt_id"), iss: text, jti: text });

/** SSF §3.5.2: a SAML assertion by its issuer and ID. */
export const samlAssertionIdSubjectSchema = z.object({ format: z.literal("saml_assertion_id"), issuer: text, assertion_id: text });

/** SSF §3.5.3. Addresses are kept as strings; nothing matches on them. */
export const ipAddressesSubjectSchema = z.object({ format: z.literal("ip-addresses"), "ip-addresses": z.array(text).min(1) });

const identifierSchema = z.discriminatedUnion("format", [
  accountSubjectSchema,
  emailSubjectSchema,
  issSubSubjectSchema,
  opaqueSubjectSchema,
  phoneNumberSubjectSchema,
  didSubjectSchema,
  uriSubjectSchema,
  jwtIdSubjectSchema,
  samlAssertionIdSubjectSchema,
  ipAddressesSubjectSchema,
]);

const IDENTIFIER_FORMATS: ReadonlySet<string> = new Set(identifierSchema.options.map((o) => o.shape.format.value));

/** A format this Receiver does not know (proprietary, or newer than us). `raw` is the member as received. */
export type UnknownSubject = { format: "unknown"; raw: Readonly<Record<string, unknown>> };

/** One identifier: anything but `aliases` and `complex`. */
export type Identifier = z.infer<typeof identifierSchema> | UnknownSubject;
/** RFC 9493 §3.2.8: several identifiers of one entity; none of them may be `aliases` itself. */
export type AliasesSubject = { format: "aliases"; identifiers: Identifier[] };
/** SSF §3.2: a simple subject is one RFC 9493 identifier, `aliases` included. */
export type SimpleSubject = Identifier | AliasesSubject;

/** SSF §3.2, §3.3: the members a complex subject may have, in the spec's order. */
export const COMPLEX_MEMBERS = ["user", "device", "session", "application", "tenant", "org_unit", "group"] as const;
export type ComplexMember = (typeof COMPLEX_MEMBERS)[number];
/** SSF §3.3, §3.3.1: at least one member, each a simple subject, all about one principal. */
export type ComplexSubject = { format: "complex" } & { [M in ComplexMember]?: SimpleSubject };

export type Subject = SimpleSubject | ComplexSubject;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const invalid = (): never => {
  throw new SetError("invalid_subject");
};

export function isComplexMember(name: string): name is ComplexMember {
  return (COMPLEX_MEMBERS as readonly string[]).includes(name);
}

/**
 * RISC §3.1: Google's legacy Transmitter writes `subject_type`, with the names of the early
 * subject-identifier drafts. `format` wins when both are present.
 */
const LEGACY_SUBJECT_TYPES: Readonly<Record<string, string>> = { "iss-sub": "iss_sub", phone: "phone_number" };

function formatOf(value: Record<string, unknown>): string {
  if (typeof value.format === "string" && value.format.length > 0) return value.format;
  if (typeof value.subject_type === "string" && value.subject_type.length > 0) {
    return LEGACY_SUBJECT_TYPES[value.subject_type] ?? value.subject_type;
  }
  return invalid();
}

type Level = "top" | "member" | "alias";

function parseAt(value: unknown, level: Level): Subject {
  if (!isObject(value)) return invalid();
  const format = formatOf(value);

  if (format === "complex") {
    // SSF §3.3: complex subjects do not nest; their members are simple subjects.
    if (level !== "top") return invalid();
    const subject: ComplexSubject = { format: "complex" };
    for (const member of COMPLEX_MEMBERS) {
      if (value[member] !== undefined) subject[member] = parseAt(value[member], "member") as SimpleSubject;
    }
    // Member names SSF does not define are dropped here (see validateSet for critical ones).
    if (Object.keys(subject).length === 1) return invalid();
    return subject;
  }

  if (format === "aliases") {
    // RFC 9493 §3.2.8: aliases MUST NOT contain aliases.
    if (level === "alias") return invalid();
    const { identifiers } = value;
    if (!Array.isArray(identifiers) || identifiers.length === 0) return invalid();
    return { format: "aliases", identifiers: identifiers.map((id) => parseAt(id, "alias") as Identifier) };
  }

  const parsed = identifierSchema.safeParse({ ...value, format });
  if (parsed.success) return parsed.data;
  if (IDENTIFIER_FORMATS.has(format)) return invalid();
  return { format: "unknown", raw: { ...value } };
}

/**
 * Parses a `sub_id` (or a legacy event `subject`). Throws SetError `invalid_subject` (wire
 * `invalid_request`) when it is not an object with a format, or a known format is ill-formed.
 */
export function parseSubject(value: unknown): Subject {
  return parseAt(value, "top");
}

/** True when the Receiver cannot act on this member at all (SSF §3.6: "unable to process"). */
export function isUnprocessable(subject: SimpleSubject): boolean {
  if (subject.format === "unknown") return true;
  if (subject.format === "aliases") return subject.identifiers.every((id) => id.format === "unknown");
  return false;
}

/** The identifiers of one Lockstep session, as subjects can name it. */
export type SessionIdentity = {
  /** The IdP's issuer and subject of the session's user. */
  iss: string;
  sub: string;
  /** The IdP session id (OIDC `sid`), when the IdP sent one. */
  sid?: string;
  /** Lockstep's own session id. */
  lsid: string;
  /** The user's email claim, when known. */
  email?: string;
};

function splitEmail(address: string): { local: string; domain: string } | undefined {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1 || /\s/.test(address)) return undefined;
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * The local part is compared exactly (RFC 5321 §2.4 leaves its case to the mailbox's host), the
 * domain case-insensitively (domain names are case-insensitive). No other normalisation: no
 * dot-stripping, no plus-addressing, since those are provider-specific.
 */
function sameEmail(a: string, b: string): boolean {
  const x = splitEmail(a);
  const y = splitEmail(b);
  return x !== undefined && y !== undefined && x.local === y.local && x.domain.toLowerCase() === y.domain.toLowerCase();
}

/** A subject naming the session's user: iss_sub, or email. */
function namesUser(subject: SimpleSubject, session: SessionIdentity): boolean {
  switch (subject.format) {
    case "iss_sub":
      return subject.iss === session.iss && subject.sub === session.sub;
    case "email":
      return session.email !== undefined && sameEmail(subject.email, session.email);
    case "aliases":
      return subject.identifiers.some((id) => namesUser(id, session));
    default:
      return false;
  }
}

/**
 * A subject naming the session itself: opaque, equal to Lockstep's session id or to the IdP's sid.
 * (The receiver only applies SETs from its configured Transmitter, which is what scopes the sid.)
 */
function namesSession(subject: SimpleSubject, session: SessionIdentity): boolean {
  switch (subject.format) {
    case "opaque":
      return subject.id === session.lsid || (session.sid !== undefined && subject.id === session.sid);
    case "aliases":
      return subject.identifiers.some((id) => namesSession(id, session));
    default:
      return false;
  }
}

/**
 * Does this SET subject cover this session?
 * - `iss_sub`: iss and sub both equal; `email`: see sameEmail; `opaque`: the lsid or the IdP sid;
 *   `aliases`: any of its identifiers; every other format: never.
 * - `complex` (SSF §3.3, §8.1.3.1 intersection): every member we can relate to a session must match.
 *   `user` is compared with the session's user (iss_sub, email, aliases of them), `session` with
 *   its ids (opaque, aliases of it); a format there that cannot be compared fails the match.
 *   `device`, `application`, `tenant`, `org_unit` and `group` are not recorded in a session, so
 *   they are wildcards (SSF §8.1.3.1: "undefined on either side"). A complex subject with neither
 *   `user` nor `session` matches nothing, so that a device- or tenant-wide event can never end
 *   every session.
 */
export function matchesSession(subject: Subject, session: SessionIdentity): boolean {
  if (subject.format !== "complex") return namesUser(subject, session) || namesSession(subject, session);
  if (subject.user === undefined && subject.session === undefined) return false;
  return (
    (subject.user === undefined || namesUser(subject.user, session)) &&
    (subject.session === undefined || namesSession(subject.session, session))
  );
}

/** For logs and unknown formats: format names only, never identifiers or personal data. */
const safeName = (v: unknown): string => (typeof v === "string" && /^[A-Za-z0-9_.:+-]{1,64}$/.test(v) ? v : "?");

/**
 * A short, stable description of a subject's shape for log lines, free of personal data:
 * `iss_sub`, `aliases(email,opaque)`, `complex(user:iss_sub,session:opaque)`, `unknown(x-proprietary)`.
 */
export function subjectKey(subject: Subject): string {
  switch (subject.format) {
    case "unknown":
      return `unknown(${safeName(subject.raw.format ?? subject.raw.subject_type)})`;
    case "aliases":
      return `aliases(${subject.identifiers.map(subjectKey).join(",")})`;
    case "complex":
      return `complex(${COMPLEX_MEMBERS.flatMap((m) => {
        const member = subject[m];
        return member ? [`${m}:${subjectKey(member)}`] : [];
      }).join(",")})`;
    default:
      return subject.format;
  }
}
