/**
 * The liveness monitor (lib/liveness/monitor.ts) on the in-memory stores with a fixed clock: when it
 * checks, how often, across instances, what ends a session and what never does. The IdP's answers
 * are given as CheckOutcomes here; tests/unit/liveness-check.test.ts and the integration tier
 * (tests/integration/liveness.test.ts, against the real demo IdP) produce them from real answers.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { memoryStores } from "@/lib/store/memory";
import { LivenessMonitor, BACKOFF_MAX_MS, type LivenessDeps } from "@/lib/liveness/monitor";
import type { CheckOutcome } from "@/lib/liveness/check";
import { livenessPlan, type LivenessMethod, type LivenessPlan } from "@/lib/liveness/plan";
import type { EndDeps } from "@/lib/revocation/end-sessions";
import type { SecurityEvent } from "@/lib/log/security-log";
import type { EndedEvent, Stores } from "@/lib/store/ports";
import { signInTo } from "../support/sessions";

const ISS = "https://idp.example";
const INTERVAL_S = 60;
const metadata = {
  issuer: ISS,
  token_endpoint: `${ISS}/token`,
  userinfo_endpoint: `${ISS}/me`,
  introspection_endpoint: `${ISS}/introspect`,
};
const onPlan = livenessPlan(metadata, { LIVENESS: "auto", LIVENESS_INTERVAL_SECONDS: INTERVAL_S, LIVENESS_METHOD: "auto" });

let now: number;
let stores: Stores;
let logs: SecurityEvent[];
let ended: EndedEvent[];
let calls: { method: LivenessMethod; id: string }[];
let answer: (method: LivenessMethod, id: string) => CheckOutcome;

function monitor(overrides: Partial<LivenessDeps> = {}): LivenessMonitor {
  const ending: EndDeps = { sessions: stores.sessions, revocations: stores.revocations, now: () => now, onEnded: (e) => ended.push(...e) };
  return new LivenessMonitor({
    plan: async () => onPlan,
    sessions: stores.sessions,
    ending,
    check: async (method, id) => {
      calls.push({ method, id });
      return answer(method, id);
    },
    now: () => now,
    random: () => 0.5,
    log: (entry) => logs.push(entry),
    ...overrides,
  });
}

async function signedIn(fields = { refreshToken: "rt", accessToken: "at" }) {
  return signInTo(stores, ISS, now, fields);
}

async function isActive(handle: Awaited<ReturnType<typeof signedIn>>["handle"]) {
  return (await stores.revocations.check(handle)).active;
}

beforeEach(() => {
  now = Date.UTC(2026, 11, 6, 12);
  stores = memoryStores({ ttlSeconds: 8 * 3600, now: () => now });
  logs = [];
  ended = [];
  calls = [];
  answer = (method) => ({ kind: "live", method });
});

describe("liveness: when a session is checked", () => {
  it("checks an active session once per interval, however often it is asked (every 5 s, as an open tab's stream asks)", async () => {
    const live = monitor();
    const { id } = await signedIn();
    for (let t = 0; t < 10 * 60_000; t += 5_000) {
      now += 5_000;
      await live.ensure(id);
    }
    // Ten minutes at a 60 s interval, claims held 57 s (up to 10% early): about 10 checks, never 11 or more.
    expect(calls.length).toBeGreaterThanOrEqual(9);
    expect(calls.length).toBeLessThanOrEqual(10);
  });

  it("makes one check for a session across two instances that both see it (one claim in the shared store)", async () => {
    const a = monitor();
    const b = monitor();
    const { id } = await signedIn();
    for (let t = 0; t < 10 * 60_000; t += 5_000) {
      now += 5_000;
      await Promise.all([a.ensure(id), b.ensure(id)]);
    }
    expect(calls.length).toBeLessThanOrEqual(10);
  });

  it("shares one check among concurrent requests of one session", async () => {
    const live = monitor();
    const { id } = await signedIn();
    const results = await Promise.all(Array.from({ length: 5 }, () => live.ensure(id)));
    expect(calls).toHaveLength(1);
    expect(results).toEqual(Array(5).fill("live"));
  });

  it("costs an idle session nothing: no store call and no IdP call until something of the session asks", async () => {
    let storeCalls = 0;
    const counted = { ...stores.sessions, claimCheck: (id: string, ms: number) => (storeCalls++, stores.sessions.claimCheck(id, ms)) };
    const live = monitor({ sessions: counted });
    const { id } = await signedIn();
    await live.ensure(id);
    expect(storeCalls).toBe(1);
    // Within the interval this instance knows the session is not due: no store call at all.
    now += 30_000;
    await live.ensure(id);
    expect(storeCalls).toBe(1);
    expect(calls).toHaveLength(1);
  });

  it("checks nothing when liveness is off (LIVENESS=off, or auto with back-channel logout offered)", async () => {
    const { id } = await signedIn();
    for (const plan of [
      livenessPlan(metadata, { LIVENESS: "off", LIVENESS_INTERVAL_SECONDS: 60, LIVENESS_METHOD: "auto" }),
      livenessPlan(
        { ...metadata, backchannel_logout_supported: true },
        { LIVENESS: "auto", LIVENESS_INTERVAL_SECONDS: 60, LIVENESS_METHOD: "auto" },
      ),
    ]) {
      expect(await monitor({ plan: async () => plan }).ensure(id)).toBe("skipped");
    }
    expect(calls).toHaveLength(0);
  });

  it("costs a request nothing once the plan says off: no promise to wait for", async () => {
    const off = livenessPlan(metadata, { LIVENESS: "off", LIVENESS_INTERVAL_SECONDS: 60, LIVENESS_METHOD: "auto" });
    const live = monitor({ plan: async () => off });
    const { id } = await signedIn();
    expect(await live.ensure(id)).toBe("skipped");
    expect(live.checkIfDue(id)).toBeUndefined();
  });

  it("checks nothing while the IdP's discovery cannot be read, and asks for it again after 30 s", async () => {
    let planCalls = 0;
    let fail = true;
    const live = monitor({
      plan: async (): Promise<LivenessPlan> => {
        planCalls++;
        if (fail) throw new Error("discovery down");
        return onPlan;
      },
    });
    const { id } = await signedIn();
    expect(await live.ensure(id)).toBe("skipped");
    now += 10_000;
    expect(await live.ensure(id)).toBe("skipped");
    expect(planCalls).toBe(1);
    fail = false;
    now += 25_000;
    expect(await live.ensure(id)).toBe("live");
    expect(logs.some((l) => l.event === "liveness.plan" && l.code === "discovery_unavailable")).toBe(true);
  });
});

describe("liveness: what ends a session", () => {
  it("ends a session the IdP refuses, as idp_refused carried by liveness_check, dated by its last live check", async () => {
    const live = monitor();
    const { id, handle } = await signedIn();
    await live.ensure(id);
    const lastLive = now;
    answer = (method) => ({ kind: "refused", method, code: "inactive", ended: false });
    now += INTERVAL_S * 1000;
    expect(await live.ensure(id)).toBe("ended");
    expect(await isActive(handle)).toBe(false);
    expect(await stores.revocations.check(handle)).toEqual({ active: false, reason: "idp_refused" });
    expect(ended).toEqual([expect.objectContaining({ lsid: id, reason: "idp_refused", mechanism: "liveness_check", sentAt: lastLive })]);
    expect(logs).toContainEqual(expect.objectContaining({ event: "liveness.check", outcome: "rejected", code: "inactive" }));
  });

  it("does not end a session twice when the refusal came from a refresh, which ends it itself", async () => {
    const live = monitor();
    const { id, handle } = await signedIn();
    answer = (method) => ({ kind: "refused", method, code: "invalid_grant", ended: true });
    expect(await live.ensure(id)).toBe("ended");
    // The refresh (lib/session/refresh.ts) wrote the revocation; the monitor wrote none of its own.
    expect(ended).toHaveLength(0);
    expect(await isActive(handle)).toBe(true);
  });

  it("ends no session while the IdP is down for 5 minutes, backs off instead of asking every interval, and resumes when it returns", async () => {
    const live = monitor();
    const sessions = await Promise.all(Array.from({ length: 50 }, () => signedIn()));
    answer = (method) => ({ kind: "unavailable", method, code: "network" });
    const downUntil = now + 5 * 60_000;
    while (now < downUntil) {
      now += 5_000;
      for (const s of sessions) await live.ensure(s.id);
    }
    for (const s of sessions) expect(await isActive(s.handle)).toBe(true);
    expect(ended).toHaveLength(0);
    // Without back-off, 50 sessions at a 60 s interval would make 250 calls in 5 minutes.
    expect(calls.length).toBeLessThan(15);
    expect(logs.filter((l) => l.event === "liveness.check" && l.outcome === "error")).toHaveLength(calls.length);

    // The IdP is back: within the longest pause plus an interval every session has been checked again.
    answer = (method) => ({ kind: "live", method });
    const before = calls.length;
    const back = now;
    while (now < back + BACKOFF_MAX_MS + INTERVAL_S * 1000) {
      now += 5_000;
      for (const s of sessions) await live.ensure(s.id);
    }
    expect(new Set(calls.slice(before).map((c) => c.id)).size).toBe(sessions.length);
    expect(live.pause.failures).toBe(0);
  });

  it("waits as long as a 429's Retry-After asks (within the 5-minute cap), and ends nothing", async () => {
    const live = monitor();
    const { id, handle } = await signedIn();
    answer = (method) => ({ kind: "unavailable", method, code: "rate_limited", retryAfterMs: 120_000 });
    await live.ensure(id);
    expect(live.pause.until - now).toBe(120_000);
    expect(await isActive(handle)).toBe(true);
  });

  it("treats a refused client (invalid_client) as the IdP unavailable, never as the session refused, and names the settings", async () => {
    const live = monitor();
    const { id, handle } = await signedIn();
    answer = (method) => ({ kind: "unavailable", method, code: "client_rejected" });
    await live.ensure(id);
    expect(await isActive(handle)).toBe(true);
    expect(logs).toContainEqual(expect.objectContaining({ code: "client_rejected", setting: "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET" }));
  });

  it("moves to the next method when this client may not use one (introspection refused), and remembers it", async () => {
    const live = monitor();
    const first = await signedIn();
    const second = await signedIn();
    answer = (method) => (method === "introspection" ? { kind: "unusable", method, code: "http_401" } : { kind: "live", method });
    await live.ensure(first.id);
    await live.ensure(second.id);
    expect(calls.map((c) => c.method)).toEqual(["introspection", "refresh", "refresh"]);
  });

  it("uses userinfo for a session without a refresh token when the IdP offers no introspection", async () => {
    const plan = livenessPlan(
      { ...metadata, introspection_endpoint: undefined },
      { LIVENESS: "on", LIVENESS_INTERVAL_SECONDS: 60, LIVENESS_METHOD: "auto" },
    );
    const live = monitor({ plan: async () => plan });
    const { id } = await signedIn({ accessToken: "at" } as { refreshToken: string; accessToken: string });
    await live.ensure(id);
    expect(calls.map((c) => c.method)).toEqual(["userinfo"]);
  });

  it("does not check a session whose record is gone", async () => {
    const live = monitor();
    const { id } = await signedIn();
    await stores.sessions.end([{ id, record: (await stores.sessions.read(id))! }], "logout");
    expect(await live.ensure(id)).toBe("skipped");
    expect(calls).toHaveLength(0);
  });
});
