import type { Config } from "@/lib/config";

/** Where each signal goes, and as whom: what instrumentation.ts starts the SDK with (lib/telemetry/sdk.ts). */
export type TelemetryPlan = {
  /** The OTLP/HTTP URL spans are POSTed to; undefined: no traces. */
  traces?: string;
  /** The OTLP/HTTP URL metrics are POSTed to; undefined: no metrics. */
  metrics?: string;
  serviceName: string;
  metricIntervalMs: number;
  guardRuntime: Config["GUARD_RUNTIME"];
};

type TelemetrySettings = Pick<
  Config,
  | "OTEL_EXPORTER_OTLP_ENDPOINT"
  | "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
  | "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
  | "OTEL_SERVICE_NAME"
  | "OTEL_METRIC_EXPORT_INTERVAL"
  | "OTEL_SDK_DISABLED"
  | "APP_ID"
  | "GUARD_RUNTIME"
>;

/**
 * The plan from the settings, or undefined when nothing is to be exported (no endpoint, or
 * OTEL_SDK_DISABLED): then no SDK is even loaded. As the OTLP exporter specification says, a
 * per-signal endpoint is used as it is, and the general one gets `/v1/traces` or `/v1/metrics`
 * appended to its path.
 */
export function telemetryPlan(config: TelemetrySettings): TelemetryPlan | undefined {
  if (config.OTEL_SDK_DISABLED) return undefined;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  const traces = config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base}/v1/traces` : undefined);
  const metrics = config.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? (base ? `${base}/v1/metrics` : undefined);
  if (!traces && !metrics) return undefined;
  return {
    traces,
    metrics,
    serviceName: config.OTEL_SERVICE_NAME ?? `lockstep-${config.APP_ID}`,
    metricIntervalMs: config.OTEL_METRIC_EXPORT_INTERVAL,
    guardRuntime: config.GUARD_RUNTIME,
  };
}
