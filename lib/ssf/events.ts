/**
 * Event-type URIs (the keys of a SET's `events` claim), exactly as CAEP 1.0 §3, RISC 1.0 §2 and
 * SSF 1.0 §8.1.4.1 and §8.1.5 define them.
 */

/** CAEP 1.0 §3.1–3.8. */
export const CAEP_EVENTS = {
  sessionRevoked: "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
  tokenClaimsChange: "https://schemas.openid.net/secevent/caep/event-type/token-claims-change",
  credentialChange: "https://schemas.openid.net/secevent/caep/event-type/credential-change",
  assuranceLevelChange: "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change",
  deviceComplianceChange: "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change",
  sessionEstablished: "https://schemas.openid.net/secevent/caep/event-type/session-established",
  sessionPresented: "https://schemas.openid.net/secevent/caep/event-type/session-presented",
  riskLevelChange: "https://schemas.openid.net/secevent/caep/event-type/risk-level-change",
} as const;

/** RISC 1.0 §2.1–2.11. `sessionsRevoked` is deprecated in favour of CAEP session-revoked, but still accepted. */
export const RISC_EVENTS = {
  accountCredentialChangeRequired: "https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required",
  accountPurged: "https://schemas.openid.net/secevent/risc/event-type/account-purged",
  accountDisabled: "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
  accountEnabled: "https://schemas.openid.net/secevent/risc/event-type/account-enabled",
  identifierChanged: "https://schemas.openid.net/secevent/risc/event-type/identifier-changed",
  identifierRecycled: "https://schemas.openid.net/secevent/risc/event-type/identifier-recycled",
  credentialCompromise: "https://schemas.openid.net/secevent/risc/event-type/credential-compromise",
  optIn: "https://schemas.openid.net/secevent/risc/event-type/opt-in",
  optOutInitiated: "https://schemas.openid.net/secevent/risc/event-type/opt-out-initiated",
  optOutCancelled: "https://schemas.openid.net/secevent/risc/event-type/opt-out-cancelled",
  optOutEffective: "https://schemas.openid.net/secevent/risc/event-type/opt-out-effective",
  recoveryActivated: "https://schemas.openid.net/secevent/risc/event-type/recovery-activated",
  recoveryInformationChanged: "https://schemas.openid.net/secevent/risc/event-type/recovery-information-changed",
  sessionsRevoked: "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked",
} as const;

/** SSF 1.0 §8.1.4.1 (Verification) and §8.1.5 (Stream Updated): delivered even when not in events_delivered. */
export const SSF_EVENTS = {
  verification: "https://schemas.openid.net/secevent/ssf/event-type/verification",
  streamUpdated: "https://schemas.openid.net/secevent/ssf/event-type/stream-updated",
} as const;

export type CaepEventType = (typeof CAEP_EVENTS)[keyof typeof CAEP_EVENTS];
export type RiscEventType = (typeof RISC_EVENTS)[keyof typeof RISC_EVENTS];
export type SsfEventType = (typeof SSF_EVENTS)[keyof typeof SSF_EVENTS];
export type KnownEventType = CaepEventType | RiscEventType | SsfEventType;

const KNOWN: ReadonlySet<string> = new Set<string>([
  ...Object.values(CAEP_EVENTS),
  ...Object.values(RISC_EVENTS),
  ...Object.values(SSF_EVENTS),
]);

/** SSF §4.2.3: unknown event types are not errors; the Receiver acknowledges and ignores them. */
export function isKnownEventType(uri: string): uri is KnownEventType {
  return KNOWN.has(uri);
}
