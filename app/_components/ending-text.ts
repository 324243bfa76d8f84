import type { EndMechanism, EndReason } from "@/lib/session/ending";

/** Who carried the news of an ending, in words (the signed-out page and the dashboard's activity). */
export const mechanismText: Record<EndMechanism, string> = {
  backchannel: "back-channel logout (your identity provider's server called this app's)",
  frontchannel: "front-channel logout (your identity provider's sign-out page loaded this app's in a hidden frame)",
  session_iframe: "the session iframe (Session Management: this app's tab saw the identity provider's session change)",
  shared_signals: "a Shared Signals event (CAEP or RISC) from your identity provider or a security system",
  this_browser: "this browser (you signed out in a tab of it)",
  another_device: 'another of your sessions at this app ("Sign out this device" or "Sign out every device")',
  token_refresh: "a refused token renewal (your identity provider no longer accepts this session)",
  liveness_check: "this app's periodic check with your identity provider (it no longer honours this session)",
};

/** Short forms for the activity log. */
export const mechanismShort: Record<EndMechanism, string> = {
  backchannel: "back-channel logout",
  frontchannel: "front-channel logout",
  session_iframe: "session iframe",
  shared_signals: "Shared Signals event",
  this_browser: "this browser",
  another_device: "another device",
  token_refresh: "token renewal refused",
  liveness_check: "periodic check at the identity provider",
};

export const reasonShort: Record<EndReason, string> = {
  logout: "signed out",
  revoked: "ended by the identity provider",
  frontchannel_logout: "ended by the identity provider",
  idp_session_changed: "identity provider session changed",
  ended_elsewhere: "signed out from another session",
  security_event: "security event",
  expired: "expired",
  refresh_failed: "could not be renewed",
  idp_refused: "no longer honoured by the identity provider",
};
