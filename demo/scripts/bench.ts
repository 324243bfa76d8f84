import { randomUUID } from "node:crypto";
import { redisAnswers } from "./preflight";
import http from "node:http";
import { statusOf } from "./scale-support";
import { buildApp, startStack, type GuardRuntime } from "./stack";
import { HttpSession } from "../../tests/support/http-client";
import { signIn } from "../../tests/support/lockstep";
import { benchTabs } from "./bench-tabs";
import { percentile } from "./percentile";

/**
 * `npm run bench`: for each variant (the edge guard on REST, the Node guard on native Redis), builds
 * it, starts the stack, signs in for a real session cookie, then measures in one run the same tiny
 * route with no middleware (/bench/raw.txt), a bare pass-through middleware (/bench/bare) and the full
 * guard (/bench/guard); a trivial POST route (/bench/post), back-channel logout tokens and SETs; and
 * the live tabs. Rounds interleave the modes so that noise on a shared machine hits them
 * alike. Every loop is bounded in requests and in time. A summary table ends the run.
 */

const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS_PER_RUN = Number(process.env.BENCH_SECONDS ?? 3);
const MAX_REQUESTS_PER_RUN = 50_000;
const WARMUP = 300;

type Sample = { latencies: number[]; seconds: number; errors: number };

async function run(url: URL, cookie: string, concurrency: number, requests: number, seconds: number): Promise<Sample> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < requests && performance.now() < deadline) {
        issued += 1;
        const t0 = performance.now();
        const status = await statusOf(agent, url, cookie).catch(() => 0);
        if (status !== 200) errors += 1;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  agent.destroy();
  return { latencies, seconds: (performance.now() - start) / 1000, errors };
}

/** Signs in `count` distinct sessions (each its own browser, so its own IdP session and sid). */
async function liveSessions(app: string, count: number): Promise<{ sub: string; sid: string }[]> {
  const sessions: { sub: string; sid: string }[] = [];
  for (let i = 0; i < count; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, count - i) }, async () => {
        const browser = new HttpSession();
        await signIn(browser, app, "alice", "alice-password");
        const body = (await (await browser.fetch(`${app}/api/session`)).json()) as {
          user: { sub: string };
          session: { idp: { sid: string } };
        };
        return { sub: body.user.sub, sid: body.session.idp.sid };
      }),
    );
    sessions.push(...batch);
  }
  return sessions;
}

/** Enough that the concurrency-10 level lasts over a second on this machine (at 100 it lasted about half of one, and moved run to run). */
const TOKENS_PER_LEVEL = 300;

/**
 * A receiver's rate and the trivial POST route's (the receivers' baseline, /bench/post), measured
 * right before and right after it at the same concurrency, as their mean: a burst of load from
 * elsewhere on this shared machine then hits the baseline as it hits the receiver.
 */
type Paired = { rate: number; post: number };

/** The trivial POST's rate at this concurrency, on either side of `measure`. */
async function pairedWithPost(app: string, concurrency: number, measure: () => Promise<number>): Promise<Paired> {
  const before = await postRate(app, concurrency);
  const rate = await measure();
  const after = await postRate(app, concurrency);
  return { rate, post: (before + after) / 2 };
}

/** Valid logout tokens, each for a distinct live session, posted at concurrency 1 and 10: tokens/s per level. */
async function benchBackchannel(stack: Awaited<ReturnType<typeof startStack>>, app: string): Promise<Record<number, Paired>> {
  const rates: Record<number, Paired> = {};
  console.log(`Back-channel logout: ${TOKENS_PER_LEVEL} valid tokens per concurrency level, each ending a distinct live session`);
  console.log(
    `  ${"concurrency".padEnd(12)} ${"tokens/s".padStart(9)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)} ${"POST/s".padStart(7)}   mean ms per stage (Server-Timing)`,
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  const target = new URL("/api/backchannel-logout", app.replace("localhost", "127.0.0.1"));
  for (const concurrency of [1, 10]) {
    const sessions = await liveSessions(app, TOKENS_PER_LEVEL);
    const now = Math.floor(Date.now() / 1000);
    const bodies = await Promise.all(
      sessions.map(async (s) =>
        new URLSearchParams({
          logout_token: await stack.idp.sign({
            iss: stack.issuer,
            aud: "lockstep-bank",
            sub: s.sub,
            sid: s.sid,
            jti: randomUUID(),
            iat: now,
            exp: now + 120,
            events: { "http://schemas.openid.net/event/backchannel-logout": {} },
          }),
        }).toString(),
      ),
    );
    const latencies: number[] = [];
    const stages: Record<string, number[]> = {};
    let errors = 0;
    let next = 0;
    let seconds = 0;
    const paired = await pairedWithPost(app, concurrency, async () => {
      const start = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < bodies.length) {
            const body = bodies[next++]!;
            const t0 = performance.now();
            const { status, timing } = await new Promise<{ status: number; timing: string }>((resolve, reject) => {
              const req = http.request(
                target,
                { method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded" } },
                (res) => {
                  res.resume();
                  res.on("end", () => resolve({ status: res.statusCode ?? 0, timing: String(res.headers["server-timing"] ?? "") }));
                },
              );
              req.on("error", reject);
              req.end(body);
            });
            latencies.push(performance.now() - t0);
            if (status !== 200) errors += 1;
            for (const m of timing.matchAll(/(\w+);dur=([\d.]+)/g)) (stages[m[1]!] ??= []).push(Number(m[2]));
          }
        }),
      );
      seconds = (performance.now() - start) / 1000;
      return latencies.length / seconds;
    });
    const sorted = latencies.sort((a, b) => a - b);
    rates[concurrency] = paired;
    const stageText = Object.entries(stages)
      .map(([stage, values]) => `${stage} ${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(2)}`)
      .join(", ");
    console.log(
      `  ${String(concurrency).padEnd(12)} ${(sorted.length / seconds).toFixed(0).padStart(9)} ${percentile(sorted, 50).toFixed(2).padStart(8)} ${percentile(sorted, 99).toFixed(2).padStart(8)} ${String(errors).padStart(7)} ${paired.post.toFixed(0).padStart(7)}   ${stageText}`,
    );
  }
  agent.destroy();
  return rates;
}

const SETS = 300;

/** Valid SETs (CAEP session-revoked, each for its own subject) pushed at concurrency 10: SETs/s. */
async function benchSsf(stack: Awaited<ReturnType<typeof startStack>>): Promise<Paired> {
  const app = stack.apps[0]!;
  const target = new URL("/api/ssf/events", app.url.replace("localhost", "127.0.0.1"));
  const now = Math.floor(Date.now() / 1000);
  const bodies = await Promise.all(
    Array.from({ length: SETS }, (_, i) =>
      stack.idp.sign(
        {
          iss: stack.issuer,
          jti: randomUUID(),
          iat: now,
          aud: app.url,
          sub_id: { format: "iss_sub", iss: stack.issuer, sub: `bench-user-${i}` },
          events: { "https://schemas.openid.net/secevent/caep/event-type/session-revoked": { event_timestamp: now } },
        },
        { header: { typ: "secevent+jwt" } },
      ),
    ),
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  let seconds = 0;
  const paired = await pairedWithPost(app.url, 10, async () => {
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          const t0 = performance.now();
          const status = await new Promise<number>((resolve, reject) => {
            const req = http.request(
              target,
              {
                method: "POST",
                agent,
                headers: { "content-type": "application/secevent+jwt", authorization: app.env!.SSF_PUSH_AUTHORIZATION! },
              },
              (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
              },
            );
            req.on("error", reject);
            req.end(body);
          });
          latencies.push(performance.now() - t0);
          if (status !== 202) errors += 1;
        }
      }),
    );
    seconds = (performance.now() - start) / 1000;
    return latencies.length / seconds;
  });
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  console.log(`Shared Signals push: ${SETS} valid SETs (session-revoked, distinct subjects) at concurrency 10`);
  console.log(
    `  ${(sorted.length / seconds).toFixed(0)} SETs/s accepted, p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, ${errors} errors; trivial POST ${paired.post.toFixed(0)}/s around it\n`,
  );
  return paired;
}

const POSTS = 400;

/** The receivers' baseline: a trivial POST route handler (/bench/post reads its body and answers 200), requests/s at one concurrency. */
async function postRate(app: string, concurrency: number): Promise<number> {
  const target = new URL("/bench/post", app.replace("localhost", "127.0.0.1"));
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < POSTS) {
        next += 1;
        const status = await new Promise<number>((resolve, reject) => {
          const req = http.request(
            target,
            { method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded" } },
            (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            },
          );
          req.on("error", reject);
          req.end("logout_token=x");
        });
        if (status !== 200) errors += 1;
      }
    }),
  );
  const rate = POSTS / ((performance.now() - start) / 1000);
  agent.destroy();
  if (errors) throw new Error(`bench: /bench/post answered ${errors} non-200s`);
  return rate;
}

type GuardFigures = Record<
  1 | 10,
  { rps: number; p50: number; p99: number; bare: { rps: number; p50: number }; raw: { rps: number; p50: number } }
>;

/** The guard against a bare middleware and no middleware, interleaved rounds per concurrency level. */
async function benchGuard(base: string, cookie: string): Promise<Partial<GuardFigures>> {
  const figures: Partial<GuardFigures> = {};
  const modes = ["raw", "bare", "guard"] as const;
  /** The path of each mode: the no-middleware baseline ends in `.txt`, which the guard's matcher skips. */
  const pathOf = (mode: (typeof modes)[number]) => `/bench/${mode === "raw" ? "raw.txt" : mode}`;
  const labels = { raw: "no middleware", bare: "bare middleware", guard: "full guard" };
  for (const concurrency of process.env.BENCH_QUICK === "1" ? ([1] as const) : ([1, 10] as const)) {
    const results = Object.fromEntries(modes.map((m) => [m, { latencies: [] as number[], seconds: 0, count: 0, errors: 0 }]));
    for (const mode of modes) await run(new URL(pathOf(mode), base), cookie, concurrency, WARMUP, 10);
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of modes) {
        const sample = await run(new URL(pathOf(mode), base), cookie, concurrency, MAX_REQUESTS_PER_RUN, SECONDS_PER_RUN);
        const r = results[mode]!;
        r.latencies.push(...sample.latencies);
        r.seconds += sample.seconds;
        r.count += sample.latencies.length;
        r.errors += sample.errors;
      }
    }
    console.log(`concurrency ${concurrency}`);
    console.log(`  ${"mode".padEnd(16)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)}`);
    const summary: Record<string, { rps: number; p50: number; p99: number }> = {};
    for (const mode of modes) {
      const r = results[mode]!;
      const sorted = r.latencies.sort((a, b) => a - b);
      const s = { rps: r.count / r.seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
      summary[mode] = s;
      console.log(
        `  ${labels[mode].padEnd(16)} ${s.rps.toFixed(0).padStart(8)} ${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${String(r.errors).padStart(7)}`,
      );
    }
    const { raw, bare, guard } = summary as Record<(typeof modes)[number], { rps: number; p50: number; p99: number }>;
    figures[concurrency] = { ...guard, bare, raw };
    console.log(
      `  guard / bare throughput ${(guard.rps / bare.rps).toFixed(2)}, guard / none ${(guard.rps / raw.rps).toFixed(2)}; ` +
        `guard adds ${(guard.p50 - bare.p50).toFixed(2)} ms p50 over bare, ${(guard.p50 - raw.p50).toFixed(2)} ms over none\n`,
    );
  }
  return figures;
}

type VariantFigures = {
  guard: Partial<GuardFigures>;
  backchannel?: Record<number, Paired>;
  ssf?: Paired;
};

const variantLabels: Record<GuardRuntime, string> = { edge: "edge guard, REST (gateway)", nodejs: "Node guard, native Redis" };

/** The tab benchmark; a run that stalls (bench-tabs.ts bounds each) is reported, and the other figures are still printed. */
async function tabsOrSay(stack: Awaited<ReturnType<typeof startStack>>, useRedis: boolean): Promise<void> {
  try {
    await benchTabs(stack, useRedis ? redisUrl : undefined);
  } catch (error) {
    console.log(`  the tab benchmark stopped: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

/** Builds one variant, starts its stack, and measures it. */
async function benchVariant(runtime: GuardRuntime, useRedis: boolean): Promise<VariantFigures> {
  const native = runtime === "nodejs";
  console.log(`\n=== ${variantLabels[runtime]} (GUARD_RUNTIME=${runtime}) ===`);
  // LOCKSTEP_SKIP_BUILD=1 reuses the last build of this variant, as the tests do.
  if (process.env.LOCKSTEP_SKIP_BUILD !== "1") {
    console.log(`Building (next build)...`);
    await buildApp(undefined, runtime, { bench: true });
  }
  const stack = await startStack({
    redisUrl: useRedis ? redisUrl : undefined,
    nativeRedis: native,
    keyPrefix: `lockstep-bench:${Date.now()}:`,
    apps: [
      {
        appId: "bank",
        name: "Lockstep Bank",
        clientId: "lockstep-bank",
        clientSecret: "bank-bench-secret-0123456789",
        ssf: "push",
      },
      { appId: "brokerage", name: "Lockstep Brokerage", clientId: "lockstep-brokerage", clientSecret: "brokerage-bench-secret-0123" },
    ],
  });
  try {
    // BENCH_ONLY=tabs: the live-tab part alone.
    if (process.env.BENCH_ONLY === "tabs") {
      await tabsOrSay(stack, useRedis);
      return { guard: {} };
    }
    const app = stack.apps[0]!.url;
    const browser = new HttpSession();
    const landed = await signIn(browser, app, "alice", "alice-password");
    if (new URL(landed.url).pathname !== "/account") throw new Error("bench: sign-in failed");
    const cookie = browser.cookieHeader(app)!;
    // Measure over 127.0.0.1 directly: the app listens there, and this skips name resolution.
    const base = app.replace("localhost", "127.0.0.1");

    const store = native
      ? `real Redis at ${redisUrl}, native (ioredis)`
      : useRedis
        ? `real Redis at ${redisUrl} via the gateway`
        : "the gateway's embedded store";
    console.log(`\nGuard benchmark: Redis = ${store}`);
    console.log(
      `${ROUNDS} interleaved rounds of ${SECONDS_PER_RUN} s (at most ${MAX_REQUESTS_PER_RUN} requests) per mode and concurrency\n`,
    );
    // BENCH_ONLY=receivers: the back-channel logout and Shared Signals parts alone, each with its trivial-POST baseline.
    if (process.env.BENCH_ONLY === "receivers") {
      return { guard: {}, backchannel: await benchBackchannel(stack, app), ssf: await benchSsf(stack) };
    }
    const figures: VariantFigures = { guard: await benchGuard(base, cookie) };
    if (process.env.BENCH_QUICK !== "1") {
      figures.backchannel = await benchBackchannel(stack, app);
      figures.ssf = await benchSsf(stack);
      await tabsOrSay(stack, useRedis);
    }
    return figures;
  } finally {
    await stack.stop();
  }
}

const f0 = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(0));
const f2 = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(2));

/** One table for every variant measured in this run. */
function printSummary(all: Partial<Record<GuardRuntime, VariantFigures>>): void {
  console.log(`\n=== Summary (one run; ratios against baselines measured in the same run and variant) ===`);
  const rows: string[][] = [
    [
      "variant",
      "c",
      "guard req/s",
      "/ bare",
      "/ none",
      "p50 ms",
      "+p50 vs bare",
      "p99 ms",
      "BCL tokens/s",
      "/ POST",
      "SETs/s (c=10)",
      "/ POST",
    ],
  ];
  for (const [runtime, v] of Object.entries(all) as [GuardRuntime, VariantFigures][]) {
    for (const c of [1, 10] as const) {
      const g = v.guard[c];
      const bcl = v.backchannel?.[c];

      if (!g && bcl === undefined) continue;
      rows.push([
        variantLabels[runtime],
        String(c),
        f0(g?.rps),
        g ? f2(g.rps / g.bare.rps) : "-",
        g ? f2(g.rps / g.raw.rps) : "-",
        f2(g?.p50),
        g ? f2(g.p50 - g.bare.p50) : "-",
        f2(g?.p99),
        f0(bcl?.rate),
        bcl ? f2(bcl.rate / bcl.post) : "-",
        c === 10 ? f0(v.ssf?.rate) : "",
        c === 10 && v.ssf ? f2(v.ssf.rate / v.ssf.post) : "",
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(`  ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")}`);
}

async function main() {
  const useRedis = await redisAnswers(redisUrl);
  // BENCH_VARIANTS=edge or =nodejs measures one; the Node variant needs a real Redis.
  const asked = (process.env.BENCH_VARIANTS ?? "edge,nodejs").split(",").map((v) => v.trim()) as GuardRuntime[];
  const usable = asked.filter((v) => v === "edge" || (v === "nodejs" && useRedis));
  if (asked.includes("nodejs") && !useRedis) console.log(`No Redis answers at ${redisUrl}: the Node variant (native Redis) is skipped.`);
  const all: Partial<Record<GuardRuntime, VariantFigures>> = {};
  // The tab benchmark runs in each variant: the tabs' path skips the guard, but not the route
  // handlers' store (REST through the gateway, or native Redis), which every sign-out and signal waits on.
  for (const runtime of usable) all[runtime] = await benchVariant(runtime, useRedis);
  printSummary(all);
}

await main();
