import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis as IORedis } from "ioredis";
import { HttpSession } from "../support/http-client";
import { bank, sessionOf, signIn, startTestStack } from "../support/lockstep";
import { nextEnded } from "../support/events";
import { testRedis } from "../support/test-redis";
import type { Stack } from "../../demo/scripts/stack";
import { appKeys } from "@/lib/store/keys";
import type { SessionRecord } from "@/lib/session/record";

/**
 * OpenTelemetry from the built app (docs/observability.md): an OTLP/HTTP receiver in this process,
 * the app pointed at it with OTEL_EXPORTER_OTLP_ENDPOINT, then a sign-in, an open tab's event stream,
 * a back-channel logout and a front-channel logout. The spans and metrics the issue asks for must
 * arrive, and nothing exported may hold the user's sub, a sid, a session id, the session cookie, a
 * token or the sign-in's code: the receiver keeps every request body as it came and looks for them.
 * The guard's span exists where the guard runs in the Node runtime (the integration-native tier);
 * on the edge no SDK runs, so there is none.
 */

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key: string; value: AnyValue };
type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: KeyValue[];
  status?: { code?: number };
};
type DataPoint = { attributes?: KeyValue[]; asInt?: string | number; asDouble?: number; count?: string | number };
type OtlpMetric = {
  name: string;
  sum?: { dataPoints: DataPoint[] };
  histogram?: { dataPoints: DataPoint[] };
  gauge?: { dataPoints: DataPoint[] };
};
type Resource = { attributes?: KeyValue[] };

/** What the collector got: each request's body as sent, parsed. */
const received = {
  bodies: [] as string[],
  traces: [] as { resource: Resource; spans: OtlpSpan[] }[],
  metrics: [] as { resource: Resource; metrics: OtlpMetric[] }[],
};

function startReceiver(port = 0): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let raw = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
      const body = raw.toString("utf8");
      received.bodies.push(body);
      const json = JSON.parse(body) as {
        resourceSpans?: { resource: Resource; scopeSpans: { spans: OtlpSpan[] }[] }[];
        resourceMetrics?: { resource: Resource; scopeMetrics: { metrics: OtlpMetric[] }[] }[];
      };
      if (req.url === "/v1/traces") {
        for (const r of json.resourceSpans ?? [])
          received.traces.push({ resource: r.resource, spans: r.scopeSpans.flatMap((s) => s.spans) });
      } else if (req.url === "/v1/metrics") {
        for (const r of json.resourceMetrics ?? [])
          received.metrics.push({ resource: r.resource, metrics: r.scopeMetrics.flatMap((s) => s.metrics) });
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

const valueOf = (v: AnyValue | undefined) =>
  v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : (v?.doubleValue ?? v?.boolValue));
const attrs = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
const spans = () => received.traces.flatMap((t) => t.spans);
const named = (name: string) => spans().filter((s) => s.name === name);

/** The latest export of a metric (cumulative): its data points with their attributes and value (a histogram's count). */
function points(name: string): { attributes: Record<string, unknown>; value: number }[] {
  const last = received.metrics
    .flatMap((r) => r.metrics)
    .filter((m) => m.name === name)
    .at(-1);
  const data = last?.sum?.dataPoints ?? last?.histogram?.dataPoints ?? last?.gauge?.dataPoints ?? [];
  return data.map((p) => ({ attributes: attrs(p.attributes), value: Number(p.asInt ?? p.asDouble ?? p.count ?? 0) }));
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`telemetry: ${what} did not arrive within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const native = process.env.LOCKSTEP_NATIVE_REDIS === "1";
let receiver: http.Server;
let stack: Stack;
let app: string;
let redis: IORedis;
/** The app's output lines. */
const appLog: string[] = [];
/** Everything that names the user or the sessions, or would let someone act as them. */
const secrets: string[] = [];

type SessionJson = { user: { sub: string; email?: string }; session: { id: string; idp: { iss: string; sid: string } } };

/** Signs in, noting every value that must never be exported: ids, the cookie, the tokens, the code of the redirect back. */
async function signedIn(username: string) {
  const browser = new HttpSession();
  const original = globalThis.fetch;
  const visited: string[] = [];
  globalThis.fetch = (input, init) => {
    visited.push(String(input instanceof Request ? input.url : input));
    return original(input, init);
  };
  try {
    const landed = await signIn(browser, app, username, `${username}-password`);
    expect(new URL(landed.url).pathname).toBe("/account");
  } finally {
    globalThis.fetch = original;
  }
  const session = (await (await sessionOf(browser, app)).json()) as SessionJson;
  const record = JSON.parse((await redis.get(appKeys(stack.keyPrefix, bank.appId).session(session.session.id)))!) as SessionRecord;
  const callback = visited.map((u) => new URL(u)).find((u) => u.pathname.startsWith("/api/auth/callback/"));
  expect(callback?.searchParams.get("code")).toBeTruthy();
  secrets.push(
    session.user.sub,
    session.session.id,
    session.session.idp.sid,
    browser.cookies(app)[`${bank.appId}.session`]!,
    record.idToken,
    callback!.searchParams.get("code")!,
    callback!.searchParams.get("state")!,
    ...[record.accessToken, record.refreshToken, session.user.email].filter((v): v is string => typeof v === "string"),
  );
  return { browser, session };
}

beforeAll(async () => {
  receiver = await startReceiver();
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  stack = await startTestStack({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRIC_EXPORT_INTERVAL: "500", OTEL_BSP_SCHEDULE_DELAY: "200" },
    log: (source, line) => void (source === bank.appId && appLog.push(line)),
  });
  app = stack.apps[0]!.url;
  redis = await testRedis();

  // A tab with its event stream open, ended by a back-channel logout.
  const alice = await signedIn("alice");
  const stream = await alice.browser.fetch(`${app}/api/session/events`);
  expect(stream.status).toBe(200);
  const told = nextEnded(stream, 15_000);
  const now = Math.floor(Date.now() / 1000);
  const jti = randomUUID();
  const logoutToken = await stack.idp.sign({
    iss: stack.issuer,
    sub: alice.session.user.sub,
    aud: bank.clientId,
    jti,
    sid: alice.session.session.idp.sid,
    events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    iat: now,
    exp: now + 120,
  });
  secrets.push(logoutToken, jti);
  const answer = await fetch(`${app}/api/backchannel-logout`, { method: "POST", body: new URLSearchParams({ logout_token: logoutToken }) });
  expect(answer.status).toBe(200);
  expect(await told).toMatchObject({ reason: "revoked", mechanism: "backchannel" });
  expect((await sessionOf(alice.browser, app)).status).toBe(401);

  // Another session, ended by front-channel logout: its sid travels in the URL's query.
  const bob = await signedIn("bob");
  const page = await fetch(
    `${app}/api/frontchannel-logout?${new URLSearchParams({ iss: stack.issuer, sid: bob.session.session.idp.sid })}`,
  );
  expect(page.status).toBe(200);
  expect((await sessionOf(bob.browser, app)).status).toBe(401);

  await until(
    "the receivers' spans",
    () => named("lockstep.signal frontchannel_logout").length > 0 && named("lockstep.signal backchannel_logout").length > 0,
  );
  await until("the endings' metrics", () =>
    points("lockstep.sessions.ended").some((p) => p.attributes["lockstep.end.mechanism"] === "frontchannel"),
  );
  await until("the tab's delay", () => points("lockstep.ending.recorded_to_tab").length > 0);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe("OpenTelemetry over OTLP/HTTP from the built app", () => {
  it("names the service lockstep-<APP_ID> on every span and metric", () => {
    const resources = [...received.traces, ...received.metrics].map((r) => attrs(r.resource.attributes));
    expect(resources.length).toBeGreaterThan(1);
    for (const resource of resources) expect(resource).toMatchObject({ "service.name": "lockstep-bank" });
  });

  it("a back-channel logout: the receiver's span under Next's request span, endSessions under it, its store calls under that", () => {
    const [signal] = named("lockstep.signal backchannel_logout");
    expect(attrs(signal!.attributes)).toMatchObject({
      "lockstep.signal.receiver": "backchannel_logout",
      "lockstep.signal.outcome": "ok",
      "lockstep.signal.code": "ended",
      "lockstep.signal.sessions_ended": 1,
    });
    const trace = spans().filter((s) => s.traceId === signal!.traceId);
    expect(trace.map((s) => s.name)).toContain("POST /api/backchannel-logout");
    const end = trace.find((s) => s.name === "lockstep.end_sessions");
    expect(end?.parentSpanId).toBe(signal!.spanId);
    expect(attrs(end!.attributes)).toMatchObject({
      "lockstep.end.reason": "revoked",
      "lockstep.end.mechanism": "backchannel",
      "lockstep.end.result": "ended",
      "lockstep.end.sessions": 1,
    });
    const revoke = trace.find((s) => s.name === "lockstep.store revocations.revoke");
    expect(revoke?.parentSpanId).toBe(end!.spanId);
  });

  it("a front-channel logout, and the IdP's discovery fetched at start-up", () => {
    const [signal] = named("lockstep.signal frontchannel_logout");
    expect(attrs(signal!.attributes)).toMatchObject({ "lockstep.signal.outcome": "ok", "lockstep.signal.code": "ended" });
    const discovery = named("lockstep.idp discovery");
    expect(discovery.length).toBeGreaterThan(0);
    expect(attrs(discovery[0]!.attributes)).toMatchObject({
      "lockstep.idp.endpoint": "discovery",
      "http.request.method": "GET",
      "http.response.status_code": 200,
    });
  });

  it("the guard's span and decisions where the guard runs in the Node runtime; none on the edge", async () => {
    if (!native) {
      expect(named("lockstep.guard")).toEqual([]);
      return;
    }
    await until("the guard's decisions", () =>
      points("lockstep.guard.decisions").some((p) => p.attributes["lockstep.guard.reason"] === "revoked"),
    );
    const outcomes = named("lockstep.guard").map((s) => attrs(s.attributes));
    expect(outcomes).toContainEqual({ "lockstep.guard.outcome": "allow" });
    expect(outcomes).toContainEqual({ "lockstep.guard.outcome": "refuse", "lockstep.guard.reason": "revoked" });
    expect(points("lockstep.guard.decisions").map((p) => p.attributes)).toContainEqual({ "lockstep.guard.outcome": "allow" });
  });

  it("metrics: sessions ended by mechanism and reason, signals, both legs of the delay, open streams, store and IdP latency", () => {
    const ended = points("lockstep.sessions.ended").map((p) => p.attributes);
    expect(ended).toContainEqual({ "lockstep.end.mechanism": "backchannel", "lockstep.end.reason": "revoked" });
    expect(ended).toContainEqual({ "lockstep.end.mechanism": "frontchannel", "lockstep.end.reason": "frontchannel_logout" });
    expect(points("lockstep.signals").map((p) => p.attributes)).toContainEqual({
      "lockstep.signal.receiver": "backchannel_logout",
      "lockstep.signal.outcome": "ok",
      "lockstep.signal.code": "ended",
    });
    const sent = points("lockstep.ending.sent_to_recorded").find((p) => p.attributes["lockstep.end.mechanism"] === "backchannel");
    expect(sent?.value).toBeGreaterThanOrEqual(1);
    const told = points("lockstep.ending.recorded_to_tab").find((p) => p.attributes["lockstep.end.mechanism"] === "backchannel");
    expect(told?.value).toBe(1);
    expect(points("lockstep.live.streams")).toHaveLength(1);
    expect(points("lockstep.store.duration").map((p) => p.attributes)).toContainEqual({
      "lockstep.store.port": "revocations",
      "lockstep.store.method": "revoke",
    });
    expect(points("lockstep.idp.duration").map((p) => p.attributes["lockstep.idp.endpoint"])).toContain("discovery");
  });

  it("a collector that goes away breaks no request, and costs one log line per signal until it is back, and one when it is", async () => {
    const port = (receiver.address() as AddressInfo).port;
    await new Promise((resolve) => receiver.close(resolve).closeAllConnections());
    const exportLines = () =>
      appLog
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { kind?: string; event?: string; outcome?: string; code?: string; signal?: string; endpoint?: string })
        .filter((l) => l.kind === "telemetry" && l.event === "telemetry.export");
    // Requests go on as before: a sign-in (the guard, the IdP, the store) and a logout.
    const carol = await signedIn("alice");
    expect((await sessionOf(carol.browser, app)).status).toBe(200);
    await until("a failed export of each signal", () => new Set(exportLines().map((l) => l.signal)).size === 2, 30_000);
    // More failing exports: still one line per signal.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await fetch(`${app}/api/health`)).status).toBe(200);
    const failing = exportLines();
    expect(failing.map((l) => [l.signal, l.outcome]).sort()).toEqual([
      ["metrics", "error"],
      ["traces", "error"],
    ]);
    for (const line of failing) {
      expect(line.endpoint).toBe(`127.0.0.1:${port}`);
      expect(line.code).toMatch(/^[A-Za-z0-9_]+$/);
    }

    receiver = await startReceiver(port);
    await fetch(`${app}/api/health`);
    await until("the recovery of each signal", () => exportLines().filter((l) => l.outcome === "ok").length === 2, 30_000);
    expect(
      exportLines()
        .map((l) => [l.signal, l.outcome, l.code])
        .slice(2)
        .sort(),
    ).toEqual([
      ["metrics", "ok", "recovered"],
      ["traces", "ok", "recovered"],
    ]);
  });

  it("nothing exported holds a sub, a sid, a session id, the session cookie, a token, the code or an email", () => {
    expect(secrets.length).toBeGreaterThanOrEqual(18);
    expect(received.bodies.length).toBeGreaterThan(2);
    for (const secret of secrets) {
      expect(secret.length, "a secret worth looking for").toBeGreaterThanOrEqual(3);
      const found = received.bodies.filter((body) => body.includes(secret) || body.includes(encodeURIComponent(secret)));
      expect(found.length, `an export holds one of the secrets (${secrets.indexOf(secret)})`).toBe(0);
    }
  });
});
