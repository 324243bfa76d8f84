import { z } from "zod";
import { CAEP_EVENTS, RISC_EVENTS } from "./events";

/**
 * What Lockstep does with each event type: a table with safe defaults, each entry overridable by
 * SSF_POLICY (JSON, keyed by the event's short name, e.g. {"device-compliance-change":"ignore"}).
 */
export const ssfActions = [
  /** End every session the subject names. */
  "end_sessions",
  /** End the user's sessions that started before the event (event_timestamp, else now). */
  "end_sessions_before_event",
  /** Have the named sessions read their claims again from the IdP on the next request. */
  "refresh_claims",
  /** End the named sessions when the event reports a loss (not-compliant, assurance decrease); otherwise nothing. */
  "end_sessions_on_loss",
  /** End all the user's sessions and refuse new sign-ins until account-enabled. */
  "disable_account",
  /** Allow sign-ins again. */
  "enable_account",
  /** End all the user's sessions and delete what the app stores for the user. */
  "purge_account",
  /** RISC identifier-changed: move the user's email index entry to the event's `new-value`. */
  "update_identifier",
  /** Write it to the security log; change nothing. */
  "record",
  "ignore",
] as const;

export type SsfAction = (typeof ssfActions)[number];

export const defaultPolicy: Record<string, SsfAction> = {
  [CAEP_EVENTS.sessionRevoked]: "end_sessions",
  [CAEP_EVENTS.credentialChange]: "end_sessions_before_event",
  [CAEP_EVENTS.tokenClaimsChange]: "refresh_claims",
  [CAEP_EVENTS.assuranceLevelChange]: "end_sessions_on_loss",
  [CAEP_EVENTS.deviceComplianceChange]: "end_sessions_on_loss",
  [RISC_EVENTS.accountDisabled]: "disable_account",
  [RISC_EVENTS.accountEnabled]: "enable_account",
  [RISC_EVENTS.accountPurged]: "purge_account",
  [RISC_EVENTS.sessionsRevoked]: "end_sessions",
  [RISC_EVENTS.credentialCompromise]: "end_sessions",
  [RISC_EVENTS.identifierChanged]: "update_identifier",
  [RISC_EVENTS.accountCredentialChangeRequired]: "record",
};

/** The event type's last path segment: "https://…/caep/event-type/session-revoked" → "session-revoked". */
export const shortName = (eventType: string) => eventType.slice(eventType.lastIndexOf("/") + 1);

/** SSF_POLICY's shape: event short names to actions, e.g. {"device-compliance-change":"ignore"}. Checked at start-up. */
export const policyOverridesSchema = z.record(
  z.string().regex(/^[a-z0-9-]+$/, "keys are event short names such as session-revoked"),
  z.enum(ssfActions),
);

export type PolicyOverrides = z.infer<typeof policyOverridesSchema>;

/** The policy in force: the defaults with SSF_POLICY's overrides. */
export function buildPolicy(overrides: PolicyOverrides): (eventType: string) => SsfAction {
  return (eventType) => overrides[shortName(eventType)] ?? defaultPolicy[eventType] ?? "ignore";
}

/** For end_sessions_on_loss: does the event report a loss? (CAEP §3.4, §3.5) */
export function reportsLoss(eventType: string, event: Record<string, unknown>): boolean {
  if (eventType === CAEP_EVENTS.deviceComplianceChange) return event.current_status === "not-compliant";
  if (eventType === CAEP_EVENTS.assuranceLevelChange) return event.change_direction === "decrease";
  return true;
}
