import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { availableParallelism } from "node:os";
import { buildApp, startStack, type RunningApp, type Stack } from "./stack";
import { percentile } from "./percentile";
import {
  TabClient,
  callsBetween,
  commandCalls,
  cpuWindow,
  describeCpu,
  loadAverage,
  memoryProbe,
  rssBytes,
  startPrivateRedis,
  usedMemory,
  writeInProcesses,
  type MemoryProbe,
  type PrivateRedis,
  statusOf,
} from "./scale-support";
import { cookieFor, recordMaker, storesFor, writeSessions, type ScaleSession, type TokenSizes } from "./scale-sessions";
import { HttpSession } from "../../tests/support/http-client";
import { signIn } from "../../tests/support/lockstep";
import { appKeys } from "../../lib/store/keys";
import { cookieNames } from "../../lib/session/cookies";
import { endSessions, type EndDeps } from "../../lib/revocation/end-sessions";
import type { SessionRecord } from "../../lib/session/record";
import type { Stores } from "../../lib/store/ports";

/**
 * `npm run bench:scale [-- tabs|sessions|logouts ...] [--quick]`: Lockstep at scale on this machine,
 * on the Node variant (GUARD_RUNTIME=nodejs, the app on a native connection to a private
 * redis-server started for the run, so that nobody else's traffic counts in its INFO). Each part
 * starts its own private Redis and stack (demo IdP, one app under `next start`):
 *
 * - tabs: 2,000 sessions × 5 open tabs. A browser's tabs share one event stream (a Web Lock, the
 *   others told over its BroadcastChannel: app/account/tab-watcher.ts), so each session opens
 *   5 / SCALE_TABS_PER_STREAM streams (server-sent events, held by a client process of their own;
 *   SCALE_TABS_PER_STREAM=1 is a browser without Web Locks, each tab its own stream). The app's
 *   memory per open stream and per tab (RSS, and the heap after a full GC), its CPU and the Redis
 *   calls per second while they idle, and how long after 1,000 sessions end at once (one endSessions
 *   call from this process, as another instance would make it) each of their streams gets `ended`;
 * - sessions: 1,000,000 sessions written through the store with token sizes like a real IdP's:
 *   bytes per session in Redis, the write rate, and the guard's added latency (HTTP, /bench/guard
 *   against /bench/bare, and the store's check alone from this process) at 1,000 and at 1,000,000;
 * - logouts: 10,000 back-channel logout tokens (signed by the demo IdP's key) for 10,000 sessions
 *   with a tab open each, at concurrency 50: tokens per second, errors, and when the guard refused
 *   the last session and the last tab was told.
 *
 * Sessions are written through the store (lib/store/native.ts `create`, one MULTI each, as a sign-in
 * writes them) and their cookies sealed with the app's secret (lib/session/handle.ts, as auth.ts
 * seals them), rather than signed in one by one at the IdP; the record is modelled on a real demo
 * sign-in's (read back from Redis at the start), with access and refresh tokens at SCALE_ACCESS_TOKEN_BYTES
 * (1024) and SCALE_REFRESH_TOKEN_BYTES (512). `--quick` runs small sizes (a smoke run); the SCALE_*
 * settings below change any size. LOCKSTEP_SKIP_BUILD=1 reuses the last Node build. Every loop is
 * bounded in count and time; every process started here is stopped by its PID.
 */

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const parts = ["tabs", "sessions", "logouts"] as const;
type Part = (typeof parts)[number];
const asked = args.filter((a) => !a.startsWith("--"));
for (const a of asked) if (!parts.includes(a as Part)) throw new Error(`bench:scale: unknown part "${a}" (tabs, sessions or logouts)`);
const selected: Part[] = asked.length > 0 ? (asked as Part[]) : [...parts];

const setting = (name: string, full: number, small: number) => Number(process.env[name] ?? (quick ? small : full));
const sizes = {
  tabSessions: setting("SCALE_TAB_SESSIONS", 2_000, 100),
  tabsPerSession: setting("SCALE_TABS_PER_SESSION", 5, 5),
  tabsPerStream: setting("SCALE_TABS_PER_STREAM", 5, 5),
  endSessions: setting("SCALE_END_SESSIONS", 1_000, 50),
  idleSeconds: setting("SCALE_IDLE_SECONDS", 60, 5),
  sessions: setting("SCALE_SESSIONS", 1_000_000, 20_000),
  writeSeconds: setting("SCALE_WRITE_SECONDS", 600, 60),
  logouts: setting("SCALE_LOGOUTS", 10_000, 300),
  logoutConcurrency: setting("SCALE_LOGOUT_CONCURRENCY", 50, 50),
  guardSeconds: setting("SCALE_GUARD_SECONDS", 1.5, 0.5),
  writers: setting("SCALE_WRITERS", 2, 2),
};
const tokenSizes: TokenSizes = {
  accessToken: Number(process.env.SCALE_ACCESS_TOKEN_BYTES ?? 1024),
  refreshToken: Number(process.env.SCALE_REFRESH_TOKEN_BYTES ?? 512),
};
const TTL_SECONDS = 8 * 3600;
const KEY_PREFIX = "ls:";
const APP_ID = "bank";
const CLIENT_ID = "lockstep-bank";
/** How long the tabs may take to open, and a batch of endings to reach them, before the part gives up. */
const OPEN_SECONDS = 600;
const PROPAGATION_TIMEOUT_MS = 30_000;
/**
 * The tabs' Accept-Encoding: Chromium's EventSource sends "gzip, deflate, br, zstd" (and the app's
 * server then compresses the stream); SCALE_ACCEPT_ENCODING=identity measures uncompressed streams.
 */
const ACCEPT_ENCODING = process.env.SCALE_ACCEPT_ENCODING ?? "gzip, deflate, br, zstd";
const PROFILE = process.env.SCALE_PROFILE === "1";

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "-");
const sleep = (millis: number) => new Promise((r) => setTimeout(r, millis));

/** One part's environment: a private Redis, the stack on it, the app's stores from here, and a real sign-in's record. */
type Bench = {
  redis: PrivateRedis;
  stack: Stack;
  app: RunningApp;
  stores: Stores;
  /** The app's session cookie name and secret, to seal cookies as a sign-in does. */
  cookieName: string;
  secret: string;
  template: SessionRecord;
  probe: MemoryProbe;
};

/** The app's security log lines with outcome "error", counted by event and code: what a part's errors were. */
function errorTally(): { log: (source: string, line: string) => void; describe(): string } {
  const counts = new Map<string, number>();
  return {
    log(source, line) {
      if (source !== APP_ID || !line.includes('"outcome":"error"')) return;
      try {
        const entry = JSON.parse(line) as { event?: string; code?: string };
        const key = `${entry.event} ${entry.code ?? ""}`.trim();
        counts.set(key, (counts.get(key) ?? 0) + 1);
      } catch {
        // not a security log line
      }
    },
    describe: () => (counts.size === 0 ? "none" : [...counts].map(([key, n]) => `${key}: ${n}`).join(", ")),
  };
}

async function withBench<T>(label: string, run: (bench: Bench) => Promise<T>): Promise<T> {
  console.log(`\n=== ${label} ===`);
  console.log(`  load average before: ${loadAverage()}`);
  const errors = errorTally();
  const redis = await startPrivateRedis();
  const probe = memoryProbe();
  let stack: Stack | undefined;
  let client: ReturnType<typeof storesFor>["client"] | undefined;
  try {
    stack = await startStack({
      redisUrl: redis.url,
      nativeRedis: true,
      keyPrefix: KEY_PREFIX,
      log: errors.log,
      apps: [
        {
          appId: APP_ID,
          name: "Lockstep Bank",
          clientId: CLIENT_ID,
          clientSecret: "bank-scale-secret-0123456789",
          env: {
            SESSION_TTL_SECONDS: String(TTL_SECONDS),
            // Straight to the private Redis (the stack's forwarder runs in this process).
            REDIS_URL: redis.url,
            // The per-process cap on open streams, above this benchmark's 10,000.
            LIVE_MAX_STREAMS: "20000",
            ...probe.env,
          },
        },
      ],
    });
    const app = stack.apps[0]!;
    const made = storesFor(redis.url, KEY_PREFIX, APP_ID, TTL_SECONDS);
    client = made.client;
    // A real sign-in at the demo IdP: its record is the model of every session written here.
    const browser = new HttpSession();
    const before = await usedMemory(redis.client);
    const landed = await signIn(browser, app.url, "alice", "alice-password");
    if (new URL(landed.url).pathname !== "/account") throw new Error("bench:scale: the sign-in failed");
    const session = (await (await browser.fetch(`${app.url}/api/session`)).json()) as { session: { id: string } };
    const template = await made.stores.sessions.read(session.session.id);
    if (!template) throw new Error("bench:scale: the signed-in session has no record");
    const key = appKeys(KEY_PREFIX, APP_ID).session(session.session.id);
    const stored = await redis.client.strlen(key);
    const usage = Number(await redis.client.call("MEMORY", "USAGE", key));
    console.log(
      `  a real demo sign-in: record ${stored} bytes (ID token ${template.idToken.length}, access token ${template.accessToken?.length ?? 0}, ` +
        `refresh token ${template.refreshToken?.length ?? 0} characters), ${usage} bytes in Redis for the record key, ` +
        `${(await usedMemory(redis.client)) - before} bytes for all it wrote (used_memory)`,
    );
    return await run({
      redis,
      stack,
      app,
      stores: made.stores,
      cookieName: cookieNames(APP_ID, app.url).session,
      secret: app.env!.AUTH_SECRET!,
      template,
      probe,
    });
  } finally {
    client?.disconnect();
    await stack?.stop();
    await redis.stop();
    probe.remove();
    console.log(`  the app's security log, errors: ${errors.describe()}`);
    console.log(`  load average after: ${loadAverage()}`);
  }
}

/** Writes `count` sessions like the template and answers them with their cookies, in order. */
async function sessionsWithCookies(bench: Bench, count: number, run: string): Promise<(ScaleSession & { cookie: string })[]> {
  const make = recordMaker(bench.template, tokenSizes, run, TTL_SECONDS);
  const { written, seconds, kept } = await writeSessions(bench.stores, make, { count, concurrency: 64, seconds: 120, keep: () => true });
  if (written < count) throw new Error(`bench:scale: wrote ${written} of ${count} sessions in ${seconds.toFixed(0)} s`);
  const out: (ScaleSession & { cookie: string })[] = [];
  for (let i = 0; i < count; i++) {
    const s = kept.get(i)!;
    out.push({ ...s, cookie: await cookieFor(s.handle, bench.secret, bench.cookieName, TTL_SECONDS) });
  }
  console.log(`  ${count} sessions written through the store in ${seconds.toFixed(1)} s, cookies sealed`);
  return out;
}

/** p50 / p95 / max of a list of milliseconds. */
function spread(values: number[]): { p50: number; p95: number; max: number } {
  return { p50: percentile(values, 50), p95: percentile(values, 95), max: values.length ? Math.max(...values) : NaN };
}

/** Opens and drops a few streams, so that the route's code is loaded before memory is measured. */
async function warmStreams(app: RunningApp, cookies: string[]): Promise<void> {
  await Promise.all(
    cookies.map(async (cookie) => {
      const abort = new AbortController();
      const response = await fetch(`${app.url.replace("localhost", "127.0.0.1")}/api/session/events`, {
        headers: { cookie },
        signal: abort.signal,
      });
      await response.body?.getReader().read();
      abort.abort();
    }),
  );
}

type TabsFigures = {
  tabs: number;
  streams: number;
  perStreamRss: number;
  perTabRss: number;
  perTabHeap: number;
  idleCpu: number;
  redisPerSecond: number;
  p50: number;
  p95: number;
  max: number;
  delivered: number;
  expected: number;
};

async function benchTabs(bench: Bench): Promise<TabsFigures> {
  const { app } = bench;
  const pid = app.process.pid!;
  const sessions = await sessionsWithCookies(bench, sizes.tabSessions, "tabs");
  const streamsPerSession = Math.ceil(sizes.tabsPerSession / sizes.tabsPerStream);
  const cookies = sessions.flatMap((s) => Array.from({ length: streamsPerSession }, () => s.cookie));
  await warmStreams(
    app,
    sessions.slice(0, 20).map((s) => s.cookie),
  );
  await sleep(3_000);
  const before = { rss: rssBytes(pid), memory: await bench.probe.read(pid) };
  const tabs = await TabClient.start();
  try {
    console.log(
      `  opening ${cookies.length} streams for ${sizes.tabSessions * sizes.tabsPerSession} tabs ` +
        `(${sizes.tabSessions} sessions × ${sizes.tabsPerSession} tabs, ${streamsPerSession} stream(s) each), 50 at a time...`,
    );
    const opening = cpuWindow({ app: pid, redis: bench.redis.pid, client: tabs.pid });
    const opened = await tabs.open(app.url, cookies, { concurrency: 50, seconds: OPEN_SECONDS, acceptEncoding: ACCEPT_ENCODING });
    console.log(
      `  ${opened.opened} open, ${opened.failed} failed (HTTP ${JSON.stringify(opened.statuses)}, Content-Encoding ${JSON.stringify(opened.encodings)}) ` +
        `in ${opened.seconds.toFixed(1)} s; CPU while opening: ${describeCpu(opening())}`,
    );
    await sleep(10_000);
    const after = { rss: rssBytes(pid), memory: await bench.probe.read(pid) };
    const n = opened.opened;
    // The tabs those streams serve: each stream is shared by up to SCALE_TABS_PER_STREAM tabs of one browser.
    const tabsOpen = (n / streamsPerSession) * sizes.tabsPerSession;
    const perStreamRss = (after.rss - before.rss) / n;
    const perTabRss = (after.rss - before.rss) / tabsOpen;
    const perTabHeap = (after.memory.heapUsed - before.memory.heapUsed) / tabsOpen;
    const perTabExternal = (after.memory.external - before.memory.external) / tabsOpen;
    console.log(
      `  app memory: RSS ${mb(before.rss)} → ${mb(after.rss)}, heap used (after a full GC) ${mb(before.memory.heapUsed)} → ${mb(after.memory.heapUsed)} ` +
        `(heap total ${mb(before.memory.heapTotal)} → ${mb(after.memory.heapTotal)}), external ${mb(before.memory.external)} → ${mb(after.memory.external)}`,
    );
    console.log(
      `  per open stream: ${(perStreamRss / 1024).toFixed(1)} KB RSS; per open tab (${tabsOpen} tabs): ${(perTabRss / 1024).toFixed(1)} KB RSS, ` +
        `${(perTabHeap / 1024).toFixed(1)} KB heap, ${(perTabExternal / 1024).toFixed(1)} KB external`,
    );

    // Idle: the tabs open, nothing happening but their heartbeats.
    const callsBefore = await commandCalls(bench.redis.client);
    const idle = cpuWindow({ app: pid, redis: bench.redis.pid, client: tabs.pid });
    await sleep(sizes.idleSeconds * 1000);
    const idleCpu = idle();
    const calls = callsBetween(callsBefore, await commandCalls(bench.redis.client));
    const total = [...calls.values()].reduce((a, b) => a + b, 0);
    const redisPerSecond = total / sizes.idleSeconds;
    console.log(`  idle ${sizes.idleSeconds} s with ${n} streams open: CPU ${describeCpu(idleCpu)}`);
    console.log(
      `  Redis calls per second: ${redisPerSecond.toFixed(1)} (${[...calls].map(([c, k]) => `${c} ${(k / sizes.idleSeconds).toFixed(1)}`).join(", ")})`,
    );

    // 1,000 sessions end at once: one endSessions call from this process (another instance of the app,
    // as far as the tabs' one knows), which stores every ending in one revocation (one script), as an
    // admin's or a subject-wide ending does. Their records are read first, so that the call writes at once.
    const ended = sessions.slice(0, sizes.endSessions);
    const records = await Promise.all(ended.map((s) => bench.stores.sessions.read(s.id)));
    let storedAt = NaN;
    const ending: EndDeps = {
      sessions: bench.stores.sessions,
      revocations: bench.stores.revocations,
      now: Date.now,
      onEnded: () => (storedAt = Date.now()),
    };
    const endedTabs = new Set(ended.flatMap((_, i) => Array.from({ length: streamsPerSession }, (_, t) => i * streamsPerSession + t)));
    const expected = endedTabs.size;
    // SCALE_PROFILE=1: a CPU profile of the app over the endings and their delivery.
    if (PROFILE) await bench.probe.profile(pid, true);
    const burst = cpuWindow({ app: pid, redis: bench.redis.pid, client: tabs.pid });
    const t0 = Date.now();
    await endSessions(
      ending,
      ended.map((s, i) => ({ kind: "session", id: s.id, record: records[i] ?? undefined })),
      "ended_elsewhere",
      { detail: { mechanism: "another_device" } },
    );
    const stored = storedAt - t0;
    const delivered = await tabs.waitForEnded(expected, PROPAGATION_TIMEOUT_MS);
    const burstCpu = burst();
    if (PROFILE) {
      await bench.probe.profile(pid, false);
      console.log(`  the app's CPU profile: ${bench.probe.file}.*.cpuprofile`);
    }
    const told = tabs.ended.filter((e) => endedTabs.has(e.tab));
    const lags = told.map((e) => e.arrived - e.at);
    const { p50, p95, max } = spread(lags);
    const afterStored = spread(told.map((e) => e.arrived - storedAt));
    // The streams that got `ended` close right after it: give the closes a moment before counting.
    await sleep(2_000);
    const stats = await tabs.stats();
    console.log(
      `  ${ended.length} sessions ended at once (one endSessions call from this process: stored ${ms(stored)} ms after it began); ` +
        `${delivered} of ${expected} streams got "ended" (${tabs.ended.length - told.length} others)`,
    );
    console.log(
      `  from the ending's record (its feed entries' time) to each tab's "ended": p50 ${ms(p50)} ms, p95 ${ms(p95)} ms, max ${ms(max)} ms; ` +
        `from the answer of its write: p50 ${ms(afterStored.p50)} ms, p95 ${ms(afterStored.p95)} ms, max ${ms(afterStored.max)} ms`,
    );
    console.log(
      `  CPU over the endings and their delivery: ${describeCpu(burstCpu)}; the app spent ${(burstCpu.used.app! * 1000).toFixed(0)} ms of CPU ` +
        `(${((burstCpu.used.app! * 1000) / Math.max(1, delivered)).toFixed(2)} ms per stream told)`,
    );
    console.log(
      `  streams now: ${stats.open} open, ${stats.ended} ended, ${stats.closedEarly} closed by the server without "ended", ${stats.failed} failed`,
    );
    return {
      tabs: tabsOpen,
      streams: n,
      perStreamRss,
      perTabRss,
      perTabHeap,
      idleCpu: idleCpu.share.app!,
      redisPerSecond,
      p50,
      p95,
      max,
      delivered,
      expected,
    };
  } finally {
    await tabs.close();
  }
}

type GuardSample = { guard: number; bare: number; check: number };

/**
 * The guard's latency at concurrency 1, interleaved rounds: /bench/guard (the guard, then the tiny
 * route) and /bench/bare (the same route, the guard passed by) with the given cookies in turn; and the
 * store's check alone (RevocationList.check, what the guard awaits) from this process.
 */
async function guardLatency(bench: Bench, sessions: ScaleSession[], cookies: string[]): Promise<GuardSample> {
  const base = bench.app.url.replace("localhost", "127.0.0.1");
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = { guard: [] as number[], bare: [] as number[], check: [] as number[] };
  // Short rounds, many of them: a burst of load from elsewhere on the machine hits both modes alike.
  const rounds = 6;
  let refused = 0;
  for (let round = 0; round < rounds; round++) {
    for (const mode of ["bare", "guard"] as const) {
      const url = new URL(`/bench/${mode}`, base);
      const deadline = performance.now() + sizes.guardSeconds * 1000;
      for (let i = 0; i < 20_000 && performance.now() < deadline; i++) {
        const t = performance.now();
        const status = await statusOf(agent, url, cookies[i % cookies.length]!);
        samples[mode].push(performance.now() - t);
        if (status !== 200) refused += 1;
      }
    }
    const deadline = performance.now() + sizes.guardSeconds * 1000;
    for (let i = 0; i < 20_000 && performance.now() < deadline; i++) {
      const t = performance.now();
      const verdict = await bench.stores.revocations.check(sessions[i % sessions.length]!.handle);
      samples.check.push(performance.now() - t);
      if (!verdict.active) refused += 1;
    }
  }
  agent.destroy();
  if (refused > 0) throw new Error(`bench:scale: ${refused} guard requests were refused; the sessions should all be live`);
  return { guard: percentile(samples.guard, 50), bare: percentile(samples.bare, 50), check: percentile(samples.check, 50) };
}

function describeGuard(label: string, s: GuardSample): string {
  return `  ${label}: /bench/guard p50 ${s.guard.toFixed(2)} ms, /bench/bare ${s.bare.toFixed(2)} ms, added ${(s.guard - s.bare).toFixed(2)} ms; store check alone p50 ${s.check.toFixed(3)} ms`;
}

type SessionsFigures = {
  written: number;
  bytesPerSession: number;
  rate: number;
  small: GuardSample;
  large: GuardSample;
  largeSpread: GuardSample;
  limitedBy?: string;
};

/** MemAvailable in /proc/meminfo, bytes. */
function memAvailable(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]) * 1024;
}

async function benchSessions(bench: Bench): Promise<SessionsFigures> {
  const make = recordMaker(bench.template, tokenSizes, "sessions", TTL_SECONDS);
  const base = await usedMemory(bench.redis.client);
  const SMALL = 1_000;
  const first = await writeSessions(bench.stores, make, { count: SMALL, concurrency: 64, seconds: 60, keep: (i) => i % 10 === 0 });
  const perSession = ((await usedMemory(bench.redis.client)) - base) / first.written;
  // Bound the run by this machine's memory too: the private Redis may take at most half of what is free.
  const affordable = Math.floor((memAvailable() * 0.5) / perSession);
  const target = Math.min(sizes.sessions, affordable);
  const limitedBy =
    target < sizes.sessions ? `memory (about ${mb(perSession * sizes.sessions)} needed, ${mb(memAvailable())} available)` : undefined;
  if (limitedBy) console.log(`  writing ${target} sessions rather than ${sizes.sessions}: ${limitedBy}`);
  const smallSessions = [...first.kept.values()];
  const smallCookies = await Promise.all(smallSessions.map((s) => cookieFor(s.handle, bench.secret, bench.cookieName, TTL_SECONDS)));
  const small = await guardLatency(bench, smallSessions, smallCookies);
  console.log(describeGuard(`at ${first.written} sessions`, small));

  const rest = target - first.written;
  const every = Math.max(1, Math.floor(rest / 100));
  console.log(
    `  writing ${rest} more sessions through the store (${sizes.writers} writer processes, 256 at a time each, at most ${sizes.writeSeconds} s)...`,
  );
  const writing = cpuWindow({ app: bench.app.process.pid!, redis: bench.redis.pid });
  const bulk = await writeInProcesses(
    {
      redisUrl: bench.redis.url,
      keyPrefix: KEY_PREFIX,
      appId: APP_ID,
      ttlSeconds: TTL_SECONDS,
      template: bench.template,
      sizes: tokenSizes,
      run: "sessions",
      concurrency: 256,
      seconds: sizes.writeSeconds,
      keepEvery: every,
    },
    { from: SMALL, count: rest, writers: sizes.writers },
  );
  const writeCpu = writing();
  // Let Redis and the machine settle after the bulk write before the latency is measured again.
  await sleep(5_000);
  const written = first.written + bulk.written;
  const rate = bulk.written / bulk.seconds;
  const bytesPerSession = ((await usedMemory(bench.redis.client)) - base) / written;
  const keys = await bench.redis.client.dbsize();
  console.log(
    `  ${written} sessions in Redis (${keys} keys): ${bytesPerSession.toFixed(0)} bytes per session (used_memory); ` +
      `written at ${rate.toFixed(0)} sessions/s (${bulk.seconds.toFixed(0)} s; CPU ${describeCpu(writeCpu)})`,
  );
  const large = await guardLatency(bench, smallSessions, smallCookies);
  console.log(describeGuard(`at ${written} sessions, the same 100 cookies`, large));
  const spreadSessions = bulk.kept;
  const spreadCookies = await Promise.all(spreadSessions.map((s) => cookieFor(s.handle, bench.secret, bench.cookieName, TTL_SECONDS)));
  const largeSpread = await guardLatency(bench, spreadSessions, spreadCookies);
  console.log(describeGuard(`at ${written} sessions, 100 cookies spread over all`, largeSpread));
  return { written, bytesPerSession, rate, small, large, largeSpread, limitedBy };
}

type LogoutsFigures = {
  tokens: number;
  perSecond: number;
  errors: number;
  lastAnswered: number;
  lastRefused: number;
  refusedAfter: number;
  letThrough: number;
  lastTabTold: number;
  told: number;
  tabP95: number;
};

/** The guard's refusal of an ended session: a redirect to the signed-out page, or 401 for an API. */
const isRefusal = (status: number) => status >= 300 && status < 500;

function post(agent: http.Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function benchLogouts(bench: Bench): Promise<LogoutsFigures> {
  const { app, stack } = bench;
  const pid = app.process.pid!;
  const count = sizes.logouts;
  const sessions = await sessionsWithCookies(bench, count, "logouts");
  const tabs = await TabClient.start();
  try {
    console.log(`  opening ${count} tabs (one per session), 50 at a time...`);
    const opened = await tabs.open(
      app.url,
      sessions.map((s) => s.cookie),
      { concurrency: 50, seconds: OPEN_SECONDS, acceptEncoding: ACCEPT_ENCODING },
    );
    console.log(`  ${opened.opened} open, ${opened.failed} failed in ${opened.seconds.toFixed(1)} s`);
    const now = Math.floor(Date.now() / 1000);
    const bodies = await Promise.all(
      sessions.map(async (s) =>
        new URLSearchParams({
          logout_token: await stack.idp.sign({
            iss: stack.issuer,
            aud: CLIENT_ID,
            sub: s.handle.sub,
            sid: s.handle.sid,
            jti: randomUUID(),
            iat: now,
            exp: now + 600,
            events: { "http://schemas.openid.net/event/backchannel-logout": {} },
          }),
        }).toString(),
      ),
    );
    console.log(`  ${bodies.length} logout tokens signed with the demo IdP's key; sending at concurrency ${sizes.logoutConcurrency}...`);
    const base = app.url.replace("localhost", "127.0.0.1");
    const target = new URL("/api/backchannel-logout", base);
    const agent = new http.Agent({ keepAlive: true, maxSockets: sizes.logoutConcurrency });
    const statuses: Record<string, number> = {};
    const answeredAt: number[] = [];
    let next = 0;
    const deadline = Date.now() + 600_000;
    const lastIndex = count - 1;
    const cpu = cpuWindow({ app: pid, redis: bench.redis.pid, client: tabs.pid });
    const t0 = Date.now();
    // The guard's view of the last session to be sent: asked every 20 ms from when its token goes out.
    let lastRefused = NaN;
    const watcher = (async () => {
      while (next <= lastIndex && Date.now() < deadline) await sleep(20);
      const watch = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const url = new URL("/bench/guard", base);
      while (Date.now() < deadline) {
        const status = await statusOf(watch, url, sessions[lastIndex]!.cookie).catch(() => 0);
        if (isRefusal(status)) {
          lastRefused = Date.now() - t0;
          break;
        }
        await sleep(20);
      }
      watch.destroy();
    })();
    await Promise.all(
      Array.from({ length: sizes.logoutConcurrency }, async () => {
        while (next < bodies.length && Date.now() < deadline) {
          const i = next++;
          const status = await post(agent, target, bodies[i]!).catch(() => 0);
          statuses[status] = (statuses[status] ?? 0) + 1;
          answeredAt[i] = Date.now() - t0;
        }
      }),
    );
    const lastAnswered = Math.max(...answeredAt.filter((t) => t !== undefined));
    const sent = answeredAt.filter((t) => t !== undefined).length;
    const errors = sent - (statuses[200] ?? 0);
    agent.destroy();
    await watcher;
    const told = await tabs.waitForEnded(count, PROPAGATION_TIMEOUT_MS);
    const share = cpu();
    const lastTabTold = Math.max(...tabs.ended.map((e) => e.arrived - t0));
    const lags = tabs.ended.map((e) => e.arrived - e.at);
    const lag = spread(lags);
    console.log(
      `  ${sent} tokens answered in ${(lastAnswered / 1000).toFixed(1)} s: ${(sent / (lastAnswered / 1000)).toFixed(0)} tokens/s; ` +
        `HTTP ${JSON.stringify(statuses)}; ${errors} errors`,
    );
    console.log(`  CPU while sending and delivering: ${describeCpu(share)} (bench = this process: the sender and the demo IdP)`);
    console.log(`  the guard refused the last session sent ${ms(lastRefused)} ms after the first token went out`);
    console.log(
      `  ${told} of ${count} tabs got "ended"; the last ${ms(lastTabTold)} ms after the first token went out; ` +
        `from each ending's record to its tab: p50 ${ms(lag.p50)} ms, p95 ${ms(lag.p95)} ms, max ${ms(lag.max)} ms`,
    );
    // Every session must now be refused by the guard.
    const sweepAgent = new http.Agent({ keepAlive: true, maxSockets: sizes.logoutConcurrency });
    const url = new URL("/bench/guard", base);
    const sweep: Record<string, number> = {};
    let swept = 0;
    const sweepDeadline = Date.now() + 300_000;
    await Promise.all(
      Array.from({ length: sizes.logoutConcurrency }, async () => {
        while (swept < count && Date.now() < sweepDeadline) {
          const status = await statusOf(sweepAgent, url, sessions[swept++]!.cookie).catch(() => 0);
          sweep[status] = (sweep[status] ?? 0) + 1;
        }
      }),
    );
    sweepAgent.destroy();
    const refusedAfter = Object.entries(sweep).reduce((sum, [status, n]) => sum + (isRefusal(Number(status)) ? n : 0), 0);
    const letThrough = sweep[200] ?? 0;
    console.log(
      `  afterwards, every session at the guard (concurrency ${sizes.logoutConcurrency}): ${refusedAfter} of ${count} refused, ` +
        `${letThrough} let through; HTTP ${JSON.stringify(sweep)}${sweep[503] ? " (503: the guard's store call did not answer in time: it failed closed)" : ""}`,
    );
    return {
      tokens: sent,
      perSecond: sent / (lastAnswered / 1000),
      errors,
      lastAnswered,
      lastRefused,
      refusedAfter,
      letThrough,
      lastTabTold,
      told,
      tabP95: lag.p95,
    };
  } finally {
    await tabs.close();
  }
}

async function main(): Promise<void> {
  console.log(`bench:scale (${selected.join(", ")}${quick ? ", quick sizes" : ""}) on the Node variant; ${JSON.stringify(sizes)}`);
  const fds = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
  console.log(
    `  this machine: load average ${loadAverage()} (1, 5, 15 min) on ${availableParallelism()} cores; open files per process ${fds}`,
  );
  if (process.env.LOCKSTEP_SKIP_BUILD !== "1") {
    console.log("Building the Node variant (next build, GUARD_RUNTIME=nodejs)...");
    await buildApp(undefined, "nodejs", { bench: true });
  }
  const results: { tabs?: TabsFigures; sessions?: SessionsFigures; logouts?: LogoutsFigures } = {};
  if (selected.includes("tabs")) {
    results.tabs = await withBench(
      `${sizes.tabSessions * sizes.tabsPerSession} open tabs (${sizes.tabsPerStream} to a stream) on one instance`,
      benchTabs,
    );
  }
  if (selected.includes("sessions")) {
    results.sessions = await withBench(`${sizes.sessions} sessions in Redis`, benchSessions);
  }
  if (selected.includes("logouts")) {
    results.logouts = await withBench(`${sizes.logouts} back-channel logout tokens`, benchLogouts);
  }

  console.log(`\n=== Summary (load average now ${loadAverage()}) ===`);
  const { tabs, sessions, logouts } = results;
  if (tabs) {
    console.log(
      `  tabs: ${tabs.tabs} open on ${tabs.streams} streams: ${(tabs.perTabRss / 1024).toFixed(1)} KB RSS and ${(tabs.perTabHeap / 1024).toFixed(1)} KB heap per tab (aim 60 KB), ` +
        `${(tabs.perStreamRss / 1024).toFixed(1)} KB RSS per stream; ` +
        `idle CPU ${(tabs.idleCpu * 100).toFixed(1)} % of a core; ${tabs.redisPerSecond.toFixed(1)} Redis calls/s; ` +
        `${tabs.delivered}/${tabs.expected} streams told, p50 ${ms(tabs.p50)} ms, p95 ${ms(tabs.p95)} ms (aim 1 s), max ${ms(tabs.max)} ms`,
    );
  }
  if (sessions) {
    console.log(
      `  sessions: ${sessions.written} in Redis, ${sessions.bytesPerSession.toFixed(0)} bytes each, written at ${sessions.rate.toFixed(0)}/s; ` +
        `guard adds ${(sessions.small.guard - sessions.small.bare).toFixed(2)} ms p50 at 1,000, ` +
        `${(sessions.large.guard - sessions.large.bare).toFixed(2)} / ${(sessions.largeSpread.guard - sessions.largeSpread.bare).toFixed(2)} ms at ${sessions.written} (same / spread cookies); ` +
        `store check ${sessions.small.check.toFixed(3)} → ${sessions.large.check.toFixed(3)} / ${sessions.largeSpread.check.toFixed(3)} ms` +
        (sessions.limitedBy ? ` (count limited by ${sessions.limitedBy})` : ""),
    );
  }
  if (logouts) {
    console.log(
      `  logouts: ${logouts.tokens} tokens at ${logouts.perSecond.toFixed(0)}/s, ${logouts.errors} errors; last answered ${ms(logouts.lastAnswered)} ms, ` +
        `last session refused by the guard at ${ms(logouts.lastRefused)} ms, last tab told at ${ms(logouts.lastTabTold)} ms ` +
        `(${logouts.told} told, tab p95 ${ms(logouts.tabP95)} ms after its ending); afterwards the guard refuses ${logouts.refusedAfter}/${logouts.tokens}, lets ${logouts.letThrough} through`,
    );
  }
}

await main();
