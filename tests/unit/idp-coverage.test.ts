/**
 * The coverage table (lib/liveness/coverage.ts): for each kind of event, which paths carry it to
 * Lockstep and how late at worst, from discovery documents of real IdPs (tests/unit/fixtures/discovery.ts).
 */
import { describe, expect, it } from "vitest";
import {
  coverage,
  formatSeconds,
  statusLine,
  type Carrier,
  type CoverageReport,
  type CoverageSettings,
  type EventKind,
  type Mechanism,
} from "@/lib/liveness/coverage";
import { HEARTBEAT_SECONDS } from "@/lib/liveness/plan";
import { CAEP_EVENTS, RISC_EVENTS } from "@/lib/ssf/events";
import { POLL_METHOD, PUSH_METHOD } from "@/lib/ssf/streams";
import { demoIdp, frontchannelOnly, glewlwyd, googleLike } from "./fixtures/discovery";

/** The app's defaults (lib/config/schema.ts). */
const defaults: CoverageSettings = {
  LIVENESS: "auto",
  LIVENESS_INTERVAL_SECONDS: 60,
  LIVENESS_METHOD: "auto",
  SSF_ISSUER: undefined,
  SSF_DELIVERY: "push",
  SSF_POLICY: {},
  SESSION_MANAGEMENT: "auto",
  SESSION_CHECK_INTERVAL_MS: 3000,
  FCL_SESSION_REQUIRED: true,
  BCL_SESSION_REQUIRED: false,
  SESSION_TTL_SECONDS: 28_800,
};
const settings = (changes: Partial<CoverageSettings> = {}): CoverageSettings => ({ ...defaults, ...changes });
const TRANSMITTER = "https://tr.example.com";

function kindOf(report: CoverageReport, kind: EventKind) {
  const found = report.kinds.find((k) => k.kind === kind);
  if (!found) throw new Error(`no ${kind} in the report`);
  return found;
}
const mechanismsOf = (report: CoverageReport, kind: EventKind) => kindOf(report, kind).carriers.map((c) => c.mechanism);
function carrier(report: CoverageReport, kind: EventKind, mechanism: Mechanism): Carrier {
  const found = kindOf(report, kind).carriers.find((c) => c.mechanism === mechanism);
  if (!found) throw new Error(`${mechanism} does not carry ${kind}`);
  return found;
}
const warningCodes = (report: CoverageReport) => report.warnings.map((w) => w.code);
const shortNames = (c: Carrier) => c.events?.map((e) => e.type.slice(e.type.lastIndexOf("/") + 1));

describe("the demo IdP: back-channel, front-channel and the session iframe", () => {
  const report = coverage(demoIdp, settings());

  it("carries a sign-out at the IdP by back-channel, front-channel, the session iframe, and RP-initiated logout for sign-outs started here", () => {
    expect(mechanismsOf(report, "idp_sign_out")).toEqual(["backchannel", "frontchannel", "session_iframe", "rp_initiated"]);
    expect(carrier(report, "idp_sign_out", "rp_initiated")).toMatchObject({
      delay: { seconds: 0 },
      conditions: ["started_here", "if_registered"],
    });
  });

  it("back-channel logout arrives as soon as the IdP sends it, if backchannel_logout_uri is registered (BCL §2.2)", () => {
    const backchannel = carrier(report, "idp_sign_out", "backchannel");
    expect(backchannel.delay).toEqual({ text: "seconds, as soon as the IdP sends it" });
    expect(backchannel.conditions).toEqual(["if_registered"]);
  });

  it("front-channel logout has no bound: only while a browser has the IdP's logout page open (FCL §3)", () => {
    const frontchannel = carrier(report, "idp_sign_out", "frontchannel");
    expect(frontchannel.delay).toEqual({ text: "only while a browser has the IdP's logout page open" });
    expect(frontchannel.conditions).toEqual(["if_registered", "browser_at_idp_logout"]);
  });

  it("leaves nothing uncovered for a sign-out at the IdP", () => {
    expect(kindOf(report, "idp_sign_out").gap).toBeUndefined();
  });

  it("an admin ending sessions reaches it only if the IdP sends a logout token then: the gap is bounded by SESSION_TTL_SECONDS", () => {
    expect(mechanismsOf(report, "admin_ended")).toEqual(["backchannel", "session_iframe"]);
    expect(carrier(report, "admin_ended", "backchannel").conditions).toEqual(["if_registered", "idp_dependent"]);
    expect(kindOf(report, "admin_ended").gap).toMatchObject({ code: "idp_dependent", boundSeconds: 28_800 });
  });

  it("keeps liveness off under LIVENESS=auto, and warns that this relies on back-channel logout being registered", () => {
    expect(report.liveness).toEqual({
      enabled: false,
      because: "backchannel",
      intervalSeconds: 60,
      methods: ["introspection", "refresh", "userinfo"],
    });
    expect(warningCodes(report)).toEqual(["liveness_relies_on_push"]);
  });

  it("says so in one line", () => {
    expect(statusLine(report)).toBe(
      "Kept in step by back-channel logout, front-channel logout and the IdP's session iframe in open tabs (if registered at the IdP).",
    );
  });
});

describe("glewlwyd 2.7.5: no *_logout_supported in discovery, a check_session_iframe, introspection", () => {
  const report = coverage(glewlwyd, settings());

  it("counts neither back- nor front-channel logout: both default to false when not advertised (BCL §2.1, FCL §3)", () => {
    expect(report.advertised).toMatchObject({
      backchannelLogout: false,
      frontchannelLogout: false,
      checkSessionIframe: true,
      introspection: true,
    });
    for (const kind of report.kinds) expect(kind.carriers.map((c) => c.mechanism)).not.toContain("backchannel");
    expect(mechanismsOf(report, "idp_sign_out")).toEqual(["liveness", "session_iframe", "rp_initiated"]);
  });

  it("turns liveness on, introspection first (RFC 7662 §2), since nothing pushes", () => {
    expect(report.liveness).toEqual({
      enabled: true,
      because: "no_push",
      intervalSeconds: 60,
      methods: ["introspection", "refresh", "userinfo"],
    });
  });

  it("re-checks a session with an open tab within LIVENESS_INTERVAL_SECONDS + the heartbeat", () => {
    expect(carrier(report, "idp_sign_out", "liveness").delay.seconds).toBe(60 + HEARTBEAT_SECONDS);
    const faster = coverage(glewlwyd, settings({ LIVENESS_INTERVAL_SECONDS: 30 }));
    for (const kind of faster.kinds) expect(carrier(faster, kind.kind, "liveness").delay.seconds).toBe(35);
  });

  it("liveness notices an event only if the IdP revokes the grant, which for a disabled account or a new password is IdP-dependent", () => {
    expect(carrier(report, "idp_sign_out", "liveness").conditions).toEqual(["grant_revoked"]);
    expect(carrier(report, "admin_ended", "liveness").conditions).toEqual(["grant_revoked"]);
    expect(carrier(report, "account_disabled", "liveness").conditions).toEqual(["grant_revoked", "idp_dependent"]);
    expect(carrier(report, "password_changed", "liveness").conditions).toEqual(["grant_revoked", "idp_dependent"]);
  });

  it("the session iframe polls every SESSION_CHECK_INTERVAL_MS in open tabs, same-site IdP only, with session_state (SM §3.3)", () => {
    const iframe = carrier(report, "idp_sign_out", "session_iframe");
    expect(iframe.delay.seconds).toBe(3);
    expect(iframe.conditions).toEqual(["if_registered", "open_tab", "same_site_idp", "session_state"]);
    expect(carrier(coverage(glewlwyd, settings({ SESSION_CHECK_INTERVAL_MS: 1500 })), "idp_sign_out", "session_iframe").delay.seconds).toBe(
      1.5,
    );
  });

  it("SESSION_MANAGEMENT=off never loads the check_session_iframe, whatever discovery says (SM §3.3)", () => {
    const off = coverage(glewlwyd, settings({ SESSION_MANAGEMENT: "off" }));
    expect(mechanismsOf(off, "idp_sign_out")).toEqual(["liveness", "rp_initiated"]);
    expect(statusLine(off)).toBe("Re-checked at the IdP every 60 s.");
  });

  it("leaves every kind to the IdP's revoking the grant, or to an open tab", () => {
    for (const kind of report.kinds) expect(kind.gap).toMatchObject({ code: "idp_dependent", boundSeconds: 28_800 });
  });

  it("says so in one line", () => {
    expect(statusLine(report)).toBe("Kept in step by the IdP's session iframe in open tabs; re-checked at the IdP every 60 s.");
  });
});

describe("a Google-like IdP: no logout support at all", () => {
  it("with liveness, only the liveness check carries anything, by refresh then userinfo (no introspection endpoint)", () => {
    const report = coverage(googleLike, settings());
    expect(report.liveness.methods).toEqual(["refresh", "userinfo"]);
    for (const kind of report.kinds) expect(kind.carriers.map((c) => c.mechanism)).toEqual(["liveness"]);
    expect(statusLine(report)).toBe("Re-checked at the IdP every 60 s.");
  });

  it("with LIVENESS=off nothing carries any event: the session lasts until SESSION_TTL_SECONDS", () => {
    const report = coverage(googleLike, settings({ LIVENESS: "off", SESSION_TTL_SECONDS: 3600 }));
    for (const kind of report.kinds) {
      expect(kind.carriers).toEqual([]);
      expect(kind.gap).toMatchObject({ code: "nothing", boundSeconds: 3600 });
    }
    expect(statusLine(report)).toBe("Nothing tells this app of a sign-out at the IdP: a session ends when signed out here or after 1 h.");
  });

  it("a LIVENESS_METHOD the IdP cannot serve leaves nothing to re-check, and says so", () => {
    const report = coverage(googleLike, settings({ LIVENESS_METHOD: "introspection" }));
    expect(mechanismsOf(report, "idp_sign_out")).toEqual([]);
    expect(warningCodes(report)).toEqual(["liveness_no_method"]);
  });
});

describe("front-channel logout (FCL)", () => {
  it("carries only sign-outs, while a browser is at the IdP's logout page: without an open browser nothing does (FCL §3)", () => {
    const report = coverage(frontchannelOnly, settings({ LIVENESS: "off" }));
    expect(mechanismsOf(report, "idp_sign_out")).toEqual(["frontchannel", "rp_initiated"]);
    expect(mechanismsOf(report, "admin_ended")).toEqual([]);
    expect(kindOf(report, "idp_sign_out").gap).toMatchObject({ code: "no_browser", boundSeconds: 28_800 });
  });

  it("is ignored without iss and sid when FCL_SESSION_REQUIRED is true (FCL §2)", () => {
    const report = coverage({ ...frontchannelOnly, frontchannel_logout_session_supported: false }, settings());
    expect(mechanismsOf(report, "idp_sign_out")).not.toContain("frontchannel");
    expect(warningCodes(report)).toContain("fcl_without_sid");
  });

  it("without iss and sid and FCL_SESSION_REQUIRED=false, works only for an IdP on the same site (FCL §4.1)", () => {
    const report = coverage(
      { ...frontchannelOnly, frontchannel_logout_session_supported: false },
      settings({ FCL_SESSION_REQUIRED: false }),
    );
    expect(carrier(report, "idp_sign_out", "frontchannel").conditions).toContain("same_site_idp");
  });
});

describe("back-channel logout (BCL)", () => {
  it("with BCL_SESSION_REQUIRED, an IdP that does not advertise sid carries nothing: its tokens are refused (BCL §2.2)", () => {
    const report = coverage({ ...demoIdp, backchannel_logout_session_supported: false }, settings({ BCL_SESSION_REQUIRED: true }));
    expect(mechanismsOf(report, "idp_sign_out")).not.toContain("backchannel");
    expect(warningCodes(report)).toContain("bcl_sid_refused");
  });

  it("backchannel_logout_supported must be the boolean true: anything else is not support (BCL §2.1)", () => {
    const report = coverage({ ...glewlwyd, backchannel_logout_supported: "true" as unknown as boolean }, settings());
    expect(mechanismsOf(report, "idp_sign_out")).not.toContain("backchannel");
  });
});

describe("Shared Signals (SSF, CAEP, RISC)", () => {
  const ssf = settings({ SSF_ISSUER: TRANSMITTER });

  it("with nothing known of the stream, each kind is carried by the event types that end sessions in the policy table, if registered", () => {
    const report = coverage(googleLike, ssf);
    expect(shortNames(carrier(report, "admin_ended", "shared_signals"))).toEqual(["session-revoked", "sessions-revoked"]);
    expect(shortNames(carrier(report, "account_disabled", "shared_signals"))).toEqual(["account-disabled", "account-purged"]);
    expect(shortNames(carrier(report, "password_changed", "shared_signals"))).toEqual(["credential-change"]);
    expect(carrier(report, "admin_ended", "shared_signals").conditions).toEqual(["if_registered"]);
    expect(carrier(report, "idp_sign_out", "shared_signals").conditions).toEqual(["if_registered", "idp_dependent"]);
    expect(report.sharedSignals).toEqual({ delivery: "push", deliveryWorks: true, events: "unknown" });
  });

  it("keeps liveness off under LIVENESS=auto while SSF_ISSUER is set", () => {
    expect(coverage(googleLike, ssf).liveness).toMatchObject({ enabled: false, because: "shared_signals" });
  });

  it("the stream's events_delivered decide what arrives, registered as it is (SSF §8.1.1)", () => {
    const report = coverage(googleLike, ssf, { events_delivered: [CAEP_EVENTS.sessionRevoked] });
    expect(carrier(report, "admin_ended", "shared_signals").conditions).toEqual([]);
    expect(mechanismsOf(report, "account_disabled")).toEqual([]);
    expect(mechanismsOf(report, "password_changed")).toEqual([]);
    expect(report.sharedSignals?.events).toBe("delivered");
  });

  it("events_supported narrows what a stream could ask for", () => {
    const report = coverage(googleLike, ssf, { events_supported: [RISC_EVENTS.accountDisabled] });
    expect(shortNames(carrier(report, "account_disabled", "shared_signals"))).toEqual(["account-disabled"]);
    expect(carrier(report, "account_disabled", "shared_signals").conditions).toEqual(["if_registered"]);
    expect(mechanismsOf(report, "admin_ended")).toEqual([]);
  });

  it("an SSF_POLICY that only records credential-change leaves a new password to other paths", () => {
    const report = coverage(googleLike, settings({ SSF_ISSUER: TRANSMITTER, SSF_POLICY: { "credential-change": "record" } }));
    expect(mechanismsOf(report, "password_changed")).toEqual([]);
  });

  it("push arrives as soon as the transmitter sends it (RFC 8935); poll waits for the next poll (RFC 8936)", () => {
    expect(carrier(coverage(googleLike, ssf), "admin_ended", "shared_signals").delay).toEqual({
      text: "seconds, as soon as the transmitter pushes it (RFC 8935)",
    });
    const polled = carrier(
      coverage(googleLike, settings({ SSF_ISSUER: TRANSMITTER, SSF_DELIVERY: "poll" })),
      "admin_ended",
      "shared_signals",
    );
    expect(polled.delay.seconds).toBeUndefined();
    expect(polled.delay.text).toContain("GET /api/ssf/poll");
  });

  it("a delivery method the transmitter does not offer carries nothing (SSF §7.1)", () => {
    const report = coverage(googleLike, settings({ SSF_ISSUER: TRANSMITTER, SSF_DELIVERY: "poll" }), {
      delivery_methods_supported: [PUSH_METHOD],
    });
    expect(mechanismsOf(report, "admin_ended")).toEqual([]);
    expect(warningCodes(report)).toContain("ssf_delivery_unsupported");
  });

  it("a stream registered for another delivery method carries nothing (SSF §8.1.1)", () => {
    const report = coverage(googleLike, ssf, { events_delivered: [CAEP_EVENTS.sessionRevoked], stream_delivery_method: POLL_METHOD });
    expect(mechanismsOf(report, "admin_ended")).toEqual([]);
    expect(warningCodes(report)).toContain("ssf_delivery_mismatch");
  });

  it("with back-channel logout too, an admin's action is covered without depending on the IdP", () => {
    const report = coverage(demoIdp, ssf, { events_delivered: [CAEP_EVENTS.sessionRevoked] });
    expect(kindOf(report, "admin_ended").gap).toBeUndefined();
    expect(statusLine(report)).toBe(
      "Kept in step by back-channel logout, Shared Signals, front-channel logout and the IdP's session iframe in open tabs (if registered at the IdP).",
    );
  });
});

describe("formatSeconds", () => {
  it("reads as people say durations", () => {
    expect([formatSeconds(65), formatSeconds(90), formatSeconds(300), formatSeconds(28_800), formatSeconds(1.5)]).toEqual([
      "65 s",
      "90 s",
      "5 min",
      "8 h",
      "1.5 s",
    ]);
  });
});
