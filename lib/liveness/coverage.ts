/**
 * Which paths carry each kind of sign-out event from the IdP to Lockstep, and how late at worst, from
 * the IdP's discovery metadata (OpenID Connect Discovery 1.0 §3), the SSF transmitter's configuration
 * when one is known (SSF §7.1, §8.1.1) and the settings. Pure: no network, no clock.
 *
 * Discovery says what an IdP supports, not what is registered for this client: every path that needs
 * a registration says so (`if_registered`), and every path whose use for an event is the IdP's choice
 * says so too (`idp_dependent`). Used by `npm run idp:check` and the signed-in page's status line.
 */
import type { Config } from "@/lib/config/schema";
import { CAEP_EVENTS, RISC_EVENTS } from "@/lib/ssf/events";
import { buildPolicy, shortName, type SsfAction } from "@/lib/ssf/policy";
import { POLL_METHOD, PUSH_METHOD } from "@/lib/ssf/streams";
import {
  HEARTBEAT_SECONDS,
  livenessPlan,
  type IdpLogoutMetadata,
  type LivenessBecause,
  type LivenessPlan,
  type LivenessSettings,
} from "./plan";

/** The kinds of event a user would expect to end their session here. */
export const eventKinds = ["idp_sign_out", "admin_ended", "account_disabled", "password_changed"] as const;
export type EventKind = (typeof eventKinds)[number];

export const eventKindLabel: Record<EventKind, string> = {
  idp_sign_out: "A sign-out at the IdP, or in another app that uses it",
  admin_ended: "An admin ending the user's sessions",
  account_disabled: "The account disabled",
  password_changed: "The password changed",
};

/** The paths an event can take to Lockstep, in the order they are listed. */
export const mechanisms = ["backchannel", "shared_signals", "liveness", "frontchannel", "session_iframe", "rp_initiated"] as const;
export type Mechanism = (typeof mechanisms)[number];

export const mechanismLabel: Record<Mechanism, string> = {
  backchannel: "back-channel logout",
  shared_signals: "Shared Signals",
  liveness: "liveness check",
  frontchannel: "front-channel logout",
  session_iframe: "session iframe",
  rp_initiated: "RP-initiated logout",
};

/** Paths that reach the server whether or not a browser is open. */
const serverSide: ReadonlySet<Mechanism> = new Set<Mechanism>(["backchannel", "shared_signals", "liveness"]);

/**
 * What must hold for a path to carry the event:
 * - `if_registered`: this client must be registered for it (a logout URI, a stream event, a redirect URI);
 * - `idp_dependent`: whether the IdP uses this path for this event is the IdP's choice;
 * - `grant_revoked`: only if the IdP refuses the session's grant once the event happened;
 * - `browser_at_idp_logout`: only while a browser has the IdP's logout page open;
 * - `open_tab`: only while a tab of the session is open;
 * - `same_site_idp`: the browser must send cookies across the two sites (only an IdP on the same site);
 * - `session_state`: the IdP must return `session_state` at sign-in (SM §2);
 * - `started_here`: only sign-outs started in Lockstep.
 */
export const conditions = [
  "if_registered",
  "idp_dependent",
  "grant_revoked",
  "browser_at_idp_logout",
  "open_tab",
  "same_site_idp",
  "session_state",
  "started_here",
] as const;
export type Condition = (typeof conditions)[number];

export const conditionLabel: Record<Condition, string> = {
  if_registered: "if registered",
  idp_dependent: "IdP-dependent",
  grant_revoked: "if the IdP revokes the grant",
  browser_at_idp_logout: "while a browser is at the IdP's logout page",
  open_tab: "open tabs only",
  same_site_idp: "same-site IdP only",
  session_state: "needs session_state",
  started_here: "sign-outs started here only",
};

/** A worst-case delay: in seconds when a number can be given (plus the network and the IdP's answer), and always in words. */
export type Delay = { seconds?: number; text: string };

export type Carrier = {
  mechanism: Mechanism;
  delay: Delay;
  conditions: Condition[];
  note: string;
  /** Shared Signals only: the event types that carry it, and what the policy table does with each. */
  events?: { type: string; action: SsfAction }[];
};

/**
 * What nothing covers for a kind of event:
 * - `nothing`: no path at all;
 * - `no_browser`: only paths that need a browser (front-channel, the session iframe);
 * - `idp_dependent`: the server-side paths carry it only if the IdP chooses to.
 */
export type Gap = { code: "nothing" | "no_browser" | "idp_dependent"; boundSeconds: number; text: string };

export type KindCoverage = { kind: EventKind; carriers: Carrier[]; gap?: Gap };

/** What the discovery document advertises, field by field. */
export type Advertised = {
  /** BCL §2.1 `backchannel_logout_supported`, `backchannel_logout_session_supported` (both default false). */
  backchannelLogout: boolean;
  backchannelLogoutSession: boolean;
  /** FCL §3 `frontchannel_logout_supported`, `frontchannel_logout_session_supported` (both default false). */
  frontchannelLogout: boolean;
  frontchannelLogoutSession: boolean;
  /** SM §3.3 `check_session_iframe`. */
  checkSessionIframe: boolean;
  /** RP-Initiated Logout §2.1 `end_session_endpoint`. */
  endSession: boolean;
  /** RFC 8414 §2 `introspection_endpoint` (RFC 7662), `revocation_endpoint` (RFC 7009). */
  introspection: boolean;
  revocation: boolean;
  /** Discovery §3 `token_endpoint` (refresh-token grants, RFC 6749 §6) and `userinfo_endpoint` (Core §5.3). */
  tokenEndpoint: boolean;
  userinfo: boolean;
};

export type CoverageWarning = {
  code:
    | "bcl_sid_refused"
    | "fcl_without_sid"
    | "liveness_no_method"
    | "liveness_relies_on_push"
    | "ssf_delivery_unsupported"
    | "ssf_delivery_mismatch";
  text: string;
};

/** The SSF facts the coverage uses; `events_delivered` comes from this receiver's stream (SSF §8.1.1), when it could be read. */
export type TransmitterFacts = {
  delivery_methods_supported?: string[];
  events_supported?: string[];
  events_delivered?: string[];
  /** The stream's `delivery.method` (SSF §8.1.1), when the stream could be read. */
  stream_delivery_method?: string;
};

export type CoverageSettings = LivenessSettings &
  Pick<
    Config,
    | "SSF_DELIVERY"
    | "SSF_POLICY"
    | "SESSION_MANAGEMENT"
    | "SESSION_CHECK_INTERVAL_MS"
    | "FCL_SESSION_REQUIRED"
    | "BCL_SESSION_REQUIRED"
    | "SESSION_TTL_SECONDS"
  >;

export type CoverageReport = {
  advertised: Advertised;
  kinds: KindCoverage[];
  liveness: LivenessPlan;
  /** Set when SSF_ISSUER is: how SETs arrive and how much is known of the events this receiver gets. */
  sharedSignals?: { delivery: "push" | "poll"; deliveryWorks: boolean; events: "delivered" | "supported" | "unknown" };
  warnings: CoverageWarning[];
  sessionTtlSeconds: number;
};

export const livenessReason: Record<LivenessBecause, string> = {
  forced_on: "LIVENESS=on",
  forced_off: "LIVENESS=off",
  no_push: "LIVENESS=auto and the IdP pushes nothing (no back-channel logout in discovery, SSF_ISSUER unset)",
  backchannel: "LIVENESS=auto and the IdP offers back-channel logout",
  shared_signals: "LIVENESS=auto and SSF_ISSUER is set",
};

/** A duration as people read it: "65 s", "5 min", "8 h". */
export function formatSeconds(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 120 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export function advertisedBy(metadata: IdpLogoutMetadata): Advertised {
  const has = (value: unknown) => typeof value === "string" && value !== "";
  return {
    backchannelLogout: metadata.backchannel_logout_supported === true,
    backchannelLogoutSession: metadata.backchannel_logout_session_supported === true,
    frontchannelLogout: metadata.frontchannel_logout_supported === true,
    frontchannelLogoutSession: metadata.frontchannel_logout_session_supported === true,
    checkSessionIframe: has(metadata.check_session_iframe),
    endSession: has(metadata.end_session_endpoint),
    introspection: has(metadata.introspection_endpoint),
    revocation: has(metadata.revocation_endpoint),
    tokenEndpoint: has(metadata.token_endpoint),
    userinfo: has(metadata.userinfo_endpoint),
  };
}

/** The logout paths exist for the IdP's sign-outs; whether the IdP also uses them for the other kinds is its own choice. */
const idpChooses = (kind: EventKind) => kind !== "idp_sign_out";

/** Whether an IdP revokes issued grants when an account is disabled or a password changes is its own choice. */
const revocationIsIdpChoice = (kind: EventKind) => kind === "account_disabled" || kind === "password_changed";

/**
 * BCL §2.1: the IdP sends a logout token when one of its sessions ends. That a sign-out ends it is the
 * spec's case; whether an admin's action, disabling an account or a new password does is the IdP's.
 */
function backchannel(kind: EventKind, advertised: Advertised, settings: CoverageSettings): Carrier | undefined {
  if (!advertised.backchannelLogout) return undefined;
  // BCL §2.2: with BCL_SESSION_REQUIRED, tokens without sid are refused; an IdP that does not say it sends sid sends none.
  if (settings.BCL_SESSION_REQUIRED && !advertised.backchannelLogoutSession) return undefined;
  return {
    mechanism: "backchannel",
    delay: { text: "seconds, as soon as the IdP sends it" },
    conditions: idpChooses(kind) ? ["if_registered", "idp_dependent"] : ["if_registered"],
    note: [
      "Needs backchannel_logout_uri registered for this client (BCL §2.2).",
      idpChooses(kind) ? "Only if the IdP ends its sessions on this event and sends logout tokens when it does." : "",
      advertised.backchannelLogoutSession
        ? ""
        : "Without sid, a logout token ends all of the user's sessions here begun before it (BCL §2.4).",
    ]
      .filter(Boolean)
      .join(" "),
  };
}

/** FCL §3: only while a browser shows the IdP's logout page, which loads this app's iframe; sign-outs only. */
function frontchannel(kind: EventKind, advertised: Advertised, settings: CoverageSettings): Carrier | undefined {
  if (kind !== "idp_sign_out" || !advertised.frontchannelLogout) return undefined;
  // FCL §2, §3: without frontchannel_logout_session_supported the requests carry no iss and sid, which FCL_SESSION_REQUIRED ignores.
  if (!advertised.frontchannelLogoutSession && settings.FCL_SESSION_REQUIRED) return undefined;
  return {
    mechanism: "frontchannel",
    delay: { text: "only while a browser has the IdP's logout page open" },
    conditions: advertised.frontchannelLogoutSession
      ? ["if_registered", "browser_at_idp_logout"]
      : ["if_registered", "browser_at_idp_logout", "same_site_idp"],
    note: advertised.frontchannelLogoutSession
      ? "Needs frontchannel_logout_uri registered with frontchannel_logout_session_required (FCL §2); Lockstep ends the session from iss and sid, and nothing reaches it for a sign-out that does not go through that page."
      : "Without iss and sid (FCL §3), only this app's cookie names the session, and SameSite=Lax cookies reach a cross-site iframe only from an IdP on the same site (FCL §4.1).",
  };
}

/**
 * SM §3.3: each open tab asks the IdP's check_session_iframe every SESSION_CHECK_INTERVAL_MS, then
 * re-checks with prompt=none; SESSION_MANAGEMENT=off never loads it.
 */
function sessionIframe(kind: EventKind, advertised: Advertised, settings: CoverageSettings): Carrier | undefined {
  if (!advertised.checkSessionIframe || settings.SESSION_MANAGEMENT === "off") return undefined;
  const seconds = settings.SESSION_CHECK_INTERVAL_MS / 1000;
  const base: Condition[] = ["if_registered", "open_tab", "same_site_idp", "session_state"];
  return {
    mechanism: "session_iframe",
    delay: { seconds, text: `${formatSeconds(seconds)} in open tabs (SESSION_CHECK_INTERVAL_MS), same-site IdP only` },
    conditions: idpChooses(kind) ? [...base, "idp_dependent"] : base,
    note: [
      "Needs <AUTH_URL>/api/session/check/callback registered as a redirect URI and session_state at sign-in (SM §2); the IdP's iframe needs its own cookie in a third-party context.",
      idpChooses(kind) ? "Only if the IdP's browser state changes when it ends sessions on this event (SM §3)." : "",
    ]
      .filter(Boolean)
      .join(" "),
  };
}

/** RP-Initiated Logout §2: a sign-out started in Lockstep ends the IdP session too; it carries nothing from elsewhere. */
function rpInitiated(kind: EventKind, advertised: Advertised): Carrier | undefined {
  if (kind !== "idp_sign_out" || !advertised.endSession) return undefined;
  return {
    mechanism: "rp_initiated",
    delay: { seconds: 0, text: "immediate: the sign-out starts here" },
    conditions: ["started_here", "if_registered"],
    note: "Covers only sign-outs started in Lockstep, which then end the IdP session (and, through the IdP, other apps); needs post_logout_redirect_uri registered (RP-Initiated Logout §3.1).",
  };
}

/**
 * Liveness: each active session is re-checked at the IdP (RFC 7662 §2 `active`, RFC 6749 §6
 * `invalid_grant`, RFC 6750 §3.1 `invalid_token`), which notices an event only if the IdP then refuses
 * the grant. An open tab's heartbeat drives the check; a request-only session is checked before its
 * first request once the interval has passed.
 */
function liveness(kind: EventKind, plan: LivenessPlan): Carrier | undefined {
  if (!plan.enabled || plan.methods.length === 0) return undefined;
  const seconds = plan.intervalSeconds + HEARTBEAT_SECONDS;
  const onlyUserinfo = plan.methods.length === 1 && plan.methods[0] === "userinfo";
  return {
    mechanism: "liveness",
    delay: {
      seconds,
      text: `${formatSeconds(seconds)} with an open tab (interval + ${HEARTBEAT_SECONDS} s heartbeat); else at the first request after ${formatSeconds(plan.intervalSeconds)}`,
    },
    conditions: revocationIsIdpChoice(kind) ? ["grant_revoked", "idp_dependent"] : ["grant_revoked"],
    note: [
      `Checks by ${plan.methods.join(", then ")}, plus the IdP's answer time; while the IdP fails to answer, checks pause (5 s doubling to 5 min) and end nothing.`,
      revocationIsIdpChoice(kind)
        ? "Whether the IdP revokes issued grants on this event is IdP-dependent."
        : "Only if the IdP revokes the grant on this event: some keep tokens valid after a sign-out, and offline_access refresh tokens outlive the IdP session.",
      onlyUserinfo ? "Userinfo proves only the access token, which an IdP may honour until it expires." : "",
    ]
      .filter(Boolean)
      .join(" "),
  };
}

/** The SSF event types (CAEP 1.0 §3, RISC 1.0 §2) that tell of each kind, and whether sending them for it is the transmitter's choice. */
const ssfEventsFor: Record<EventKind, { types: string[]; transmitterChooses: boolean }> = {
  idp_sign_out: { types: [CAEP_EVENTS.sessionRevoked, RISC_EVENTS.sessionsRevoked], transmitterChooses: true },
  admin_ended: { types: [CAEP_EVENTS.sessionRevoked, RISC_EVENTS.sessionsRevoked], transmitterChooses: false },
  account_disabled: { types: [RISC_EVENTS.accountDisabled, RISC_EVENTS.accountPurged], transmitterChooses: false },
  password_changed: { types: [CAEP_EVENTS.credentialChange], transmitterChooses: false },
};

const endingActions: ReadonlySet<SsfAction> = new Set<SsfAction>([
  "end_sessions",
  "end_sessions_before_event",
  "end_sessions_on_loss",
  "disable_account",
  "purge_account",
]);

/** SSF: the event types that end sessions under the policy table (lib/ssf/policy.ts, SSF_POLICY), narrowed to what the transmitter offers. */
function sharedSignals(kind: EventKind, settings: CoverageSettings, transmitter: TransmitterFacts | undefined): Carrier | undefined {
  if (!settings.SSF_ISSUER || !deliverySupported(settings, transmitter)) return undefined;
  const policy = buildPolicy(settings.SSF_POLICY);
  const known = transmitter?.events_delivered ?? transmitter?.events_supported;
  const { types, transmitterChooses } = ssfEventsFor[kind];
  const events = types
    .filter((type) => known === undefined || known.includes(type))
    .map((type) => ({ type, action: policy(type) }))
    .filter((e) => endingActions.has(e.action));
  if (events.length === 0) return undefined;
  const registered = transmitter?.events_delivered !== undefined;
  const names = events.map((e) => shortName(e.type)).join(", ");
  const push = settings.SSF_DELIVERY === "push";
  return {
    mechanism: "shared_signals",
    delay: push
      ? { text: "seconds, as soon as the transmitter pushes it (RFC 8935)" }
      : { text: "until the next poll (RFC 8936): the schedule of the job calling GET /api/ssf/poll" },
    conditions: [...(registered ? [] : (["if_registered"] as const)), ...(transmitterChooses ? (["idp_dependent"] as const) : [])],
    events,
    note: [
      registered ? `The stream delivers ${names}.` : `Only if the stream delivers ${names} (SSF §8.1.1 events_delivered).`,
      transmitterChooses ? "Only if the transmitter sends it for the user's own sign-out." : "",
    ]
      .filter(Boolean)
      .join(" "),
  };
}

/** SSF §6.1: the transmitter must offer SSF_DELIVERY's method, and a stream already read must use it. */
function deliveryProblem(settings: CoverageSettings, transmitter: TransmitterFacts | undefined): CoverageWarning | undefined {
  const method = settings.SSF_DELIVERY === "push" ? PUSH_METHOD : POLL_METHOD;
  if (transmitter?.delivery_methods_supported && !transmitter.delivery_methods_supported.includes(method)) {
    return {
      code: "ssf_delivery_unsupported",
      text: `SSF_DELIVERY=${settings.SSF_DELIVERY}, which the transmitter does not list in delivery_methods_supported (SSF §7.1): no SET arrives.`,
    };
  }
  if (transmitter?.stream_delivery_method !== undefined && transmitter.stream_delivery_method !== method) {
    return {
      code: "ssf_delivery_mismatch",
      text: `SSF_DELIVERY=${settings.SSF_DELIVERY}, but the stream is registered with ${transmitter.stream_delivery_method} (SSF §8.1.1): register it again (npm run ssf -- register).`,
    };
  }
  return undefined;
}

const deliverySupported = (settings: CoverageSettings, transmitter: TransmitterFacts | undefined) =>
  deliveryProblem(settings, transmitter) === undefined;

/** What nothing covers, bounded by the session's lifetime (SESSION_TTL_SECONDS). */
function gapOf(carriers: Carrier[], ttl: number): Gap | undefined {
  const elsewhere = carriers.filter((c) => c.mechanism !== "rp_initiated");
  const server = elsewhere.filter((c) => serverSide.has(c.mechanism));
  const firm = server.filter((c) => !c.conditions.includes("idp_dependent") && !c.conditions.includes("grant_revoked"));
  const until = `the session lasts until it is signed out here or SESSION_TTL_SECONDS (${formatSeconds(ttl)}) pass`;
  const browser = [
    elsewhere.some((c) => c.mechanism === "frontchannel") ? "no browser is at the IdP's logout page" : "",
    elsewhere.some((c) => c.mechanism === "session_iframe") ? "no tab of the session is open" : "",
  ].filter(Boolean);
  if (elsewhere.length === 0) return { code: "nothing", boundSeconds: ttl, text: `Nothing tells this app: ${until}.` };
  if (server.length === 0) {
    return { code: "no_browser", boundSeconds: ttl, text: `When ${browser.join(" and ")}, nothing tells this app: ${until}.` };
  }
  if (firm.length > 0) return undefined;
  const verbs = [
    server.some((c) => c.mechanism === "backchannel") ? "send a logout token" : "",
    server.some((c) => c.mechanism === "shared_signals") ? "send a SET" : "",
    server.some((c) => c.mechanism === "liveness") ? "revoke the grant" : "",
  ].filter(Boolean);
  const andBrowser = browser.length > 0 ? ` and ${browser.join(" and ")}` : "";
  return {
    code: "idp_dependent",
    boundSeconds: ttl,
    text: `If the IdP does not ${verbs.join(" or ")} on this event${andBrowser}, nothing tells this app: ${until}.`,
  };
}

function warningsFor(
  advertised: Advertised,
  settings: CoverageSettings,
  plan: LivenessPlan,
  transmitter?: TransmitterFacts,
): CoverageWarning[] {
  const warnings: CoverageWarning[] = [];
  if (advertised.backchannelLogout && settings.BCL_SESSION_REQUIRED && !advertised.backchannelLogoutSession) {
    warnings.push({
      code: "bcl_sid_refused",
      text: "BCL_SESSION_REQUIRED=true, but the IdP does not advertise backchannel_logout_session_supported (BCL §2.1): its logout tokens, without sid, would all be refused (BCL §2.2).",
    });
  }
  if (advertised.frontchannelLogout && !advertised.frontchannelLogoutSession && settings.FCL_SESSION_REQUIRED) {
    warnings.push({
      code: "fcl_without_sid",
      text: "The IdP does not advertise frontchannel_logout_session_supported (FCL §3): its front-channel requests carry no iss and sid, and FCL_SESSION_REQUIRED=true ignores them (FCL §2).",
    });
  }
  if (plan.enabled && plan.methods.length === 0) {
    warnings.push({
      code: "liveness_no_method",
      text: `Liveness is on, but discovery offers no endpoint for LIVENESS_METHOD=${settings.LIVENESS_METHOD} (introspection_endpoint, token_endpoint, userinfo_endpoint): nothing is re-checked.`,
    });
  }
  if (plan.because === "backchannel") {
    warnings.push({
      code: "liveness_relies_on_push",
      text: "Liveness is off because the IdP offers back-channel logout: register backchannel_logout_uri for this client, or set LIVENESS=on.",
    });
  }
  if (plan.because === "shared_signals") {
    warnings.push({
      code: "liveness_relies_on_push",
      text: "Liveness is off because SSF_ISSUER is set: register the stream (npm run ssf -- register), or set LIVENESS=on.",
    });
  }
  const delivery = settings.SSF_ISSUER ? deliveryProblem(settings, transmitter) : undefined;
  if (delivery) warnings.push(delivery);
  return warnings;
}

/**
 * For each kind of event, the paths that carry it to Lockstep with their worst-case delays and
 * conditions, and what nothing covers (bounded by SESSION_TTL_SECONDS). Promises only what the
 * metadata and settings allow; whether the client is registered for a path cannot be known here.
 */
export function coverage(metadata: IdpLogoutMetadata, settings: CoverageSettings, transmitter?: TransmitterFacts): CoverageReport {
  const advertised = advertisedBy(metadata);
  const plan = livenessPlan(metadata, settings);
  const kinds = eventKinds.map((kind): KindCoverage => {
    const carriers = [
      backchannel(kind, advertised, settings),
      sharedSignals(kind, settings, transmitter),
      liveness(kind, plan),
      frontchannel(kind, advertised, settings),
      sessionIframe(kind, advertised, settings),
      rpInitiated(kind, advertised),
    ].filter((c): c is Carrier => c !== undefined);
    const gap = gapOf(carriers, settings.SESSION_TTL_SECONDS);
    return gap ? { kind, carriers, gap } : { kind, carriers };
  });
  const sharedSignalsFacts = settings.SSF_ISSUER
    ? {
        delivery: settings.SSF_DELIVERY,
        deliveryWorks: deliverySupported(settings, transmitter),
        events: transmitter?.events_delivered
          ? ("delivered" as const)
          : transmitter?.events_supported
            ? ("supported" as const)
            : ("unknown" as const),
      }
    : undefined;
  return {
    advertised,
    kinds,
    liveness: plan,
    ...(sharedSignalsFacts ? { sharedSignals: sharedSignalsFacts } : {}),
    warnings: warningsFor(advertised, settings, plan, transmitter),
    sessionTtlSeconds: settings.SESSION_TTL_SECONDS,
  };
}

/**
 * One line for the signed-in page: the paths that tell this app of a sign-out elsewhere, and the
 * liveness interval, e.g. "Kept in step by back-channel logout (if registered at the IdP); re-checked at the IdP every 60 s."
 */
export function statusLine(report: CoverageReport): string {
  const used = new Set(report.kinds.flatMap((k) => k.carriers.map((c) => c.mechanism)));
  const pushed = (["backchannel", "shared_signals", "frontchannel", "session_iframe"] as const)
    .filter((m) => used.has(m))
    .map((m) => (m === "session_iframe" ? "the IdP's session iframe in open tabs" : mechanismLabel[m]));
  const rechecked = used.has("liveness") ? `re-checked at the IdP every ${formatSeconds(report.liveness.intervalSeconds)}` : "";
  // Discovery says what the IdP offers, not what this client registered: the line says so.
  const registered = used.has("backchannel") || used.has("frontchannel") ? " (if registered at the IdP)" : "";
  const kept = pushed.length > 0 ? `Kept in step by ${listed(pushed)}${registered}` : "";
  if (kept && rechecked) return `${kept}; ${rechecked}.`;
  if (kept) return `${kept}.`;
  if (rechecked) return `Re-checked at the IdP every ${formatSeconds(report.liveness.intervalSeconds)}.`;
  return `Nothing tells this app of a sign-out at the IdP: a session ends when signed out here or after ${formatSeconds(report.sessionTtlSeconds)}.`;
}

function listed(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}
