import { randomUUID } from "node:crypto";
import { metrics } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { detectResources, envDetector, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { TelemetryPlan } from "./plan";
import { scrubbedSpan } from "./scrub";
import { telemetryRegistered } from "./state";

/**
 * The OpenTelemetry SDK for the Node runtime, started by instrumentation.ts when an OTLP endpoint is
 * set (lib/telemetry/plan.ts); never imported otherwise, and never on the edge. Spans are batched
 * (BatchSpanProcessor: its queue is bounded and drops when full, OTEL_BSP_* tune it) and metrics
 * pushed every OTEL_METRIC_EXPORT_INTERVAL, both over OTLP/HTTP with JSON bodies, in the background:
 * an export that fails never reaches a request. The SDK's own standard variables (headers, timeouts,
 * compression, sampler, limits) are read by the SDK itself.
 */

type Line = { event: string; outcome: "ok" | "error"; code?: string; [field: string]: string | number | boolean | undefined };

/** One structured line on stdout, as lib/log/security-log.ts writes them, of kind `telemetry`. */
function telemetryLog(entry: Line): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), kind: "telemetry", ...entry })}\n`);
}

/** Host and port of an endpoint: never its path, query or credentials. */
const hostOf = (url: string) => new URL(url).host;

/** Why an export failed, as a code: the collector's HTTP status, or the network error's code. Never the message. */
function failureCode(error: Error | undefined): string {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number") return `http_${code}`;
    if (typeof code === "string" && /^[A-Za-z0-9_]{1,40}$/.test(code)) return code;
  }
  return error?.name === "TimeoutError" ? "timeout" : "export_failed";
}

/**
 * Says when exports to a collector start failing, once, and when they work again, once: a collector
 * that is down for an hour costs two log lines, not one per batch.
 */
export class FailureBursts {
  private failing = false;
  constructor(
    private readonly signal: "traces" | "metrics",
    private readonly endpoint: string,
    private readonly log: (line: Line) => void = telemetryLog,
  ) {}

  /** Passes an export's result through, noting the change between working and failing. */
  observe(result: ExportResult): ExportResult {
    const ok = result.code === ExportResultCode.SUCCESS;
    if (ok === !this.failing) return result;
    this.failing = !ok;
    this.log({
      event: "telemetry.export",
      outcome: ok ? "ok" : "error",
      code: ok ? "recovered" : failureCode(result.error),
      signal: this.signal,
      endpoint: hostOf(this.endpoint),
    });
    return result;
  }
}

/** Spans leave through here: scrubbed (./scrub.ts), their export watched for failure bursts. */
export class ScrubbingSpanExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly bursts: FailureBursts,
  ) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans.map(scrubbedSpan), (result) => done(this.bursts.observe(result)));
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** Metrics leave through here, their export watched for failure bursts (their attributes are Lockstep's own: nothing to scrub). */
function watchedMetricExporter(inner: PushMetricExporter, bursts: FailureBursts): PushMetricExporter {
  return {
    export: (batch: ResourceMetrics, done: (result: ExportResult) => void) => inner.export(batch, (result) => done(bursts.observe(result))),
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: inner.selectAggregationTemporality?.bind(inner),
    selectAggregation: inner.selectAggregation?.bind(inner),
  };
}

function resourceOf(plan: TelemetryPlan): Resource {
  // OTEL_RESOURCE_ATTRIBUTES first, then ours, so that OTEL_SERVICE_NAME (or lockstep-<APP_ID>) wins, as the specification says.
  return detectResources({ detectors: [envDetector] }).merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: plan.serviceName,
      "service.instance.id": randomUUID(),
      "lockstep.guard_runtime": plan.guardRuntime,
    }),
  );
}

export type RunningTelemetry = { shutdown(): Promise<void> };

/**
 * Registers the SDK's tracer and meter providers with the OpenTelemetry API for this process, then
 * tells Lockstep's hooks that they are on (lib/telemetry/state.ts). Next's own spans (one per
 * request, its rendering) go through the same provider and the same scrubbing.
 */
export function startTelemetry(plan: TelemetryPlan): RunningTelemetry {
  const resource = resourceOf(plan);
  const stops: (() => Promise<void>)[] = [];
  if (plan.traces) {
    const exporter = new ScrubbingSpanExporter(new OTLPTraceExporter({ url: plan.traces }), new FailureBursts("traces", plan.traces));
    const tracing = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
    tracing.register();
    stops.push(() => tracing.shutdown());
  }
  if (plan.metrics) {
    const exporter = watchedMetricExporter(new OTLPMetricExporter({ url: plan.metrics }), new FailureBursts("metrics", plan.metrics));
    const reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: plan.metricIntervalMs,
      exportTimeoutMillis: Math.min(30_000, plan.metricIntervalMs),
    });
    const metering = new MeterProvider({ resource, readers: [reader] });
    metrics.setGlobalMeterProvider(metering);
    stops.push(() => metering.shutdown());
  }
  telemetryRegistered(true);
  telemetryLog({
    event: "telemetry.start",
    outcome: "ok",
    service: plan.serviceName,
    traces: plan.traces ? hostOf(plan.traces) : "off",
    metrics: plan.metrics ? hostOf(plan.metrics) : "off",
    metric_interval_ms: plan.metricIntervalMs,
  });
  return {
    async shutdown() {
      telemetryRegistered(false);
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}
