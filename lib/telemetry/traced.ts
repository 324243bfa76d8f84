import { SpanKind, SpanStatusCode, type Attributes } from "@opentelemetry/api";
import { errorType, telemetryOn, tracer } from "./state";

/** How one kind of call is reported: its span's name and attributes, and the metrics it feeds. */
export type Instrumentation<A extends unknown[], R> = {
  name: string | ((...args: A) => string);
  kind?: SpanKind;
  /** Attributes known before the call. */
  before?: (...args: A) => Attributes;
  /** Attributes of its result. An `error.type` among them marks the span as failed. */
  after?: (result: R, args: A) => Attributes;
  /** Attributes of what it threw; default `error.type` (./state.ts errorType). An `error.type` marks the span as failed. */
  failed?: (error: unknown, args: A) => Attributes;
  /** Told once the call is over: every attribute of its span, and how long it took (seconds). */
  record?: (attributes: Attributes, seconds: number) => void;
};

/**
 * `fn` reported as `how` says: inside an active span (so that the spans of what it calls nest under
 * it), ended whatever happens. With telemetry off it is `fn` behind one flag test.
 */
export function instrumented<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
  how: Instrumentation<A, R>,
): (...args: A) => Promise<R> {
  return (...args) => (telemetryOn() ? run(fn, how, args) : fn(...args));
}

function run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, how: Instrumentation<A, R>, args: A): Promise<R> {
  const name = typeof how.name === "string" ? how.name : how.name(...args);
  const before = how.before?.(...args) ?? {};
  const start = performance.now();
  return tracer().startActiveSpan(name, { kind: how.kind ?? SpanKind.INTERNAL, attributes: before }, async (span) => {
    let attributes = before;
    try {
      const result = await fn(...args);
      attributes = { ...before, ...how.after?.(result, args) };
      return result;
    } catch (error) {
      attributes = { ...before, ...(how.failed ? how.failed(error, args) : { "error.type": errorType(error) }) };
      throw error;
    } finally {
      span.setAttributes(attributes);
      if (attributes["error.type"] !== undefined) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      how.record?.(attributes, (performance.now() - start) / 1000);
    }
  });
}

/** Only the attributes named, for a metric (a span may carry more than a metric should be split by). */
export function pick(attributes: Attributes, keys: readonly string[]): Attributes {
  const out: Attributes = {};
  for (const key of keys) if (attributes[key] !== undefined) out[key] = attributes[key];
  return out;
}
