import { randomBytes, randomUUID } from "node:crypto";
import { redisAnswers } from "./preflight";
import { readdirSync, readFileSync } from "node:fs";
import { percentile } from "./percentile";
import { buildApp, startStack, type RunningApp, type Stack } from "./stack";
import { HttpSession } from "../../tests/support/http-client";
import { signIn } from "../../tests/support/lockstep";

/**
 * `npx tsx demo/scripts/soak.ts [--minutes N] [--rate R] [--skip-build]`: a soak run, not part of CI.
 * Builds the app (unless --skip-build or LOCKSTEP_SKIP_BUILD=1), starts the stack (the real Redis at
 * SOAK_REDIS_URL or 127.0.0.1:6379 under a key prefix of its own, deleted at the end; the gateway's
 * embedded store when no Redis answers) with two apps, and runs mixed traffic for N minutes (default
 * 10) at about R operations a second (default 15): sign-ins, pages, API calls, logout tokens, SETs,
 * RP-initiated logouts, requests with revoked cookies, and event-stream tabs opened and closed.
 * Every 30 s it prints the operations by status, the errors (any 5xx, any status the operation should
 * not get, any revoked session served) and the memory (VmRSS) of each app process and of this
 * process, which hosts the IdP and the gateway; at the end a summary. Everything is bounded in time;
 * every server is stopped by PID at the end and on Ctrl-C.
 */

// ---------------------------------------------------------------- settings

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return undefined;
  return process.argv[at + 1];
}
function positive(name: string, fallback: number, max: number): number {
  const raw = flag(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    console.error(`--${name} must be a number above 0 and at most ${max}`);
    process.exit(2);
  }
  return value;
}

const MINUTES = positive("minutes", 10, 240);
const RATE = positive("rate", 15, 200);
const SKIP_BUILD = process.argv.includes("--skip-build") || process.env.LOCKSTEP_SKIP_BUILD === "1";
const REDIS_URL = process.env.SOAK_REDIS_URL ?? "redis://127.0.0.1:6379";
const REPORT_EVERY_MS = 30_000;
const WORKERS = 6;
/** Live sessions kept signed in; sign-ins stop above MAX and revocations stop below MIN. */
const MIN_SESSIONS = 6;
const MAX_SESSIONS = 24;
const MAX_OPEN_TABS = 16;
const REQUEST_TIMEOUT_MS = 15_000;
/** How long a tab of a revoked session may wait for its `ended` event before it counts as missed. */
const ENDED_WITHIN_MS = 5_000;
const USERS = ["alice", "bob"] as const;

// ---------------------------------------------------------------- process memory

/** VmRSS of a process in kB, from /proc/<pid>/status; undefined when it is gone. */
function rssKb(pid: number | "self"): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The pid and its descendants (next start may run workers of its own). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...; comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}

const mb = (kb: number | undefined) => (kb === undefined ? "gone" : `${(kb / 1024).toFixed(0)} MB`);

// ---------------------------------------------------------------- bookkeeping

type Kind = "sign-in" | "page" | "api" | "userinfo" | "logout-token" | "set" | "rp-logout" | "revoked-probe" | "tab";

type Session = {
  app: RunningApp;
  cookie: string;
  sub: string;
  sid: string;
  id: string;
  /** When it was taken out of the pool to be revoked: a request of it may be refused from then on. */
  revoking?: number;
  /** Set when its revocation was acknowledged (200 / 202 / the end-session page). */
  revokedAt?: number;
  tabs: Set<Tab>;
};

type Tab = { session: Session; controller: AbortController; ended?: number };

const counts = new Map<string, number>(); // `${kind} ${status}`
const latencies = new Map<Kind, number[]>();
const problems: string[] = [];
let problemCount = 0;
let operations = 0;
let revokedServed = 0;
const tabStats = { opened: 0, ready: 0, closedByUs: 0, endedEvents: 0, missedEnded: 0, endedAfterMs: [] as number[] };
const memory: { at: number; apps: Record<string, number | undefined>; runner: number | undefined; heapMb: number }[] = [];

const live: Session[] = [];
const revoked: Session[] = [];
const openTabs = new Set<Tab>();

function count(kind: Kind, status: number | string, ms: number): void {
  operations += 1;
  const key = `${kind} ${status}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  const list = latencies.get(kind) ?? [];
  list.push(ms);
  latencies.set(kind, list);
}

function problem(text: string): void {
  problemCount += 1;
  if (problems.length < 40) problems.push(`${clock()} ${text}`);
  console.log(`  ! ${text}`);
}

const startedAt = Date.now();
const clock = () => {
  const s = Math.floor((Date.now() - startedAt) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};
const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(Math.random() * list.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// ---------------------------------------------------------------- operations

const stopping = new AbortController();

async function timed(
  kind: Kind,
  run: () => Promise<number | string>,
  expected: readonly (number | string)[],
  what: string,
): Promise<number | string> {
  const t0 = performance.now();
  let status: number | string;
  try {
    status = await run();
  } catch (error) {
    if (stopping.signal.aborted) return "stopped";
    status = `error:${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`.slice(
      0,
      80,
    );
  }
  count(kind, status, performance.now() - t0);
  if (!expected.includes(status)) problem(`${kind} ${what}: got ${status}, expected ${expected.join(" or ")}`);
  return status;
}

const request = (url: string, init: RequestInit = {}) =>
  fetch(url, { ...init, redirect: "manual", signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) });

async function signInOne(): Promise<void> {
  const app = pick(stack.apps)!;
  const user = pick(USERS)!;
  const browser = new HttpSession();
  let session: Session | undefined;
  await timed(
    "sign-in",
    async () => {
      const landed = await signIn(browser, app.url, user, `${user}-password`);
      await landed.body?.cancel();
      if (new URL(landed.url).pathname !== "/account") return `landed:${new URL(landed.url).pathname}:${landed.status}`;
      const cookie = browser.cookieHeader(app.url)!;
      const about = await request(`${app.url}/api/session`, { headers: { cookie } });
      if (about.status !== 200) return about.status;
      const body = (await about.json()) as { user: { sub: string }; session: { id: string; idp: { sid: string } } };
      session = { app, cookie, sub: body.user.sub, sid: body.session.idp.sid, id: body.session.id, tabs: new Set() };
      return 200;
    },
    [200],
    `as ${user} at ${app.appId}`,
  );
  if (session) live.push(session);
}

/** Takes a live session out of the pool, so that no request started after its revocation expects it to be served. */
function takeLive(usable: (s: Session) => boolean): Session | undefined {
  if (live.length <= MIN_SESSIONS) return undefined;
  const session = pick(live.filter(usable));
  if (!session) return undefined;
  live.splice(live.indexOf(session), 1);
  session.revoking = Date.now();
  return session;
}

function markRevoked(session: Session): void {
  session.revokedAt = Date.now();
  revoked.push(session);
  if (revoked.length > 60) revoked.shift();
  for (const tab of session.tabs) {
    setTimeout(() => {
      if (tab.ended === undefined && openTabs.has(tab)) {
        tabStats.missedEnded += 1;
        problem(`tab of ${session.app.appId} session revoked ${ENDED_WITHIN_MS} ms ago got no ended event`);
        closeTab(tab);
      }
    }, ENDED_WITHIN_MS).unref();
  }
}

async function visit(kind: "page" | "api" | "userinfo"): Promise<void> {
  const session = pick(live);
  if (!session) return signInOne();
  const path = kind === "page" ? "/account" : kind === "api" ? "/api/session" : "/api/userinfo";
  await timed(
    kind,
    async () => {
      const response = await request(`${session.app.url}${path}`, { headers: { cookie: session.cookie } });
      await response.body?.cancel();
      // A revocation that started while this request ran may win; that is not an error.
      if (response.status !== 200 && session.revoking !== undefined) return "raced-revocation";
      return response.status;
    },
    [200, "raced-revocation"],
    `${path} at ${session.app.appId}`,
  );
}

function logoutToken(session: Session): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return stack.idp.sign({
    iss: stack.issuer,
    sub: session.sub,
    aud: session.app.clientId,
    jti: randomUUID(),
    sid: session.sid,
    events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    iat: now,
    exp: now + 120,
  });
}

async function revokeBy(kind: "logout-token" | "set" | "rp-logout"): Promise<void> {
  // SETs go to the app that has a push stream.
  const session = takeLive((s) => kind !== "set" || s.app.ssf === "push");
  if (!session) return visit("api");
  const status = await timed(
    kind,
    async () => {
      if (kind === "logout-token") {
        const response = await request(`${session.app.url}/api/backchannel-logout`, {
          method: "POST",
          body: new URLSearchParams({ logout_token: await logoutToken(session) }),
        });
        await response.body?.cancel();
        return response.status;
      }
      if (kind === "set") {
        const now = Math.floor(Date.now() / 1000);
        const set = await stack.idp.sign(
          {
            iss: stack.issuer,
            jti: randomUUID(),
            iat: now,
            aud: session.app.url,
            sub_id: {
              format: "complex",
              user: { format: "iss_sub", iss: stack.issuer, sub: session.sub },
              session: { format: "opaque", id: session.sid },
            },
            events: { "https://schemas.openid.net/secevent/caep/event-type/session-revoked": { event_timestamp: now } },
          },
          { header: { typ: "secevent+jwt" } },
        );
        const response = await request(`${session.app.url}/api/ssf/events`, {
          method: "POST",
          headers: { "content-type": "application/secevent+jwt", authorization: session.app.env!.SSF_PUSH_AUTHORIZATION! },
          body: set,
        });
        await response.body?.cancel();
        return response.status;
      }
      const response = await request(`${session.app.url}/api/logout`, {
        method: "POST",
        headers: { cookie: session.cookie, origin: session.app.url },
      });
      await response.body?.cancel();
      return response.status;
    },
    [kind === "set" ? 202 : 200],
    `for a session at ${session.app.appId}`,
  );
  // Not acknowledged: whether it ended is unknown, so it is neither probed nor used again.
  if (status === 200 || status === 202) markRevoked(session);
}

async function probeRevoked(): Promise<void> {
  const session = pick(revoked);
  if (!session) return visit("api");
  const asPage = Math.random() < 0.5;
  const status = await timed(
    "revoked-probe",
    async () => {
      const response = await request(`${session.app.url}${asPage ? "/account" : "/api/session"}`, { headers: { cookie: session.cookie } });
      await response.body?.cancel();
      if (asPage && response.status === 303)
        return new URL(response.headers.get("location") ?? "/", session.app.url).pathname === "/signed-out" ? 303 : "303-elsewhere";
      return response.status;
    },
    [asPage ? 303 : 401],
    `${asPage ? "/account" : "/api/session"} with a cookie revoked ${Date.now() - session.revokedAt!} ms ago`,
  );
  if (status === 200) {
    revokedServed += 1;
    problem(
      `REVOKED SESSION SERVED: ${session.app.appId} session ${session.id.slice(0, 8)}… revoked at ${new Date(session.revokedAt!).toISOString()}`,
    );
  }
}

function closeTab(tab: Tab): void {
  if (!openTabs.delete(tab)) return;
  tab.session.tabs.delete(tab);
  tab.controller.abort();
}

async function openTab(): Promise<void> {
  const session = pick(live);
  if (!session || openTabs.size >= MAX_OPEN_TABS) return visit("api");
  const controller = new AbortController();
  const tab: Tab = { session, controller };
  const t0 = performance.now();
  let response: Response;
  try {
    response = await fetch(`${session.app.url}/api/session/events`, {
      headers: { cookie: session.cookie, accept: "text/event-stream" },
      signal: AbortSignal.any([controller.signal, stopping.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS + 25_000)]),
    });
  } catch (error) {
    if (stopping.signal.aborted) return;
    count("tab", "error", performance.now() - t0);
    problem(`tab at ${session.app.appId}: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  const status = response.status !== 200 && session.revoking !== undefined ? "raced-revocation" : response.status;
  count("tab", status, performance.now() - t0);
  if (status !== 200 && status !== "raced-revocation") problem(`tab at ${session.app.appId}: got ${status}, expected 200`);
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel();
    return;
  }
  tabStats.opened += 1;
  openTabs.add(tab);
  session.tabs.add(tab);
  // Held open 2–20 s (less than the 15 s heartbeat matters not), or until the session ends.
  const closer = setTimeout(
    () => {
      tabStats.closedByUs += 1;
      closeTab(tab);
    },
    2_000 + Math.random() * 18_000,
  );
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = /^event: (\w+)/m.exec(buffer.slice(0, cut))?.[1];
          buffer = buffer.slice(cut + 2);
          if (event === "ready") tabStats.ready += 1;
          if (event === "ended") {
            tab.ended = Date.now();
            tabStats.endedEvents += 1;
            if (session.revoking !== undefined) tabStats.endedAfterMs.push(tab.ended - session.revoking);
          }
        }
      }
    } catch {
      // aborted by us
    } finally {
      clearTimeout(closer);
      closeTab(tab);
    }
  })();
}

const MIX: [number, () => Promise<void>][] = [
  [8, () => (live.length < MAX_SESSIONS ? signInOne() : revokeBy("logout-token"))],
  [24, () => visit("page")],
  [24, () => visit("api")],
  [6, () => visit("userinfo")],
  [8, () => openTab()],
  [8, () => revokeBy("logout-token")],
  [5, () => revokeBy("set")],
  [2, () => revokeBy("rp-logout")],
  [15, () => probeRevoked()],
];
const MIX_TOTAL = MIX.reduce((sum, [weight]) => sum + weight, 0);

function nextOperation(): () => Promise<void> {
  if (live.length < MIN_SESSIONS) return signInOne;
  let roll = Math.random() * MIX_TOTAL;
  for (const [weight, run] of MIX) {
    roll -= weight;
    if (roll < 0) return run;
  }
  return MIX[0]![1];
}

// ---------------------------------------------------------------- reports

let lastCounts = new Map<string, number>();
let lastOps = 0;
let lastReportAt = Date.now();

function sample(): (typeof memory)[number] {
  const apps: Record<string, number | undefined> = {};
  for (const app of stack.apps) {
    const pids = processTree(app.process.pid!);
    const sizes = pids.map((pid) => rssKb(pid));
    apps[app.appId] = sizes.every((s) => s === undefined) ? undefined : sizes.reduce<number>((sum, s) => sum + (s ?? 0), 0);
  }
  const entry = { at: Date.now(), apps, runner: rssKb("self"), heapMb: process.memoryUsage().heapUsed / 1048576 };
  memory.push(entry);
  return entry;
}

function byStatus(map: Map<string, number>, since?: Map<string, number>): string {
  const statuses = new Map<string, number>();
  for (const [key, n] of map) {
    const status = key.slice(key.indexOf(" ") + 1);
    const delta = n - (since?.get(key) ?? 0);
    if (delta) statuses.set(status, (statuses.get(status) ?? 0) + delta);
  }
  return (
    [...statuses]
      .sort()
      .map(([s, n]) => `${s}:${n}`)
      .join(" ") || "none"
  );
}

const fivexx = (map: Map<string, number>) => [...map].filter(([key]) => /^\S+ 5\d\d$/.test(key)).reduce((sum, [, n]) => sum + n, 0);

function report(): void {
  const now = Date.now();
  const m = sample();
  const ops = operations - lastOps;
  const perSecond = ops / ((now - lastReportAt) / 1000);
  console.log(
    `[${clock()}] ops ${ops} (${perSecond.toFixed(1)}/s; ${operations} in all) | ${byStatus(counts, lastCounts)} | 5xx ${fivexx(counts) - fivexx(lastCounts)} (${fivexx(counts)} in all), problems ${problemCount}, revoked served ${revokedServed}`,
  );
  console.log(
    `         sessions live ${live.length}, revoked ${revoked.length} kept | tabs open ${openTabs.size}, opened ${tabStats.opened}, ended events ${tabStats.endedEvents}, missed ${tabStats.missedEnded} | RSS ${stack.apps.map((a) => `${a.appId} ${mb(m.apps[a.appId])}`).join(", ")}, runner (IdP + gateway + driver) ${mb(m.runner)}, heap ${m.heapMb.toFixed(0)} MB`,
  );
  lastCounts = new Map(counts);
  lastOps = operations;
  lastReportAt = now;
}

function summary(seconds: number, store: string): void {
  console.log(`\n==== soak summary: ${(seconds / 60).toFixed(1)} min, ${store}, target ${RATE} ops/s ====`);
  console.log(`operations ${operations} (${(operations / seconds).toFixed(1)}/s), by status: ${byStatus(counts)}`);
  console.log(
    `errors: 5xx ${fivexx(counts)}, problems (any unexpected status or error) ${problemCount}, revoked sessions served ${revokedServed}`,
  );
  console.log(
    `  ${"operation".padEnd(14)} ${"count".padStart(6)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"max ms".padStart(8)}   statuses`,
  );
  for (const [kind, values] of [...latencies].sort()) {
    const statuses = [...counts]
      .filter(([key]) => key.startsWith(`${kind} `))
      .map(([key, n]) => `${key.slice(kind.length + 1)}:${n}`)
      .join(" ");
    console.log(
      `  ${kind.padEnd(14)} ${String(values.length).padStart(6)} ${percentile(values, 50).toFixed(1).padStart(8)} ${percentile(values, 95).toFixed(1).padStart(8)} ${Math.max(
        ...values,
      )
        .toFixed(1)
        .padStart(8)}   ${statuses}`,
    );
  }
  const ended = tabStats.endedAfterMs;
  console.log(
    `tabs: opened ${tabStats.opened}, ready ${tabStats.ready}, closed by the driver ${tabStats.closedByUs}, ended events ${tabStats.endedEvents} (after the revocation was sent: p50 ${percentile(ended, 50).toFixed(0)} ms, p95 ${percentile(ended, 95).toFixed(0)} ms, max ${ended.length ? Math.max(...ended).toFixed(0) : "n/a"} ms), missed ${tabStats.missedEnded}`,
  );
  console.log("memory (VmRSS, MB) every 30 s:");
  const names = stack.apps.map((a) => a.appId);
  console.log(`  ${"time".padEnd(6)} ${names.map((n) => n.padStart(10)).join(" ")} ${"runner".padStart(8)} ${"heap".padStart(6)}`);
  for (const m of memory) {
    const t = Math.round((m.at - startedAt) / 1000);
    const row = names.map((n) => (m.apps[n] === undefined ? "gone" : (m.apps[n]! / 1024).toFixed(0)).padStart(10)).join(" ");
    console.log(
      `  ${`${Math.floor(t / 60)}:${String(t % 60).padStart(2, "0")}`.padEnd(6)} ${row} ${(m.runner === undefined ? "?" : (m.runner / 1024).toFixed(0)).padStart(8)} ${m.heapMb.toFixed(0).padStart(6)}`,
    );
  }
  const first = memory[0];
  const last = memory.at(-1);
  if (first && last)
    console.log(
      `growth first → last sample: ${names.map((n) => `${n} ${(((last.apps[n] ?? 0) - (first.apps[n] ?? 0)) / 1024).toFixed(0)} MB`).join(", ")}, runner ${(((last.runner ?? 0) - (first.runner ?? 0)) / 1024).toFixed(0)} MB`,
    );
  if (problems.length) console.log(`first problems:\n  ${problems.join("\n  ")}`);
}

// ---------------------------------------------------------------- main

const useRedis = await redisAnswers(REDIS_URL);
const store = useRedis ? `real Redis at ${REDIS_URL}` : "the gateway's embedded store (no Redis answered)";
const keyPrefix = `lockstep-soak:${randomBytes(6).toString("hex")}:`;

if (!SKIP_BUILD) {
  console.log("Building Lockstep (next build)...");
  await buildApp();
}

console.log(`Starting the stack on ${store}${useRedis ? `, keys under ${keyPrefix}` : ""}...`);
const stack: Stack = await startStack({
  redisUrl: useRedis ? REDIS_URL : undefined,
  keyPrefix,
  apps: [
    { appId: "bank", name: "Lockstep Bank", clientId: "lockstep-bank", clientSecret: "bank-soak-secret-0123456789", ssf: "push" },
    { appId: "brokerage", name: "Lockstep Brokerage", clientId: "lockstep-brokerage", clientSecret: "brokerage-soak-secret-012345" },
  ],
  log: process.env.SOAK_LOGS === "1" ? (source, line) => console.log(`[${source}] ${line}`) : undefined,
});

let stopped: Promise<void> | undefined;
async function stopEverything(code: number): Promise<never> {
  stopped ??= (async () => {
    stopping.abort();
    for (const tab of [...openTabs]) closeTab(tab);
    // stop() ends each app by its PID (SIGTERM, then SIGKILL after 5 s), closes the IdP and the gateway,
    // and deletes every key under this run's prefix.
    await stack.stop().catch((error: unknown) => console.error(`stopping the stack: ${String(error)}`));
    console.log(
      `Stopped every process; ${useRedis ? `deleted the keys under ${keyPrefix}` : "the embedded store is gone with the gateway"}.`,
    );
  })();
  await stopped;
  process.exit(code);
}
let interruptedAt = 0;
const onSignal = () => {
  // Ctrl-C reaches this process twice (from the terminal, and relayed by tsx's CLI): one press is one stop.
  if (interruptedAt && Date.now() - interruptedAt < 2_000) return;
  if (interruptedAt) {
    for (const app of stack.apps) if (app.process.exitCode === null) app.process.kill("SIGKILL");
    process.exit(130);
  }
  interruptedAt = Date.now();
  console.log("\nStopping (Ctrl-C again to kill at once)...");
  void stopEverything(130);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
// A hard bound on the whole run, whatever hangs.
setTimeout(
  () => {
    console.error("the soak overran its time bound; stopping");
    void stopEverything(1);
  },
  MINUTES * 60_000 + 180_000,
).unref();

console.log(
  `Soaking for ${MINUTES} min at about ${RATE} ops/s with ${WORKERS} workers: ${stack.apps.map((a) => `${a.name} ${a.url} (pid ${a.process.pid})`).join(", ")}; IdP ${stack.issuer} and gateway ${stack.gatewayUrl} in this process (pid ${process.pid}).`,
);
sample();
const soakStart = Date.now();
const deadline = soakStart + MINUTES * 60_000;
const maxOperations = Math.ceil(MINUTES * 60 * RATE * 1.1);
const reporter = setInterval(report, REPORT_EVERY_MS);
let slots = 0;

await Promise.all(
  Array.from({ length: WORKERS }, async () => {
    while (!stopping.signal.aborted && Date.now() < deadline && slots < maxOperations) {
      const slot = slots++;
      await sleep(soakStart + (slot * 1000) / RATE - Date.now());
      if (stopping.signal.aborted || Date.now() >= deadline) break;
      await nextOperation()();
    }
  }),
);
clearInterval(reporter);
for (const tab of [...openTabs]) closeTab(tab);
report();
summary((Date.now() - soakStart) / 1000, store);
await stopEverything(problemCount === 0 ? 0 : 1);
