// The event types the demo transmitter supports, the payloads of the admin's per-user events, and the
// subject identifier helpers (RFC 9493, SSF 1.0 §3) that stream subject filtering needs.

const SSF = "https://schemas.openid.net/secevent/ssf/event-type/";
const CAEP = "https://schemas.openid.net/secevent/caep/event-type/";
const RISC = "https://schemas.openid.net/secevent/risc/event-type/";

/** SSF §8.1.4.1 and §8.1.5 (MGMT-01, MGMT-02): delivered on every stream, whatever it requested. */
export const VERIFICATION_EVENT = `${SSF}verification`;
export const STREAM_UPDATED_EVENT = `${SSF}stream-updated`;
export const SSF_EVENT_TYPES: readonly string[] = [VERIFICATION_EVENT, STREAM_UPDATED_EVENT];

/** CAEP 1.0 §3 (SPECS.md §5.6). */
export const CAEP_EVENT_TYPES: readonly string[] = [
  "session-revoked",
  "token-claims-change",
  "credential-change",
  "assurance-level-change",
  "device-compliance-change",
  "session-established",
  "session-presented",
  "risk-level-change",
].map((name) => CAEP + name);

/** RISC 1.0 §2 (SPECS.md §5.7). `sessions-revoked` is deprecated but still a defined type. */
export const RISC_EVENT_TYPES: readonly string[] = [
  "account-credential-change-required",
  "account-purged",
  "account-disabled",
  "account-enabled",
  "identifier-changed",
  "identifier-recycled",
  "credential-compromise",
  "opt-in",
  "opt-out-initiated",
  "opt-out-cancelled",
  "opt-out-effective",
  "recovery-activated",
  "recovery-information-changed",
  "sessions-revoked",
].map((name) => RISC + name);

/** Every stream's `events_supported`, as the conformance suite's transmitter has it: SSF + CAEP + RISC. */
export const EVENTS_SUPPORTED: readonly string[] = [...SSF_EVENT_TYPES, ...CAEP_EVENT_TYPES, ...RISC_EVENT_TYPES];

export function isSsfEventType(type: string): boolean {
  return SSF_EVENT_TYPES.includes(type);
}

/** What the admin page (and `ssf.emitForUser`) can report about a user. */
export const USER_EVENT_KINDS = ["session-revoked", "credential-change", "account-disabled", "account-enabled", "account-purged"] as const;
export type UserEventKind = (typeof USER_EVENT_KINDS)[number];

export function isUserEventKind(value: string): value is UserEventKind {
  return (USER_EVENT_KINDS as readonly string[]).includes(value);
}

export const USER_EVENT_LABELS: Readonly<Record<UserEventKind, string>> = {
  "session-revoked": "Session revoked",
  "credential-change": "Password changed",
  "account-disabled": "Account disabled (hijacked)",
  "account-enabled": "Account enabled",
  "account-purged": "Account purged",
};

/**
 * The event type and payload for a user event: the CAEP/RISC example payloads of SPECS.md §7, adapted.
 * CAEP-Interop §3 wants a non-empty `reason_admin` on session-revoked.
 */
export function userEvent(kind: UserEventKind, nowSeconds: number): { type: string; payload: Record<string, unknown> } {
  switch (kind) {
    case "session-revoked":
      return {
        type: `${CAEP}session-revoked`,
        payload: { event_timestamp: nowSeconds, initiating_entity: "admin", reason_admin: { en: "Ended by the demo admin" } },
      };
    case "credential-change":
      return {
        type: `${CAEP}credential-change`,
        payload: { credential_type: "password", change_type: "update", event_timestamp: nowSeconds, initiating_entity: "user" },
      };
    case "account-disabled":
      return { type: `${RISC}account-disabled`, payload: { reason: "hijacking" } };
    case "account-enabled":
      return { type: `${RISC}account-enabled`, payload: {} };
    case "account-purged":
      return { type: `${RISC}account-purged`, payload: {} };
  }
}

/** An RFC 9493 subject identifier or an SSF §3.3 complex subject: an object with a string `format`. */
export type SubjectIdentifier = { format: string; [member: string]: unknown };

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isSubjectIdentifier(value: unknown): value is SubjectIdentifier {
  return isPlainObject(value) && typeof value.format === "string" && value.format.length > 0;
}

/** JSON with object members sorted, so that equal values serialize equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isPlainObject(value)) {
    const members = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * SSF §8.1.3.1 (MGMT-03): simple subjects match only when identical. Complex subjects match when every
 * member defined on both sides is identical (a member missing on one side is a wildcard); they must share
 * at least one member, or two unrelated principals would match. A simple and a complex subject never match.
 */
export function subjectsMatch(a: SubjectIdentifier, b: SubjectIdentifier): boolean {
  if (a.format !== "complex" || b.format !== "complex") return canonicalJson(a) === canonicalJson(b);
  const shared = Object.keys(a).filter((key) => key !== "format" && a[key] !== undefined && b[key] !== undefined);
  return shared.length > 0 && shared.every((key) => canonicalJson(a[key]) === canonicalJson(b[key]));
}
