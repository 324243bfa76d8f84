/**
 * Which liveness check Lockstep runs, chosen from the IdP's own discovery metadata (OpenID Connect
 * Discovery 1.0 §3, BCL §2.1, FCL §3, Session Management §3.3, RFC 8414 for introspection) and the
 * settings. Pure: no network, no clock. Used by the liveness monitor, by the signed-in page's status
 * line and by `npm run idp:check`.
 */

/** The discovery fields that say which sign-out paths an IdP offers. Every field may be missing. */
export type IdpLogoutMetadata = {
  issuer?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  end_session_endpoint?: string;
  check_session_iframe?: string;
  introspection_endpoint?: string;
  revocation_endpoint?: string;
  backchannel_logout_supported?: boolean;
  backchannel_logout_session_supported?: boolean;
  frontchannel_logout_supported?: boolean;
  frontchannel_logout_session_supported?: boolean;
};

/** The settings that shape liveness (lib/config/schema.ts). */
export type LivenessSettings = {
  LIVENESS: "auto" | "on" | "off";
  LIVENESS_INTERVAL_SECONDS: number;
  LIVENESS_METHOD: "auto" | LivenessMethod;
  /** Set when a Shared Signals transmitter pushes or is polled: a push path of its own. */
  SSF_ISSUER?: string;
};

/**
 * The proofs of a live grant, cheapest first: token introspection (RFC 7662 §2: `active`), a
 * refresh-token grant (RFC 6749 §6: `invalid_grant` when the grant or the IdP session is gone), and
 * userinfo with the access token (OpenID Connect Core §5.3; RFC 6750 §3.1 `invalid_token`).
 */
export const livenessMethods = ["introspection", "refresh", "userinfo"] as const;
export type LivenessMethod = (typeof livenessMethods)[number];

/**
 * How often an open tab's event stream (`GET /api/session/events`) sends its heartbeat, and so drives
 * the liveness check, in seconds: the worst case for a session with an open tab is the interval plus
 * this (plus the IdP's answer time).
 */
export const HEARTBEAT_SECONDS = 5;

/**
 * Why liveness is on or off:
 * - `forced_on` / `forced_off`: LIVENESS=on / off;
 * - `no_push`: LIVENESS=auto and the IdP pushes nothing (no back-channel logout, no SSF transmitter);
 * - `backchannel`: LIVENESS=auto and the IdP offers back-channel logout (register it);
 * - `shared_signals`: LIVENESS=auto and SSF_ISSUER is set.
 */
export type LivenessBecause = "forced_on" | "forced_off" | "no_push" | "backchannel" | "shared_signals";

export type LivenessPlan = {
  enabled: boolean;
  because: LivenessBecause;
  intervalSeconds: number;
  /** The methods this IdP's metadata allows, in the order they are tried; empty when none is possible. */
  methods: LivenessMethod[];
};

/** What the IdP's metadata makes possible for each method. The token endpoint is needed to refresh. */
function possible(metadata: IdpLogoutMetadata, method: LivenessMethod): boolean {
  if (method === "introspection") return typeof metadata.introspection_endpoint === "string";
  if (method === "refresh") return typeof metadata.token_endpoint === "string";
  return typeof metadata.userinfo_endpoint === "string";
}

/**
 * The liveness plan for an IdP. With LIVENESS=auto, liveness is on exactly when nothing pushes: the
 * discovery document does not say `backchannel_logout_supported: true` and no SSF transmitter is set.
 * LIVENESS_METHOD=auto tries every method the metadata allows, cheapest first; a named method is the
 * only one tried.
 */
export function livenessPlan(metadata: IdpLogoutMetadata, settings: LivenessSettings): LivenessPlan {
  const candidates = settings.LIVENESS_METHOD === "auto" ? [...livenessMethods] : [settings.LIVENESS_METHOD];
  const methods = candidates.filter((m) => possible(metadata, m));
  const intervalSeconds = settings.LIVENESS_INTERVAL_SECONDS;
  if (settings.LIVENESS === "on") return { enabled: true, because: "forced_on", intervalSeconds, methods };
  if (settings.LIVENESS === "off") return { enabled: false, because: "forced_off", intervalSeconds, methods };
  if (settings.SSF_ISSUER) return { enabled: false, because: "shared_signals", intervalSeconds, methods };
  if (metadata.backchannel_logout_supported === true) return { enabled: false, because: "backchannel", intervalSeconds, methods };
  return { enabled: true, because: "no_push", intervalSeconds, methods };
}

/** The tokens a session holds, as far as choosing a method goes. */
export type HeldTokens = { accessToken?: string; refreshToken?: string };

/**
 * The first of the plan's methods that a session's tokens allow, or undefined when none does (a
 * session with neither a refresh token nor an access token cannot be checked). Introspection asks
 * about the refresh token when there is one (it outlives access tokens and dies with the grant),
 * else the access token.
 */
export function methodFor(
  plan: Pick<LivenessPlan, "methods">,
  tokens: HeldTokens,
  unusable: ReadonlySet<LivenessMethod> = new Set(),
): LivenessMethod | undefined {
  for (const method of plan.methods) {
    if (unusable.has(method)) continue;
    if (method === "introspection" && (tokens.refreshToken || tokens.accessToken)) return method;
    if (method === "refresh" && tokens.refreshToken) return method;
    if (method === "userinfo" && tokens.accessToken) return method;
  }
  return undefined;
}
