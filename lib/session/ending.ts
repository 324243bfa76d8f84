/**
 * The vocabulary of a session's ending, which every layer speaks (the store records it, the
 * receivers and routes write it, the pages show it): why a session ended, and who carried the news.
 * A leaf: it imports nothing.
 */

/** Why a session is over. Shown to the user on the signed-out page; never more detail than this. */
export const endReasons = [
  /** The user signed out in this app. */
  "logout",
  /** The IdP ended it (back-channel logout, an admin, or a revocation written to the list). */
  "revoked",
  /** The IdP ended it through front-channel logout. */
  "frontchannel_logout",
  /** The IdP's session changed or ended (Session Management's check_session_iframe). */
  "idp_session_changed",
  /** The user signed this device out from another one ("sign out this device" / "everywhere"). */
  "ended_elsewhere",
  /** A Shared Signals event (CAEP or RISC) from the IdP or a security system ended it. */
  "security_event",
  "expired",
  "refresh_failed",
  /** A liveness check found that the IdP no longer honours the session's grant (lib/liveness/). */
  "idp_refused",
] as const;
export type EndReason = (typeof endReasons)[number];

/**
 * How the news of an ending reached this app: the demo's lesson, shown beside the reason. The reason
 * says why a session ended; the mechanism says who carried the news. Recorded with the ending, never
 * taken from a request a browser could craft.
 */
export const endMechanisms = [
  /** OpenID Connect Back-Channel Logout: the IdP's server called ours. */
  "backchannel",
  /** OpenID Connect Front-Channel Logout: the IdP's logout page loaded ours in an iframe. */
  "frontchannel",
  /** Session Management: a tab's check_session_iframe saw a change and the silent re-check confirmed it. */
  "session_iframe",
  /** A Shared Signals (CAEP or RISC) event from the IdP or a security system. */
  "shared_signals",
  /** The user signed out in this browser (this tab or another tab of it). */
  "this_browser",
  /** The user signed this session out from another session ("sign out this device", "everywhere"). */
  "another_device",
  /** The IdP refused to renew the session's tokens. */
  "token_refresh",
  /** Lockstep's periodic re-check of an active session at the IdP (introspection, refresh or userinfo). */
  "liveness_check",
] as const;
export type EndMechanism = (typeof endMechanisms)[number];

export function isEndMechanism(value: unknown): value is EndMechanism {
  return typeof value === "string" && (endMechanisms as readonly string[]).includes(value);
}

export function isEndReason(value: unknown): value is EndReason {
  return typeof value === "string" && (endReasons as readonly string[]).includes(value);
}
