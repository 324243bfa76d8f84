import { metrics, trace } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { decide, guard, type GuardDeps } from "../../lib/guard/guard";
import { memoryStores } from "../../lib/store/memory";
import { sealHandle, type SessionHandle } from "../../lib/session/handle";
import { tracedPort } from "../../lib/telemetry/stores";
import { telemetryRegistered } from "../../lib/telemetry/state";
import { percentile } from "./percentile";

/**
 * `npm run bench:telemetry`: what Lockstep's OpenTelemetry hooks cost the guard's check, in this
 * process, with the in-memory store (so that nothing but the guard's own work is timed: a real check
 * adds a Redis round trip of 0.3 to 3 ms on top). A live session's cookie, checked again and again
 * (its opened value cached, as in steady state), in interleaved rounds of:
 * - baseline: the guard's decision without its span wrapper (lib/guard/guard.ts `decide`; its
 *   `decided(...)` notes remain, one flag test each);
 * - off: the guard as deployed with no SDK registered (no OTLP endpoint set);
 * - on: the guard with the SDK registered as instrumentation.ts registers it (a batch span processor,
 *   a meter provider), its store port wrapped as lib/compose/node-guard.ts wraps it, spans exported to
 *   an exporter that drops them and metrics aggregated but never collected: what the process pays,
 *   without the network;
 * - on, 1 in 10 sampled: the same with OTEL_TRACES_SAMPLER=parentbased_traceidratio and
 *   OTEL_TRACES_SAMPLER_ARG=0.1 (the metrics are still recorded for every call).
 * Prints the per-call time (median over rounds, and p95 of the rounds), and the ratios off/baseline
 * and on/off. BENCH_ROUNDS (15), BENCH_CALLS (20000 per round and mode).
 */

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const SECRET = "s".repeat(43);
const COOKIES = { session: "bench.session", ended: "bench.ended", secure: false } as GuardDeps["cookies"];

/** Drops every span, successfully: the SDK does all its work up to the network. */
class DroppingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    this.exported += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

class NeverCollected extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

type Check = () => Promise<Response>;

async function timed(check: Check): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) {
    const response = await check();
    if (response.status !== 200) throw new Error(`bench: the guard answered ${response.status}`);
  }
  return Number(process.hrtime.bigint() - start) / CALLS;
}

async function main(): Promise<void> {
  const stores = memoryStores({ ttlSeconds: 3600 });
  const record = {
    iss: "https://idp.example.com",
    sub: "bench-user",
    sid: "bench-sid",
    createdAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
    claims: {},
    idToken: "id-token",
  };
  const id = await stores.sessions.create(record);
  const handle: SessionHandle = { lsid: id, iss: record.iss, sub: record.sub, sid: record.sid, createdAt: record.createdAt };
  const sealed = await sealHandle(handle, SECRET, COOKIES.session, 3600);
  const request = { nextUrl: new URL("http://localhost:3000/account"), cookies: { get: () => ({ value: sealed }) } };
  const deps = (revocations: GuardDeps["revocations"]): GuardDeps => ({
    config: { AUTH_SECRET: SECRET, AUTH_URL: "http://localhost:3000", GUARD_FAIL_OPEN: false },
    revocations,
    cookies: COOKIES,
    next: () => new Response(null, { status: 200 }),
  });
  const plain = deps(stores.revocations);

  const exporter = new DroppingExporter();
  const tracing = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const sampled = new NodeTracerProvider({
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const metering = new MeterProvider({ readers: [new NeverCollected()] });
  const sdk = (provider: NodeTracerProvider) => ({
    on() {
      provider.register();
      metrics.setGlobalMeterProvider(metering);
      telemetryRegistered(true);
    },
    off() {
      telemetryRegistered(false);
      trace.disable();
      metrics.disable();
    },
  });
  const all = sdk(tracing);
  const tenth = sdk(sampled);
  all.on();
  const spanned = deps(tracedPort("revocations", stores.revocations));
  all.off();

  const modes: Record<string, { check: Check; before?: () => void; after?: () => void }> = {
    baseline: { check: () => decide(request, plain) },
    off: { check: () => guard(request, plain) },
    on: { check: () => guard(request, spanned), before: all.on, after: all.off },
    "on, 1 in 10 sampled": { check: () => guard(request, spanned), before: tenth.on, after: tenth.off },
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(modes).map((name) => [name, []]));
  // Warm-up: the cookie's opened value cached, the JIT settled on every path.
  for (const mode of Object.values(modes)) {
    mode.before?.();
    await timed(mode.check);
    mode.after?.();
  }
  const order = Object.keys(modes);
  for (let round = 0; round < ROUNDS; round++) {
    // Each round in another order, so that no mode always runs right after the same one.
    for (const name of order.map((_, i) => order[(i + round) % order.length]!)) {
      const mode = modes[name]!;
      mode.before?.();
      samples[name]!.push(await timed(mode.check));
      mode.after?.();
    }
  }
  await Promise.all([tracing.forceFlush(), sampled.forceFlush()]);
  if (exporter.exported === 0) throw new Error("bench: telemetry on made no span");

  const median = (name: string) => percentile(samples[name]!, 50);
  const row = (name: string) => `| ${name} | ${(median(name) / 1000).toFixed(2)} | ${(percentile(samples[name]!, 95) / 1000).toFixed(2)} |`;
  console.log(`Guard check, live session, in-memory store: ${ROUNDS} rounds × ${CALLS} calls per mode (Node ${process.version}).`);
  console.log("");
  console.log("| mode | µs per call (median of rounds) | p95 of rounds |");
  console.log("|---|---|---|");
  for (const name of order) console.log(row(name));
  console.log("");
  console.log(
    `off / baseline: ${(median("off") / median("baseline")).toFixed(3)} (${(median("off") - median("baseline")).toFixed(0)} ns per call)`,
  );
  for (const on of ["on", "on, 1 in 10 sampled"]) {
    console.log(
      `${on} / off: ${(median(on) / median("off")).toFixed(3)} (+${((median(on) - median("off")) / 1000).toFixed(2)} µs per call)`,
    );
  }
  console.log(`spans made with telemetry on: ${exporter.exported}`);
  await Promise.all([tracing.shutdown(), sampled.shutdown(), metering.shutdown()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
