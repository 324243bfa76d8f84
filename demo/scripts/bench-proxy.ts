import http from "node:http";
import type { AddressInfo } from "node:net";
import { Redis as IORedis } from "ioredis";
import { buildApp, startStack } from "./stack";
import { percentile } from "./percentile";
import { HttpSession } from "../../tests/support/http-client";
import { signIn } from "../../tests/support/lockstep";
import { appKeys } from "../../lib/store/keys";
import { generateDpopKey } from "../../lib/api/dpop";
import type { ApiState } from "../../lib/api/state";

/**
 * `npm run bench:proxy`: what the remote-API proxy costs, on the Node variant (GUARD_RUNTIME=nodejs,
 * native Redis). One loopback upstream answers a small JSON body; in one run, with interleaved
 * rounds, the same GET at concurrency 1 and 10:
 * - direct: this process calls the upstream itself (the baseline);
 * - app floor: `/bench/guard` (a bench build's baseline route), a trivial route behind the same guard, with the same
 *   cookie: what any route of this app costs before the proxy does anything;
 * - /api/session: a route handler with the same session gate as the proxy (requireSession: the
 *   revocation list asked again, the record read), answering a small JSON body;
 * - proxied: `/api/remote/statements/<path>` through the app (guard, gate, the API token from the
 *   session's cache, the upstream call, the answer streamed back);
 * - proxied with DPoP: `/api/remote/portfolio/<path>`, the same plus a DPoP proof signed per call.
 * The steady state is measured: the API tokens are put in the session's cache (as a first call would
 * store them) so that no IdP round trip is counted; the loopback upstream does not check them.
 *
 * Then, in this process, one upstream GET over `node:http` (what lib/api/upstream.ts uses) against the
 * global `fetch` (undici), the two clients the proxy could use.
 *
 * BENCH_ROUNDS (3), BENCH_SECONDS (3), LOCKSTEP_SKIP_BUILD=1 (reuse the last Node build), TEST_REDIS_URL.
 */

const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const MAX_REQUESTS = 50_000;
const BODY = JSON.stringify({ items: [{ id: "s-1", period: "2026-11", closing_balance: "1024.50" }] });

type Mode = "direct" | "floor" | "gated" | "proxied" | "dpop";
type Sample = { latencies: number[]; seconds: number; errors: number };

function get(agent: http.Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

async function run(send: () => Promise<number>, concurrency: number): Promise<Sample> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < MAX_REQUESTS && performance.now() < deadline) {
        issued += 1;
        const t0 = performance.now();
        const status = await send().catch(() => 0);
        if (status !== 200) errors += 1;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - start) / 1000, errors };
}

const summarise = (samples: Sample[]) => {
  const latencies = samples.flatMap((s) => s.latencies);
  const seconds = samples.reduce((a, s) => a + s.seconds, 0);
  return {
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: samples.reduce((a, s) => a + s.errors, 0),
  };
};

async function upstreamServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(BODY) }).end(BODY));
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

/** The proxy's own client choice: one GET over node:http on a keep-alive agent against the global fetch, in this process. */
async function clientCost(upstream: string): Promise<void> {
  const url = new URL(`${upstream}/client`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  const viaNode = () => get(agent, url, {});
  const viaFetch = async () => {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status;
  };
  console.log("\nThe upstream client, in this process (one GET; CPU per call matters more than latency here):");
  console.log(`  ${"client".padEnd(22)} ${"c".padStart(3)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"CPU µs/req".padStart(11)}`);
  for (const concurrency of [1, 10]) {
    for (const [label, send] of [
      ["node:http", viaNode],
      ["fetch (undici)", viaFetch],
    ] as const) {
      await run(send, concurrency);
      const cpu0 = process.cpuUsage();
      const sample = await run(send, concurrency);
      const cpu = process.cpuUsage(cpu0);
      const s = summarise([sample]);
      const cpuPerRequest = (cpu.user + cpu.system) / sample.latencies.length;
      console.log(
        `  ${label.padEnd(22)} ${String(concurrency).padStart(3)} ${s.rps.toFixed(0).padStart(8)} ${s.p50.toFixed(3).padStart(8)} ${cpuPerRequest.toFixed(0).padStart(11)}`,
      );
    }
  }
  agent.destroy();
}

async function main(): Promise<void> {
  const redis = new IORedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch(() => {
    throw new Error(`bench:proxy needs a Redis at ${redisUrl} (the Node variant runs on native Redis)`);
  });
  if (process.env.LOCKSTEP_SKIP_BUILD !== "1") {
    console.log("Building the Node variant (GUARD_RUNTIME=nodejs, next build)...");
    await buildApp(undefined, "nodejs", { bench: true });
  }
  const upstream = await upstreamServer();
  const keyPrefix = `lockstep-bench-proxy:${Date.now()}:`;
  const stack = await startStack({
    redisUrl,
    nativeRedis: true,
    keyPrefix,
    apps: [
      {
        appId: "bank",
        name: "Lockstep Bank",
        clientId: "lockstep-bank",
        clientSecret: "bank-bench-secret-0123456789",
        env: {
          REMOTE_API_URLS: JSON.stringify({ statements: `${upstream.url}/statements/`, portfolio: `${upstream.url}/portfolio/` }),
        },
      },
    ],
  });
  try {
    const app = stack.apps[0]!.url;
    const browser = new HttpSession();
    const landed = await signIn(browser, app, "alice", "alice-password");
    if (new URL(landed.url).pathname !== "/account") throw new Error("bench:proxy: sign-in failed");
    const cookie = browser.cookieHeader(app)!;
    const session = (await (await browser.fetch(`${app}/api/session`)).json()) as { session: { id: string; expiresAt: string } };

    // The steady state: both APIs' tokens in the session's cache, as the first call of each would leave them.
    const expiresAt = Date.now() + 3_600_000;
    const state: ApiState = {
      tokens: {
        statements: { accessToken: "bench-statements-token", tokenType: "bearer", expiresAt },
        portfolio: { accessToken: "bench-portfolio-token", tokenType: "dpop", expiresAt },
      },
      dpopKey: await generateDpopKey(),
    };
    const k = appKeys(keyPrefix, "bank");
    await redis.set(k.apiState(session.session.id), JSON.stringify(state), "PXAT", Date.parse(session.session.expiresAt));

    const base = app.replace("localhost", "127.0.0.1");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const targets: Record<Mode, () => Promise<number>> = {
      direct: () => get(agent, new URL(`${upstream.url}/statements/holdings`), {}),
      floor: () => get(agent, new URL(`${base}/bench/guard`), { cookie }),
      gated: () => get(agent, new URL(`${base}/api/session`), { cookie }),
      proxied: () => get(agent, new URL(`${base}/api/remote/statements/holdings`), { cookie, "x-csrf": "1" }),
      dpop: () => get(agent, new URL(`${base}/api/remote/portfolio/holdings`), { cookie, "x-csrf": "1" }),
    };
    for (const mode of Object.keys(targets) as Mode[]) {
      const status = await targets[mode]();
      if (status !== 200) throw new Error(`bench:proxy: ${mode} answered ${status}`);
    }
    for (const mode of Object.keys(targets) as Mode[]) await run(targets[mode], 10);

    console.log(`\nProxy benchmark, Node variant, native Redis at ${redisUrl}`);
    console.log(
      `${ROUNDS} interleaved rounds of ${SECONDS} s per mode and concurrency; the upstream answers ${BODY.length} bytes of JSON\n`,
    );
    const samples: Record<number, Record<Mode, Sample[]>> = {};
    for (const concurrency of [1, 10]) {
      samples[concurrency] = { direct: [], floor: [], gated: [], proxied: [], dpop: [] };
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const mode of Object.keys(targets) as Mode[]) samples[concurrency]![mode].push(await run(targets[mode], concurrency));
      }
    }
    const labels: Record<Mode, string> = {
      direct: "direct",
      floor: "app floor",
      gated: "/api/session",
      proxied: "proxied",
      dpop: "proxied, DPoP",
    };
    console.log(
      `  ${"mode".padEnd(16)} ${"c".padStart(3)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)}`,
    );
    const figures: Record<number, Record<Mode, ReturnType<typeof summarise>>> = {};
    for (const concurrency of [1, 10]) {
      figures[concurrency] = {
        direct: summarise(samples[concurrency]!.direct),
        floor: summarise(samples[concurrency]!.floor),
        gated: summarise(samples[concurrency]!.gated),
        proxied: summarise(samples[concurrency]!.proxied),
        dpop: summarise(samples[concurrency]!.dpop),
      };
      for (const mode of Object.keys(targets) as Mode[]) {
        const s = figures[concurrency]![mode];
        console.log(
          `  ${labels[mode].padEnd(16)} ${String(concurrency).padStart(3)} ${s.rps.toFixed(0).padStart(8)} ${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${String(s.errors).padStart(7)}`,
        );
      }
    }
    console.log("");
    for (const concurrency of [1, 10]) {
      const f = figures[concurrency]!;
      console.log(
        `  c=${concurrency}: proxied adds ${(f.proxied.p50 - f.direct.p50).toFixed(2)} ms p50 over direct, throughput ${(f.proxied.rps / f.direct.rps).toFixed(2)} of direct; ` +
          `${(f.proxied.p50 - f.floor.p50).toFixed(2)} ms over the app floor, throughput ${(f.proxied.rps / f.floor.rps).toFixed(2)} of it; ` +
          `${(f.proxied.p50 - f.gated.p50).toFixed(2)} ms over /api/session, throughput ${(f.proxied.rps / f.gated.rps).toFixed(2)} of it; ` +
          `DPoP adds ${(f.dpop.p50 - f.proxied.p50).toFixed(2)} ms p50 over proxied, throughput ${(f.dpop.rps / f.proxied.rps).toFixed(2)} of proxied`,
      );
    }
    const c10 = figures[10]!;
    const c1 = figures[1]!;
    console.log(
      `  aim (Node variant): at most +1 ms p50 (c=1: ${(c1.proxied.p50 - c1.direct.p50).toFixed(2)} ms, c=10: ${(c10.proxied.p50 - c10.direct.p50).toFixed(2)} ms) ` +
        `and at least 0.8 of direct throughput at c=10 (${(c10.proxied.rps / c10.direct.rps).toFixed(2)})`,
    );
    agent.destroy();
    await clientCost(upstream.url);
  } finally {
    await stack.stop();
    await upstream.close();
    redis.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
