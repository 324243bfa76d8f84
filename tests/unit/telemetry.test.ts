/**
 * Lockstep's OpenTelemetry hooks (lib/telemetry/) against the real SDK with in-memory exporters:
 * the spans and metrics each hook makes, that none of them carries an identifier or a secret, and
 * that with no SDK registered they do nothing at all. The integration tier
 * (tests/integration/telemetry.test.ts) receives the same over OTLP from the built app.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SpanStatusCode } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { guard, type GuardDeps } from "@/lib/guard/guard";
import { memoryStores } from "@/lib/store/memory";
import { StoreError } from "@/lib/store/errors";
import { sealHandle, type SessionHandle } from "@/lib/session/handle";
import { endSessions, type EndDeps } from "@/lib/revocation/end-sessions";
import { receiveFrontchannelLogout } from "@/lib/logout/frontchannel/receive";
import { nodeFetch } from "@/lib/oidc/node-fetch";
import { tracedStores } from "@/lib/telemetry/stores";
import { streamOpened, tabTold } from "@/lib/telemetry/endings";
import { tracedBackchannel, tracedLivenessCheck, tracedRpLogout, tracedSet } from "@/lib/telemetry/receivers";
import { detached, telemetryRegistered, telemetryOn } from "@/lib/telemetry/state";
import { FailureBursts } from "@/lib/telemetry/sdk";
import { withoutQueries } from "@/lib/telemetry/scrub";
import { telemetryPlan } from "@/lib/telemetry/plan";
import { parseConfig, ConfigError } from "@/lib/config";
import type { Stores } from "@/lib/store/ports";
import { record } from "../store/contract";
import { closeServers, serve } from "../support/loopback";
import { spanStrings, startTestTelemetry, type TestTelemetry } from "../support/telemetry";

const SECRET = "s".repeat(43);
const APP = "http://localhost:3000";
const COOKIES = { session: "app.session", ended: "app.ended", secure: false };
const ISS = "https://idp.example.com";

let telemetry: TestTelemetry;
beforeAll(() => {
  telemetry = startTestTelemetry();
});
afterAll(async () => {
  await telemetry.stop();
});
afterEach(async () => {
  telemetry.clearSpans();
  vi.useRealTimers();
  await closeServers();
});

const spanNamed = (name: string) => telemetry.spans().filter((s) => s.name === name);
const one = (name: string): ReadableSpan => {
  const found = spanNamed(name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};
const parentOf = (span: ReadableSpan) => telemetry.spans().find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);

/** A signed-in session in the memory stores (reported through tracedStores, as lib/compose/server.ts does), its sealed cookie and the guard's deps. */
async function signedIn(stores: Stores = tracedStores(memoryStores({ ttlSeconds: 3600 }))) {
  const r = record();
  const id = await stores.sessions.create(r);
  const handle: SessionHandle = { lsid: id, iss: r.iss, sub: r.sub, sid: r.sid, createdAt: r.createdAt };
  const sealed = await sealHandle(handle, SECRET, COOKIES.session, 3600);
  const deps: GuardDeps = {
    config: { AUTH_SECRET: SECRET, AUTH_URL: APP, GUARD_FAIL_OPEN: false },
    revocations: stores.revocations,
    cookies: COOKIES as GuardDeps["cookies"],
    next: () => new Response(null, { status: 200 }),
  };
  const ending: EndDeps = { sessions: stores.sessions, revocations: stores.revocations, now: Date.now };
  return { stores, id, record: r, handle, sealed, deps, ending };
}

const request = (path: string, cookie?: string) => ({
  nextUrl: new URL(path, APP),
  cookies: { get: (name: string) => (cookie !== undefined && name === COOKIES.session ? { value: cookie } : undefined) },
});

describe("the guard's span and lockstep.guard.decisions", () => {
  it("allow: a live session, with the store's check as a child span", async () => {
    const s = await signedIn();
    const before = await decisions();
    await guard(request("/account", s.sealed), s.deps);
    const span = one("lockstep.guard");
    expect(span.attributes).toEqual({ "lockstep.guard.outcome": "allow" });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    const check = one("lockstep.store revocations.check");
    expect(check.attributes).toEqual({ "lockstep.store.port": "revocations", "lockstep.store.method": "check" });
    expect(parentOf(check)).toBe(span);
    expect((await decisions())["allow|"]).toBe((before["allow|"] ?? 0) + 1);
  });

  it("refuse with the verdict's reason: a revoked session", async () => {
    const s = await signedIn();
    await s.stores.revocations.revoke({ targets: [], sessionIds: [s.id], reason: "revoked", now: Date.now() });
    const before = await decisions();
    const response = await guard(request("/api/session", s.sealed), s.deps);
    expect(response.status).toBe(401);
    expect(one("lockstep.guard").attributes).toEqual({ "lockstep.guard.outcome": "refuse", "lockstep.guard.reason": "revoked" });
    expect((await decisions())["refuse|revoked"]).toBe((before["refuse|revoked"] ?? 0) + 1);
  });

  it("refuse no_session, expired (a cookie that does not open), pass, and fail_closed when the store is silent", async () => {
    const s = await signedIn();
    await guard(request("/account"), s.deps);
    await guard(request("/account", "not-a-sealed-cookie"), s.deps);
    await guard(request("/"), s.deps);
    const silent: GuardDeps = { ...s.deps, revocations: tracedStores({ r: { check: () => Promise.reject(new StoreError("check")) } }).r };
    const unavailable = await guard(request("/account", s.sealed), silent);
    expect(unavailable.status).toBe(503);
    expect(spanNamed("lockstep.guard").map((g) => g.attributes)).toEqual([
      { "lockstep.guard.outcome": "refuse", "lockstep.guard.reason": "no_session" },
      { "lockstep.guard.outcome": "refuse", "lockstep.guard.reason": "expired" },
      { "lockstep.guard.outcome": "pass" },
      { "lockstep.guard.outcome": "fail_closed" },
    ]);
    const failed = one("lockstep.store r.check");
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes["error.type"]).toBe("store_unavailable");
    const errors = await telemetry.points("lockstep.store.errors");
    expect(errors).toContainEqual({
      attributes: { "lockstep.store.port": "r", "lockstep.store.method": "check", "error.type": "store_unavailable" },
      value: 1,
    });
  });

  async function decisions(): Promise<Record<string, number>> {
    const points = await telemetry.points("lockstep.guard.decisions");
    return Object.fromEntries(
      points.map((p) => [`${p.attributes["lockstep.guard.outcome"]}|${p.attributes["lockstep.guard.reason"] ?? ""}`, p.value]),
    );
  }
});

describe("endings: lockstep.end_sessions, lockstep.sessions.ended and the propagation delays", () => {
  it("a span with reason, mechanism and what it ended; each ended session counted by mechanism and reason", async () => {
    const s = await signedIn();
    const before = await ended("backchannel", "revoked");
    await endSessions(s.ending, [{ kind: "idp-session", iss: s.record.iss, sid: s.record.sid!, sub: s.record.sub }], "revoked", {
      detail: { mechanism: "backchannel" },
    });
    const span = one("lockstep.end_sessions");
    expect(span.attributes).toEqual({
      "lockstep.end.reason": "revoked",
      "lockstep.end.mechanism": "backchannel",
      "lockstep.end.targets": 1,
      "lockstep.end.target_kinds": "idp-session",
      "lockstep.end.result": "ended",
      "lockstep.end.sessions": 1,
    });
    // Its store calls nest under it.
    const revoke = one("lockstep.store revocations.revoke");
    expect(parentOf(revoke)).toBe(span);
    expect(await ended("backchannel", "revoked")).toBe(before + 1);
  });

  it("times the leg from the sender's iat to the stored ending, and from the stored ending to the tab", async () => {
    const s = await signedIn();
    const now = Date.now();
    const ending = { ...s.ending, now: () => now };
    await endSessions(ending, [{ kind: "session", id: s.id }], "security_event", {
      detail: { mechanism: "shared_signals", sentAt: now - 1_500 },
    });
    const sent = (await telemetry.points("lockstep.ending.sent_to_recorded")).find(
      (p) => p.attributes["lockstep.end.mechanism"] === "shared_signals",
    );
    expect(sent).toMatchObject({ count: 1, sum: 1.5 });

    vi.useFakeTimers({ now: now + 250, toFake: ["Date"] });
    tabTold({ reason: "security_event", mechanism: "shared_signals", at: now });
    // A session's own expiry, and a re-check without a stored time, are not propagation.
    tabTold({ reason: "expired", at: now });
    tabTold({ reason: "revoked" });
    const told = (await telemetry.points("lockstep.ending.recorded_to_tab")).find(
      (p) => p.attributes["lockstep.end.mechanism"] === "shared_signals",
    );
    expect(told).toMatchObject({ count: 1, sum: 0.25 });
    expect((await telemetry.points("lockstep.ending.recorded_to_tab")).reduce((n, p) => n + (p.count ?? 0), 0)).toBe(1);
  });

  it("counts open streams up and down, each close once", async () => {
    const streams = async () => (await telemetry.points("lockstep.live.streams"))[0]?.value ?? 0;
    const start = await streams();
    const closeA = streamOpened();
    const closeB = streamOpened();
    expect(await streams()).toBe(start + 2);
    closeA();
    closeA();
    expect(await streams()).toBe(start + 1);
    closeB();
    expect(await streams()).toBe(start);
  });

  async function ended(mechanism: string, reason: string): Promise<number> {
    const points = await telemetry.points("lockstep.sessions.ended");
    return (
      points.find((p) => p.attributes["lockstep.end.mechanism"] === mechanism && p.attributes["lockstep.end.reason"] === reason)?.value ?? 0
    );
  }
});

describe("store calls and background work", () => {
  it("a store call inside a traced operation is a span; one on its own is only timed (the tab hub polls four times a second)", async () => {
    const stores = tracedStores(memoryStores({ ttlSeconds: 3600 }));
    const durations = async () =>
      (await telemetry.points("lockstep.store.duration")).find((p) => p.attributes["lockstep.store.method"] === "endedSince")?.value ?? 0;
    const before = await durations();
    await stores.revocations.endedSince(0);
    expect(telemetry.spans()).toEqual([]);
    await tracedRpLogout(async () => {
      await stores.revocations.endedSince(0);
      return new Response(null, { status: 303 });
    })();
    expect(telemetry.spans().map((x) => x.name)).toEqual(["lockstep.store revocations.endedSince", "lockstep.signal rp_logout"]);
    expect(await durations()).toBe(before + 2);
  });

  it("detached work leaves the trace that scheduled it: a liveness check from a stream's heartbeat is a trace of its own", async () => {
    const stores = tracedStores(memoryStores({ ttlSeconds: 3600 }));
    const check = tracedLivenessCheck(async () => {
      await stores.revocations.endedSince(0);
      return { kind: "live", method: "refresh" };
    });
    let later: Promise<unknown> = Promise.resolve();
    await tracedRpLogout(async () => {
      later = new Promise((resolve) => setTimeout(() => resolve(detached(() => check())()), 1));
      await stores.revocations.endedSince(0);
      return new Response(null, { status: 303 });
    })();
    await later;
    const request = one("lockstep.signal rp_logout");
    const liveness = one("lockstep.signal liveness_check");
    expect(liveness.parentSpanContext).toBeUndefined();
    expect(liveness.spanContext().traceId).not.toBe(request.spanContext().traceId);
    expect(spanNamed("lockstep.store revocations.endedSince").map((x) => parentOf(x)?.name)).toEqual([
      "lockstep.signal rp_logout",
      "lockstep.signal liveness_check",
    ]);
  });
});

describe("the signal receivers' spans and lockstep.signals", () => {
  it("back-channel: ok with what the token did; a refused token is rejected with its code, not an error", async () => {
    const ok = tracedBackchannel(async () => ({ result: "ended", sessionsEnded: 2 }));
    const refused = tracedBackchannel(async () => {
      throw Object.assign(new Error("has a nonce"), { code: "nonce_present", status: 400 });
    });
    const down = tracedBackchannel(async () => {
      throw Object.assign(new Error("store"), { code: "store_unavailable", status: 503 });
    });
    await ok();
    await expect(refused()).rejects.toThrow();
    await expect(down()).rejects.toThrow();
    const spans = spanNamed("lockstep.signal backchannel_logout");
    expect(spans.map((s) => s.attributes)).toEqual([
      {
        "lockstep.signal.receiver": "backchannel_logout",
        "lockstep.signal.outcome": "ok",
        "lockstep.signal.code": "ended",
        "lockstep.signal.sessions_ended": 2,
      },
      { "lockstep.signal.receiver": "backchannel_logout", "lockstep.signal.outcome": "rejected", "lockstep.signal.code": "nonce_present" },
      {
        "lockstep.signal.receiver": "backchannel_logout",
        "lockstep.signal.outcome": "error",
        "lockstep.signal.code": "store_unavailable",
        "error.type": "store_unavailable",
      },
    ]);
    expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.UNSET, SpanStatusCode.UNSET, SpanStatusCode.ERROR]);
    const counted = await telemetry.points("lockstep.signals");
    expect(counted).toContainEqual({
      attributes: {
        "lockstep.signal.receiver": "backchannel_logout",
        "lockstep.signal.outcome": "rejected",
        "lockstep.signal.code": "nonce_present",
      },
      value: 1,
    });
  });

  it("front-channel: the real receiver, ignored with its reason or ended, with endSessions under it", async () => {
    const s = await signedIn();
    const deps = { ...s.ending, issuer: s.record.iss, sessionRequired: true };
    await receiveFrontchannelLogout({ iss: "https://other.example.com", sid: "x" }, deps);
    await receiveFrontchannelLogout({ iss: s.record.iss, sid: s.record.sid! }, deps);
    const spans = spanNamed("lockstep.signal frontchannel_logout");
    expect(spans.map((x) => [x.attributes["lockstep.signal.outcome"], x.attributes["lockstep.signal.code"]])).toEqual([
      ["ignored", "wrong_issuer"],
      ["ok", "ended"],
    ]);
    expect(parentOf(one("lockstep.end_sessions"))).toBe(spans[1]);
  });

  it("SSF: push and poll are told apart; a refused SET carries its code; a SET that could not be stored is an error", async () => {
    type Handled = { status: "accepted" } | { status: "rejected"; error: { code: string } } | { status: "unavailable" };
    const answers: Handled[] = [
      { status: "accepted" },
      { status: "rejected", error: { code: "invalid_audience" } },
      { status: "unavailable" },
    ];
    const via: string[] = [];
    const handle = tracedSet(async (...args: [unknown, string, "push" | "poll"]) => {
      via.push(args[2]);
      return answers.shift()!;
    });
    await handle({}, "a.b.c", "push");
    await handle({}, "a.b.c", "poll");
    await handle({}, "a.b.c", "push");
    expect(telemetry.spans().map((x) => [x.name, x.attributes["lockstep.signal.outcome"], x.attributes["lockstep.signal.code"]])).toEqual([
      ["lockstep.signal ssf_push", "ok", undefined],
      ["lockstep.signal ssf_poll", "rejected", "invalid_audience"],
      ["lockstep.signal ssf_push", "error", "store_unavailable"],
    ]);
    expect(via).toEqual(["push", "poll", "push"]);
  });

  it("RP-initiated logout and liveness checks", async () => {
    await tracedRpLogout(async () => new Response(null, { status: 303 }))();
    await tracedRpLogout(async () => new Response(null, { status: 403 }))();
    await tracedLivenessCheck(async () => ({ kind: "refused", method: "introspection", code: "inactive" }))();
    await tracedLivenessCheck(async () => ({ kind: "unusable", method: "introspection", code: "An IdP's own words" }))();
    expect(telemetry.spans().map((x) => x.attributes)).toEqual([
      { "lockstep.signal.receiver": "rp_logout", "lockstep.signal.outcome": "ok", "http.response.status_code": 303 },
      {
        "lockstep.signal.receiver": "rp_logout",
        "lockstep.signal.outcome": "rejected",
        "lockstep.signal.code": "cross_site",
        "http.response.status_code": 403,
      },
      {
        "lockstep.signal.receiver": "liveness_check",
        "lockstep.signal.outcome": "refused",
        "lockstep.signal.code": "inactive",
        "lockstep.liveness.method": "introspection",
      },
      // Free text from an IdP is not a code: it would split the metric by whatever it says.
      {
        "lockstep.signal.receiver": "liveness_check",
        "lockstep.signal.outcome": "unusable",
        "lockstep.signal.code": "other",
        "lockstep.liveness.method": "introspection",
      },
    ]);
  });
});

describe("IdP calls: lockstep.idp <endpoint>, lockstep.idp.duration and lockstep.idp.errors", () => {
  it("names each endpoint by its discovery key, never by its URL or query, and records the status and grant type", async () => {
    let issuer = "";
    issuer = await serve((req, _body, res) => {
      if (req.url === "/.well-known/openid-configuration") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/oauth/token`, userinfo_endpoint: `${issuer}/me` }));
      } else if (req.url === "/oauth/token") {
        res.writeHead(400, { "content-type": "application/json" }).end('{"error":"invalid_grant"}');
      } else res.writeHead(503).end();
    });
    const fetch = nodeFetch();
    await fetch(`${issuer}/.well-known/openid-configuration`, { method: "GET", headers: {} });
    await fetch(`${issuer}/oauth/token`, {
      method: "POST",
      headers: {},
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "rt-secret" }),
    });
    await fetch(`${issuer}/me?access_token=at-secret`, { method: "GET", headers: {} });
    expect(telemetry.spans().map((x) => x.name)).toEqual(["lockstep.idp discovery", "lockstep.idp token", "lockstep.idp userinfo"]);
    const [, token, userinfo] = telemetry.spans();
    expect(token!.attributes).toEqual({
      "lockstep.idp.endpoint": "token",
      "http.request.method": "POST",
      "server.address": "127.0.0.1",
      "oauth.grant_type": "refresh_token",
      "http.response.status_code": 400,
    });
    expect(token!.status.code).toBe(SpanStatusCode.UNSET);
    expect(userinfo!.attributes).toMatchObject({ "http.response.status_code": 503, "error.type": "503" });
    expect(userinfo!.status.code).toBe(SpanStatusCode.ERROR);
    expect(telemetry.spans().flatMap(spanStrings).join(" ")).not.toMatch(/secret|\?/);
    const errors = await telemetry.points("lockstep.idp.errors");
    expect(errors).toContainEqual({ attributes: { "lockstep.idp.endpoint": "userinfo", "error.type": "503" }, value: 1 });
    const durations = await telemetry.points("lockstep.idp.duration");
    expect(durations.map((p) => p.attributes)).toContainEqual({ "lockstep.idp.endpoint": "token", "http.response.status_code": 400 });
  });

  it("an IdP that does not answer: error.type is the network error's code, and it is counted", async () => {
    const closed = await serve(() => {});
    await closeServers();
    await expect(nodeFetch()(`${closed}/token`, { method: "POST", headers: {}, body: "grant_type=refresh_token" })).rejects.toThrow(
      TypeError,
    );
    expect(one("lockstep.idp other").attributes["error.type"]).toBe("ECONNREFUSED");
  });
});

describe("nothing that names a user, a session or a secret leaves the process", () => {
  it("a sign-out's every span and metric, by every path, carries none of the session's identifiers, tokens or cookie", async () => {
    const s = await signedIn();
    const others = await signedIn(s.stores);
    await guard(request("/account", s.sealed), s.deps);
    await receiveFrontchannelLogout(
      { iss: s.record.iss, sid: s.record.sid! },
      { ...s.ending, issuer: s.record.iss, sessionRequired: true },
    );
    await guard(request("/account", s.sealed), s.deps);
    await endSessions(
      s.ending,
      [{ kind: "subject", iss: others.record.iss, sub: others.record.sub, beforeMs: Date.now() + 1 }],
      "security_event",
      {
        detail: { mechanism: "shared_signals" },
      },
    );
    await s.stores.sessions.subjectsForEmail(String(s.record.claims?.email));
    const secrets = [s, others].flatMap((x) => [
      x.id,
      x.sealed,
      x.record.sub,
      x.record.sid!,
      x.record.idToken,
      x.record.accessToken!,
      x.record.refreshToken!,
      String(x.record.claims?.email),
    ]);
    const exported = [
      ...telemetry.spans().flatMap(spanStrings),
      ...(await telemetry.allMetrics()).flatMap((m) => m.dataPoints.flatMap((p) => Object.entries(p.attributes).flat().map(String))),
    ];
    expect(exported.length).toBeGreaterThan(50);
    for (const secret of secrets) expect(exported.filter((value) => value.includes(secret))).toEqual([]);
  });

  it("the exporter strips the query from every URL and path (Next's spans record them) and drops credential-named attributes", async () => {
    const { tracer } = await import("@/lib/telemetry/state");
    tracer()
      .startSpan("GET /api/frontchannel-logout?iss=https%3A%2F%2Fidp&sid=SID-SECRET", {
        attributes: {
          "http.target": "/api/frontchannel-logout?iss=https%3A%2F%2Fidp&sid=SID-SECRET",
          "http.url": "https://idp.example.com/token?code=CODE-SECRET#frag",
          "http.request.header.cookie": "app.session=COOKIE-SECRET",
          "http.request.header.authorization": "Bearer TOKEN-SECRET",
          "enduser.id": "SUB-SECRET",
          "url.query": "state=STATE-SECRET",
          "next.route": "/api/frontchannel-logout",
          "exception.message": "failed at https://x.example/cb?code=CODE2-SECRET, retry?",
        },
      })
      .end();
    const [span] = telemetry.spans();
    expect(span!.name).toBe("GET /api/frontchannel-logout");
    expect(span!.attributes).toEqual({
      "http.target": "/api/frontchannel-logout",
      "http.url": "https://idp.example.com/token",
      "next.route": "/api/frontchannel-logout",
      "exception.message": "failed at https://x.example/cb retry?",
    });
    expect(withoutQueries("fetch POST http://127.0.0.1:4000/token")).toBe("fetch POST http://127.0.0.1:4000/token");
  });
});

describe("with no SDK registered, the hooks do nothing", () => {
  it("no span, no metric, the stores as they were, the guard's answer unchanged", async () => {
    telemetryRegistered(false);
    try {
      expect(telemetryOn()).toBe(false);
      const raw = memoryStores({ ttlSeconds: 3600 });
      expect(tracedStores(raw)).toBe(raw);
      const s = await signedIn(tracedStores(raw));
      const values = async () =>
        (await telemetry.allMetrics()).map((m) => [m.descriptor.name, m.dataPoints.map((p) => [p.attributes, p.value])]);
      const before = await values();
      expect((await guard(request("/account", s.sealed), s.deps)).status).toBe(200);
      await endSessions(s.ending, [{ kind: "session", id: s.id }], "logout", { detail: { mechanism: "this_browser", sentAt: Date.now() } });
      tabTold({ reason: "logout", mechanism: "this_browser", at: Date.now() });
      streamOpened()();
      expect(telemetry.spans()).toEqual([]);
      expect(await values()).toEqual(before);
    } finally {
      telemetryRegistered(true);
    }
  });
});

describe("the exporters' failures: one log line per burst", () => {
  it("says when exports start failing and when they work again, once each, with a code and the collector's host only", () => {
    const lines: Record<string, unknown>[] = [];
    const bursts = new FailureBursts("traces", "http://user:pw@collector.internal:4318/v1/traces?k=v", (line) => lines.push(line));
    const failed = {
      code: ExportResultCode.FAILED,
      error: Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:4318"), { code: "ECONNREFUSED" }),
    };
    const ok = { code: ExportResultCode.SUCCESS };
    for (const result of [
      ok,
      failed,
      failed,
      failed,
      ok,
      ok,
      { code: ExportResultCode.FAILED, error: Object.assign(new Error("x"), { code: 503 }) },
    ]) {
      expect(bursts.observe(result)).toBe(result);
    }
    expect(lines).toEqual([
      { event: "telemetry.export", outcome: "error", code: "ECONNREFUSED", signal: "traces", endpoint: "collector.internal:4318" },
      { event: "telemetry.export", outcome: "ok", code: "recovered", signal: "traces", endpoint: "collector.internal:4318" },
      { event: "telemetry.export", outcome: "error", code: "http_503", signal: "traces", endpoint: "collector.internal:4318" },
    ]);
  });
});

describe("settings: where telemetry goes (OTLP exporter specification)", () => {
  const base = { APP_ID: "bank", GUARD_RUNTIME: "nodejs" as const, OTEL_METRIC_EXPORT_INTERVAL: 60_000, OTEL_SDK_DISABLED: false };

  it("no endpoint: no plan, so no SDK is loaded", () => {
    expect(telemetryPlan(base)).toBeUndefined();
  });

  it("the general endpoint gets /v1/traces and /v1/metrics; a per-signal one is used as it is and wins", () => {
    expect(telemetryPlan({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toMatchObject({
      traces: "http://c:4318/v1/traces",
      metrics: "http://c:4318/v1/metrics",
      serviceName: "lockstep-bank",
    });
    expect(
      telemetryPlan({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://t.example/x" }),
    ).toMatchObject({ traces: "https://t.example/x", metrics: "http://c:4318/v1/metrics" });
    expect(
      telemetryPlan({ ...base, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://m:4318/v1/metrics", OTEL_SERVICE_NAME: "bank-eu" }),
    ).toEqual({
      traces: undefined,
      metrics: "http://m:4318/v1/metrics",
      serviceName: "bank-eu",
      metricIntervalMs: 60_000,
      guardRuntime: "nodejs",
    });
  });

  it("OTEL_SDK_DISABLED turns it off whatever the endpoints", () => {
    expect(telemetryPlan({ ...base, OTEL_SDK_DISABLED: true, OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toBeUndefined();
  });

  it("a bad endpoint URL is a configuration error that names the setting, never the value", () => {
    const env = {
      AUTH_SECRET: SECRET,
      AUTH_URL: APP,
      OIDC_ISSUER: ISS,
      OIDC_CLIENT_ID: "c",
      OIDC_CLIENT_SECRET: "cs",
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
      UPSTASH_REDIS_REST_TOKEN: "t",
    };
    expect(parseConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
      "http://collector:4318",
    );
    for (const key of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]) {
      let error: unknown;
      try {
        parseConfig({ ...env, [key]: "collector-token-in-a-typo:4318" });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).keys).toEqual([key]);
      expect((error as ConfigError).message).not.toContain("collector-token-in-a-typo");
    }
  });
});
