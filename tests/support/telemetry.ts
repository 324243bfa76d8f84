/**
 * An OpenTelemetry SDK for unit tests, registered as lib/telemetry/sdk.ts registers its own, but
 * with in-memory exporters: spans go through the same scrubbing exporter as in production and are
 * kept as exported; metrics are read on demand.
 */
import { metrics, trace, type AttributeValue } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { DataPointType, MeterProvider, MetricReader, type MetricData } from "@opentelemetry/sdk-metrics";
import { FailureBursts, ScrubbingSpanExporter } from "@/lib/telemetry/sdk";
import { telemetryRegistered } from "@/lib/telemetry/state";

class ReaderOnDemand extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** One data point of a metric, flattened: its attributes and its value (a count, a sum, or a histogram's count and sum). */
export type Point = { attributes: Record<string, AttributeValue | undefined>; value: number; count?: number; sum?: number };

export type TestTelemetry = {
  /** The spans exported so far, as the collector would get them. */
  spans(): ReadableSpan[];
  /** The data points of one metric, cumulative since the start. */
  points(name: string): Promise<Point[]>;
  /** Every metric's name and data points. */
  allMetrics(): Promise<MetricData[]>;
  /** Forgets the spans exported so far. */
  clearSpans(): void;
  stop(): Promise<void>;
};

export function startTestTelemetry(): TestTelemetry {
  const exported = new InMemorySpanExporter();
  const quiet = new FailureBursts("traces", "http://127.0.0.1:1/v1/traces", () => {});
  const tracing = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ScrubbingSpanExporter(exported, quiet))] });
  tracing.register();
  const reader = new ReaderOnDemand();
  const metering = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(metering);
  telemetryRegistered(true);

  const allMetrics = async () => (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  return {
    spans: () => exported.getFinishedSpans(),
    allMetrics,
    async points(name) {
      const metric = (await allMetrics()).find((m) => m.descriptor.name === name);
      if (!metric) return [];
      return metric.dataPoints.map((p) => {
        const attributes = p.attributes as Point["attributes"];
        if (metric.dataPointType === DataPointType.HISTOGRAM) {
          const h = p.value as { count: number; sum?: number };
          return { attributes, value: h.count, count: h.count, sum: h.sum };
        }
        return { attributes, value: p.value as number };
      });
    },
    clearSpans: () => exported.reset(),
    async stop() {
      telemetryRegistered(false);
      await Promise.all([tracing.shutdown(), metering.shutdown()]);
      trace.disable();
      metrics.disable();
    },
  };
}

/** Every string a span carries out of the process: its name, attribute keys and values, its events' and links' attributes. */
export function spanStrings(span: ReadableSpan): string[] {
  const values = (attributes: Record<string, unknown> | undefined) =>
    Object.entries(attributes ?? {}).flatMap(([key, value]) => [key, ...(Array.isArray(value) ? value : [value]).map(String)]);
  return [
    span.name,
    ...values(span.attributes),
    ...span.events.flatMap((e) => [e.name, ...values(e.attributes)]),
    ...span.links.flatMap((l) => values(l.attributes)),
  ];
}
