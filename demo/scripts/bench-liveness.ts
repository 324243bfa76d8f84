import { redisAnswers } from "./preflight";
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import { HttpSession } from "../../tests/support/http-client";
import { signIn } from "../../tests/support/lockstep";
import { buildApp, startStack, type AppSpec, type RunningApp } from "./stack";
import { cpuSeconds } from "./scale-support";

/**
 * Liveness benchmark: what re-checking active sessions at the IdP costs, with each method, against
 * the real demo IdP (oidc-provider, in this process) and real Lockstep apps (`next start`).
 *
 * Four apps from one build, none registered for back-channel or front-channel logout: three with
 * LIVENESS=on (introspection, refresh, userinfo) and one with LIVENESS=off, the baseline measured
 * in the same run. Each gets SESSIONS signed-in sessions, each with an open event stream (an active
 * tab). Over WINDOW seconds at INTERVAL seconds, it counts the IdP's requests per endpoint (every
 * request the IdP's server receives) and reads each app's CPU time from /proc. It prints, per method:
 * IdP calls per check, IdP calls per active session per hour at the default interval (60 s), what
 * the IdP sees at 10,000 active sessions, and the CPU the checks add per active session.
 */
const SESSIONS = Number(process.env.BENCH_LIVENESS_SESSIONS ?? 50);
const INTERVAL_S = Number(process.env.BENCH_LIVENESS_INTERVAL ?? 10);
const WINDOW_S = Number(process.env.BENCH_LIVENESS_WINDOW ?? 60);
const DEFAULT_INTERVAL_S = 60;
const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

const methods = ["introspection", "refresh", "userinfo"] as const;
const noPush: AppSpec["registration"] = { backchannelLogout: false, frontchannelLogout: false };
const app = (appId: string, env: Record<string, string>): AppSpec => ({
  appId,
  name: `Liveness ${appId}`,
  clientId: `lockstep-${appId}`,
  clientSecret: `${appId}-bench-secret-0123456789`,
  registration: noPush,
  env: { LIVENESS_INTERVAL_SECONDS: String(INTERVAL_S), ...env },
});

async function openStreams(target: RunningApp, count: number): Promise<AbortController[]> {
  const streams: AbortController[] = [];
  for (let i = 0; i < count; i++) {
    const browser = new HttpSession();
    const landed = await signIn(browser, target.url, i % 2 ? "alice" : "bob", i % 2 ? "alice-password" : "bob-password");
    if (new URL(landed.url).pathname !== "/account") throw new Error(`bench: sign-in ${i + 1} at ${target.appId} failed`);
    const abort = new AbortController();
    const stream = await browser.fetch(`${target.url}/api/session/events`, { signal: abort.signal });
    if (stream.status !== 200) throw new Error(`bench: stream ${i + 1} at ${target.appId} answered ${stream.status}`);
    // Read and drop the events, as a tab would.
    void stream.body?.pipeTo(new WritableStream()).catch(() => {});
    streams.push(abort);
  }
  return streams;
}

async function main(): Promise<void> {
  const useRedis = await redisAnswers(redisUrl);
  if (process.env.LOCKSTEP_SKIP_BUILD !== "1") {
    console.log("Building (next build)...");
    await buildApp();
  }
  const stack = await startStack({
    redisUrl: useRedis ? redisUrl : undefined,
    keyPrefix: `lockstep-bench-liveness:${Date.now()}:`,
    apps: [...methods.map((m) => app(m, { LIVENESS: "on", LIVENESS_METHOD: m })), app("off", { LIVENESS: "off" })],
  });
  const idpPort = Number(new URL(stack.issuer).port);
  const counts = new Map<string, number>();
  let counting = false;
  subscribe("http.server.request.start", (message) => {
    const request = (message as { request: IncomingMessage }).request;
    if (!counting || request.socket.localPort !== idpPort) return;
    // Client authentication names the app (client_secret_basic); userinfo's bearer token does not.
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    const client = basic ? decodeURIComponent(Buffer.from(basic, "base64").toString("utf8").split(":")[0]!) : "bearer";
    const key = `${new URL(request.url ?? "/", stack.issuer).pathname} ${client}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  const aborts: AbortController[] = [];
  try {
    console.log(
      `\nLiveness: ${SESSIONS} active sessions (an open event stream each) per app, interval ${INTERVAL_S} s, window ${WINDOW_S} s; ${useRedis ? `real Redis at ${redisUrl} via the gateway` : "the gateway's embedded store"}`,
    );
    for (const target of stack.apps) aborts.push(...(await openStreams(target, SESSIONS)));
    // Let the sign-ins' own checks and refreshes settle, then measure a clean window.
    await new Promise((r) => setTimeout(r, INTERVAL_S * 1000));
    const before = new Map(stack.apps.map((a) => [a.appId, cpuSeconds(a.process.pid!)]));
    counts.clear();
    counting = true;
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
    counting = false;
    const cpu = new Map(stack.apps.map((a) => [a.appId, cpuSeconds(a.process.pid!) - before.get(a.appId)!]));

    const requests = (path: string, client: string) => counts.get(`${path} ${client}`) ?? 0;
    const byClient = (client: string) => [...counts].filter(([key]) => key.endsWith(` ${client}`)).reduce((sum, [, n]) => sum + n, 0);
    const baseline = cpu.get("off")!;
    console.log(`\n  IdP requests in the window, by path and client: ${JSON.stringify(Object.fromEntries(counts))}`);
    console.log(`  baseline (LIVENESS=off, the same streams): ${baseline.toFixed(2)} s CPU in ${WINDOW_S} s\n`);
    const header = [
      "method",
      "checks",
      "IdP calls/check",
      "calls/session/h @60s",
      "IdP req/s @10k sessions",
      "CPU/check (ms)",
      "CPU vs baseline",
      "core % @10k sessions",
    ];
    const rows = [header];
    for (const m of methods) {
      // A check is one request to its method's endpoint; every request the app's client made counts as a call
      // (userinfo's own are bearer requests to /me, plus the refreshes its client makes when a token expires).
      const client = `lockstep-${m}`;
      const checks =
        m === "introspection"
          ? requests("/token/introspection", client)
          : m === "refresh"
            ? requests("/token", client)
            : requests("/me", "bearer");
      const calls = byClient(client) + (m === "userinfo" ? checks : 0);
      const callsPerCheck = checks > 0 ? calls / checks : 0;
      const perHour = (3600 / DEFAULT_INTERVAL_S) * callsPerCheck;
      const added = cpu.get(m)! - baseline;
      const cpuPerCheckMs = checks > 0 ? (added * 1000) / checks : 0;
      // At the default interval, 10,000 sessions make 10,000/60 checks a second.
      const corePercent = ((10_000 / DEFAULT_INTERVAL_S) * cpuPerCheckMs) / 10;
      rows.push([
        m,
        String(checks),
        callsPerCheck.toFixed(2),
        perHour.toFixed(0),
        ((10_000 * perHour) / 3600).toFixed(0),
        cpuPerCheckMs.toFixed(2),
        `${(cpu.get(m)! / Math.max(baseline, 0.01)).toFixed(2)}x`,
        corePercent.toFixed(1),
      ]);
    }
    const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      console.log(`  ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")}`);
    const expected = (SESSIONS * WINDOW_S) / INTERVAL_S;
    console.log(
      `\n  (${SESSIONS} sessions × ${WINDOW_S} s / ${INTERVAL_S} s = about ${expected.toFixed(0)} checks per method expected in the window)`,
    );
  } finally {
    for (const a of aborts) a.abort();
    await stack.stop();
  }
}

await main();
