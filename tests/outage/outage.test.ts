import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSession } from "../support/http-client";
import { bank, signIn, startTestStack } from "../support/lockstep";
import type { RunningApp, Stack } from "../../demo/scripts/stack";
import { CAEP_EVENTS } from "@/lib/ssf/events";
import { startOwnRedis, type OwnRedis } from "../support/own-redis";

/**
 * A real Redis goes away under mixed traffic and comes back: crashed (SIGKILL) and restarted on its
 * append-only file, or paused (SIGSTOP, then SIGCONT). Page loads, API calls, logout tokens and SETs
 * run all along for sessions that stay live, sessions revoked before the outage and sessions whose
 * logout arrives during it. The rules:
 * - no request is served (200) for a session once its revocation was acknowledged;
 * - while Redis is down every guarded request is refused with 503 (fail closed), never served;
 * - every logout token or SET answered 503 succeeds when retried, and its session is over after;
 * - sessions that nobody revoked are not signed out by the outage.
 * Each scenario prints its counts and the recovery time (Redis back → first 200 for a live session,
 * and → every queued logout stored).
 */

const TRAFFIC_WORKERS = 4;
const MAX_REQUESTS = 2_000;
const MAX_TRAFFIC_MS = 60_000;
/** Pause between two requests of one worker, so that the count bound is not reached before the time bound. */
const PACE_MS = 40;
const OUTAGE_MS = 8_000;
/** How long after Redis is back every queued logout must be stored. */
const RECOVERY_BOUND_MS = 30_000;
/** An IdP's retry interval, short for the test. */
const RETRY_EVERY_MS = 200;

let redis: OwnRedis;
let stack: Stack;
let app: RunningApp;

beforeAll(async () => {
  redis = await startOwnRedis();
  stack = await startTestStack({ redisUrl: redis.url, apps: [{ ...bank, ssf: "push" }] });
  app = stack.apps[0]!;
});

afterAll(async () => {
  redis?.resume();
  // stop() deletes the keys under the stack's prefix, so Redis must still be up for it.
  await stack?.stop();
  await redis?.stop();
});

type Group = "live" | "revoked before the outage" | "logout during the outage";

type Session = {
  label: string;
  group: Group;
  cookie: string;
  sub: string;
  sid: string;
  /** When the app acknowledged its revocation (200 to a logout token, 202 to a SET): from then on it must never be served. */
  revokedAt?: number;
};

type Sample = { session: Session; path: string; startedAt: number; endedAt: number; status: number; location?: string };

type Delivery = {
  kind: "logout token" | "SET";
  session: Session;
  /** Re-sends the very same token or SET, as the IdP's retry would. */
  post: () => Promise<number>;
  attempts: { at: number; status: number }[];
  storedAt?: number;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function signedIn(label: string, group: Group, username: "alice" | "bob"): Promise<Session> {
  const browser = new HttpSession();
  const landed = await signIn(browser, app.url, username, `${username}-password`);
  expect(new URL(landed.url).pathname).toBe("/account");
  const cookie = browser.cookieHeader(app.url)!;
  const response = await fetch(`${app.url}/api/session`, { headers: { cookie } });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { user: { sub: string }; session: { idp: { sid: string } } };
  return { label, group, cookie, sub: body.user.sub, sid: body.session.idp.sid };
}

async function signInGroups(tag: string): Promise<Session[]> {
  const plan: [Group, number][] = [
    ["live", 6],
    ["revoked before the outage", 3],
    ["logout during the outage", 3],
  ];
  const sessions: Session[] = [];
  for (const [group, count] of plan) {
    for (let i = 0; i < count; i++) sessions.push(await signedIn(`${tag} ${group} #${i + 1}`, group, i % 2 === 0 ? "alice" : "bob"));
  }
  return sessions;
}

async function statusOf(request: Promise<Response>): Promise<number> {
  try {
    const response = await request;
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0; // no answer at all
  }
}

/** A Back-Channel Logout token for exactly this session (its sid), signed with the demo IdP's key. */
async function logoutTokenDelivery(session: Session): Promise<Delivery> {
  const now = Math.floor(Date.now() / 1000);
  const token = await stack.idp.sign({
    iss: stack.issuer,
    sub: session.sub,
    aud: bank.clientId,
    jti: randomUUID(),
    sid: session.sid,
    events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    iat: now,
    exp: now + 300,
  });
  const post = () =>
    statusOf(
      fetch(`${app.url}/api/backchannel-logout`, {
        method: "POST",
        body: new URLSearchParams({ logout_token: token }),
        signal: AbortSignal.timeout(15_000),
      }),
    );
  return { kind: "logout token", session, post, attempts: [] };
}

/** A CAEP session-revoked SET naming exactly this session (the user, and the IdP session by its sid). */
async function setDelivery(session: Session): Promise<Delivery> {
  const now = Math.floor(Date.now() / 1000);
  const set = await stack.idp.sign(
    {
      iss: stack.issuer,
      jti: randomUUID(),
      iat: now,
      aud: app.url,
      sub_id: {
        format: "complex",
        user: { format: "iss_sub", iss: stack.issuer, sub: session.sub },
        session: { format: "opaque", id: session.sid },
      },
      events: { [CAEP_EVENTS.sessionRevoked]: { event_timestamp: now } },
    },
    { header: { typ: "secevent+jwt" } },
  );
  const post = () =>
    statusOf(
      fetch(`${app.url}/api/ssf/events`, {
        method: "POST",
        headers: { "content-type": "application/secevent+jwt", authorization: app.env!.SSF_PUSH_AUTHORIZATION! },
        body: set,
        signal: AbortSignal.timeout(15_000),
      }),
    );
  return { kind: "SET", session, post, attempts: [] };
}

const acknowledged = (d: Delivery, status: number) => (d.kind === "SET" ? status === 202 : status === 200);

/**
 * Sends and, on 503 (or no answer), re-sends every RETRY_EVERY_MS until acknowledged, like an IdP or
 * transmitter that retries. Any other refusal ends the retries: that logout would be lost.
 */
async function deliver(d: Delivery, giveUpAt: () => number): Promise<void> {
  while (Date.now() < giveUpAt()) {
    const status = await d.post();
    const at = Date.now();
    d.attempts.push({ at, status });
    if (acknowledged(d, status)) {
      d.storedAt = at;
      d.session.revokedAt ??= at;
      return;
    }
    if (status !== 503 && status !== 0) return;
    await sleep(RETRY_EVERY_MS);
  }
}

/** Requests by a few workers over every session (revoked ones included), bounded in count and time, until `done()`. */
function runTraffic(sessions: Session[], done: () => boolean, samples: Sample[]): Promise<void> {
  const started = Date.now();
  const paths = ["/account", "/account", "/api/session", "/api/session", "/api/userinfo"];
  let issued = 0;
  return Promise.all(
    Array.from({ length: TRAFFIC_WORKERS }, async () => {
      while (!done() && issued < MAX_REQUESTS && Date.now() - started < MAX_TRAFFIC_MS) {
        issued += 1;
        const session = sessions[Math.floor(Math.random() * sessions.length)]!;
        const path = paths[Math.floor(Math.random() * paths.length)]!;
        const startedAt = Date.now();
        let status = 0;
        let location: string | undefined;
        try {
          const response = await fetch(`${app.url}${path}`, {
            headers: { cookie: session.cookie },
            redirect: "manual",
            signal: AbortSignal.timeout(15_000),
          });
          status = response.status;
          location = response.headers.get("location") ?? undefined;
          await response.body?.cancel();
        } catch {
          // status 0: no answer
        }
        samples.push({ session, path, startedAt, endedAt: Date.now(), status, location });
        await sleep(PACE_MS);
      }
    }),
  ).then(() => undefined);
}

type Outage = { down: () => Promise<void>; up: () => Promise<void> };

type Result = {
  samples: Sample[];
  deliveries: Delivery[];
  sessions: Session[];
  downAt: number;
  upAt: number;
  firstLiveAt?: number;
};

async function scenario(tag: string, outage: Outage): Promise<Result> {
  const sessions = await signInGroups(tag);
  const before = sessions.filter((s) => s.group === "revoked before the outage");
  const during = sessions.filter((s) => s.group === "logout during the outage");
  const live = sessions.filter((s) => s.group === "live");
  const samples: Sample[] = [];
  const deliveries: Delivery[] = [];
  let finished = false;
  let downAt = 0;
  let upAt = 0;
  let firstLiveAt: number | undefined;

  const traffic = runTraffic(sessions, () => finished, samples);
  try {
    await sleep(2_000);
    // Revoked while Redis is up: two logout tokens and a SET, each acknowledged at once.
    for (const [i, session] of before.entries()) {
      const d = i === 2 ? await setDelivery(session) : await logoutTokenDelivery(session);
      deliveries.push(d);
      await deliver(d, () => Date.now() + 10_000);
    }
    await sleep(2_000);

    await outage.down();
    downAt = Date.now();
    await sleep(1_000);
    // Logouts that arrive while Redis is down: answered 503, then retried until stored.
    const queued: Promise<void>[] = [];
    for (const [i, session] of during.entries()) {
      const d = i === 2 ? await setDelivery(session) : await logoutTokenDelivery(session);
      deliveries.push(d);
      queued.push(deliver(d, () => (upAt ? upAt + RECOVERY_BOUND_MS : Date.now() + 1_000)));
    }
    await sleep(downAt + OUTAGE_MS - Date.now());

    await outage.up();
    upAt = Date.now();
    // Recovery: the first 200 for a live session, and every queued logout stored.
    const probe = (async () => {
      while (Date.now() < upAt + RECOVERY_BOUND_MS) {
        const status = await statusOf(
          fetch(`${app.url}/api/session`, { headers: { cookie: live[0]!.cookie }, signal: AbortSignal.timeout(5_000) }),
        );
        if (status === 200) {
          firstLiveAt = Date.now();
          return;
        }
        await sleep(25);
      }
    })();
    await Promise.all([probe, ...queued]);
    // Some more traffic after everything is back.
    await sleep(4_000);
  } finally {
    finished = true;
    await traffic;
  }
  return { samples, deliveries, sessions, downAt, upAt, firstLiveAt };
}

/**
 * The signed-out redirect: 303 from the guard, or 307 from the page itself (Next's `redirect()` in a
 * server component) when the revocation landed between the guard's check and the page's own read of
 * the session, which a request racing the logout can meet.
 */
const isSignedOutPage = (s: Sample) =>
  (s.status === 303 || s.status === 307) && s.location !== undefined && new URL(s.location, app.url).pathname === "/signed-out";

function describeSample(s: Sample, t0: number): string {
  return `${s.session.label}: GET ${s.path} started at +${s.startedAt - t0} ms, answered ${s.status}${s.location ? ` → ${s.location}` : ""} at +${s.endedAt - t0} ms`;
}

/** Checks every rule on one scenario's record and prints its figures. */
async function judge(tag: string, result: Result): Promise<void> {
  const { samples, deliveries, sessions, downAt, upAt, firstLiveAt } = result;
  const t0 = samples.reduce((min, s) => Math.min(min, s.startedAt), Infinity);
  const at = (ms: number) => `+${ms - t0} ms`;

  // 1. Never served once revoked.
  const servedAfterRevocation = samples.filter(
    (s) => s.session.revokedAt !== undefined && s.startedAt > s.session.revokedAt && s.status === 200,
  );
  // 2. Fail closed while Redis is down.
  const duringOutage = samples.filter((s) => s.startedAt >= downAt && s.endedAt <= upAt);
  const notRefusedDuringOutage = duringOutage.filter((s) => s.status !== 503);
  // 3. A live session is never signed out by the outage.
  const liveSignedOut = samples.filter((s) => s.session.group === "live" && (s.status === 401 || isSignedOutPage(s)));
  // 4. Only the statuses of the contract: 200 (a page whose render lost Redis after its check says the session
  // cannot be checked), the signed-out redirect, 401, 503. Never a 500 or 502.
  const inFlightAtOutage = (s: Sample) => s.startedAt < downAt && s.endedAt >= downAt;
  const renderLostRedis = samples.filter((s) => inFlightAtOutage(s) && s.status === 500);
  const unexpected = samples.filter((s) => !(s.status === 200 || s.status === 401 || s.status === 503 || isSignedOutPage(s)));
  // 5. No logout lost.
  const lost = deliveries.filter((d) => d.storedAt === undefined);
  const queued = deliveries.filter((d) => d.session.group === "logout during the outage");

  const byStatus: Record<string, number> = {};
  for (const s of samples) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
  const revokedRequests = samples.filter((s) => s.session.revokedAt !== undefined && s.startedAt > s.session.revokedAt);
  const servedBeforeRetryLanded = samples.filter(
    (s) =>
      s.session.group === "logout during the outage" &&
      s.startedAt > upAt &&
      s.status === 200 &&
      s.startedAt < (s.session.revokedAt ?? Infinity),
  );
  const lastStored = Math.max(...queued.map((d) => d.storedAt ?? Infinity));
  console.log(
    [
      `[${tag}] ${samples.length} requests (${samples.filter((s) => s.endedAt < downAt).length} before the outage, ${duringOutage.length} during it, ${samples.filter((s) => s.startedAt >= upAt).length} after), by status ${JSON.stringify(byStatus)}`,
      `[${tag}] Redis down at ${at(downAt)} for ${upAt - downAt} ms; back at ${at(upAt)}`,
      `[${tag}] recovery: first 200 for a live session ${firstLiveAt === undefined ? "never" : `${firstLiveAt - upAt} ms`} after Redis was back; every queued logout stored ${Number.isFinite(lastStored) ? `${lastStored - upAt} ms` : "never"} after`,
      `[${tag}] logouts: ${deliveries.length} sent (${deliveries.filter((d) => d.kind === "SET").length} SETs), ${queued.length} during the outage answered ${[...new Set(queued.map((d) => d.attempts[0]?.status))].join("/")} first, stored after ${queued.map((d) => d.attempts.length).join(", ")} attempts; lost ${lost.length}`,
      `[${tag}] in flight when Redis went down and answered 500: ${renderLostRedis.length ? renderLostRedis.map((x) => describeSample(x, t0)).join("; ") : "none"}`,
      `[${tag}] requests with a revoked cookie after its revocation: ${revokedRequests.length}, served ${servedAfterRevocation.length}; served between Redis's return and the retry that stored the logout (not yet acknowledged, allowed): ${servedBeforeRetryLanded.length}`,
    ].join("\n"),
  );

  expect(
    servedAfterRevocation.map((s) => describeSample(s, t0)),
    "a revoked session was served",
  ).toEqual([]);
  expect(
    notRefusedDuringOutage.map((s) => describeSample(s, t0)),
    "not refused with 503 while Redis was down",
  ).toEqual([]);
  expect(duringOutage.length, "requests ran during the outage").toBeGreaterThan(20);
  expect(
    liveSignedOut.map((s) => describeSample(s, t0)),
    "a live session was signed out",
  ).toEqual([]);
  expect(
    unexpected.map((s) => describeSample(s, t0)),
    "a status outside the contract",
  ).toEqual([]);
  expect(
    lost.map((d) => `${d.kind} for ${d.session.label}: ${d.attempts.map((a) => a.status).join(",")}`),
    "a logout was lost",
  ).toEqual([]);
  for (const d of queued) expect(d.attempts[0]?.status, `${d.kind} for ${d.session.label} while Redis was down`).toBe(503);
  for (const d of deliveries.filter((x) => x.session.group === "revoked before the outage"))
    expect(d.attempts.length, `${d.kind} for ${d.session.label}`).toBe(1);
  expect(firstLiveAt, "a live session was served again").toBeDefined();
  expect(revokedRequests.length, "requests with revoked cookies ran").toBeGreaterThan(20);

  // After recovery: every revoked cookie is refused (API 401, page to the signed-out page), every live one served.
  for (const session of sessions) {
    const api = await fetch(`${app.url}/api/session`, { headers: { cookie: session.cookie } });
    const page = await fetch(`${app.url}/account`, { headers: { cookie: session.cookie }, redirect: "manual" });
    await page.body?.cancel();
    if (session.group === "live") {
      expect(api.status, session.label).toBe(200);
      expect(page.status, session.label).toBe(200);
    } else {
      expect(api.status, session.label).toBe(401);
      expect(((await api.json()) as { error: string }).error).toBe("unauthorized");
      expect(page.status, session.label).toBe(303);
      expect(new URL(page.headers.get("location")!, app.url).pathname, session.label).toBe("/signed-out");
    }
  }
}

describe("a Redis outage under mixed traffic", () => {
  it("Redis crashes and restarts (append-only file, appendfsync always): no revoked session is served, requests fail closed with 503 meanwhile, and every logout answered 503 is stored on retry", async () => {
    const result = await scenario("crash and restart", {
      down: () => redis.crash(),
      up: () => redis.restart(),
    });
    await judge("crash and restart", result);
  });

  it("Redis hangs (SIGSTOP) and resumes: no revoked session is served, requests fail closed with 503 meanwhile, and every logout answered 503 is stored on retry", async () => {
    const result = await scenario("hang and resume", {
      down: () => redis.pause(),
      up: async () => redis.resume(),
    });
    await judge("hang and resume", result);
  });
});
