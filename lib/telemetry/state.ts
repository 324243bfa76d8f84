import {
  context,
  metrics,
  ROOT_CONTEXT,
  trace,
  ValueType,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Tracer,
  type UpDownCounter,
} from "@opentelemetry/api";

/**
 * Lockstep's tracer, meter and instruments. Depends on `@opentelemetry/api` alone, which is edge-safe
 * and does nothing until an SDK registers: on the edge runtime none ever does. Every hook in the
 * rest of the code first asks `telemetryOn()`, a read of one global flag, and does nothing more
 * when it is off.
 */

/** The instrumentation scope of every span and metric Lockstep makes. */
export const SCOPE = "lockstep";

/**
 * Set by lib/telemetry/sdk.ts once its SDK is registered (or by `telemetryRegistered` for an SDK of
 * your own). On globalThis, since Next bundles each route with its own copy of this module.
 */
const ON = Symbol.for("lockstep.telemetry.on");
type Shared = { [ON]?: boolean };

/** Whether an OpenTelemetry SDK records what Lockstep reports, in this process. */
export function telemetryOn(): boolean {
  return (globalThis as Shared)[ON] === true;
}

/**
 * Tells Lockstep that an OpenTelemetry SDK is registered in this process (true) or no longer is
 * (false). instrumentation.ts does it for the SDK it starts; call it yourself after registering
 * another one (e.g. @vercel/otel) to get Lockstep's spans and metrics through it.
 */
export function telemetryRegistered(on: boolean): void {
  (globalThis as Shared)[ON] = on;
}

export function tracer(): Tracer {
  return trace.getTracer(SCOPE);
}

/** Whether a span is being recorded around the code running now (a request's, a signal's), so that a span made here has a parent. */
export function insideSpan(): boolean {
  return trace.getActiveSpan()?.isRecording() === true;
}

/**
 * `fn`, to run later outside the trace of whatever schedules it: the work of a loop that a request
 * starts (the tab hub's feed poll, a stream's heartbeat) is no part of that request, which may stay
 * open for hours. With telemetry off, `fn` itself.
 */
export function detached<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  if (!telemetryOn()) return fn;
  return (...args) => context.with(ROOT_CONTEXT, () => fn(...args));
}

/** Seconds, for every duration (OpenTelemetry's semantic conventions). */
const quick = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** From a signal's sending to its ending at a tab: whole-second `iat`s and liveness intervals included. */
const propagation = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

function createInstruments(meter: Meter) {
  const seconds = (name: string, description: string, boundaries: number[]): Histogram =>
    meter.createHistogram(name, { description, unit: "s", advice: { explicitBucketBoundaries: boundaries } });
  const count = (name: string, description: string, unit: string): Counter =>
    meter.createCounter(name, { description, unit, valueType: ValueType.INT });
  return {
    guardDecisions: count("lockstep.guard.decisions", "Requests the guard decided on, by outcome and reason.", "{request}"),
    guardDuration: seconds("lockstep.guard.duration", "How long the guard took to decide, by outcome.", quick),
    signals: count(
      "lockstep.signals",
      "Signals received (logout tokens, front-channel requests, SETs, logouts, liveness checks), by receiver and outcome.",
      "{signal}",
    ),
    sessionsEnded: count("lockstep.sessions.ended", "Sessions ended, by mechanism (who carried the news) and reason.", "{session}"),
    sentToRecorded: seconds(
      "lockstep.ending.sent_to_recorded",
      "From the time the sender dated a signal (its iat) to the ending being stored, by mechanism.",
      propagation,
    ),
    recordedToTab: seconds(
      "lockstep.ending.recorded_to_tab",
      "From an ending being stored to an open tab's event stream being told, by mechanism.",
      propagation,
    ),
    openStreams: meter.createUpDownCounter("lockstep.live.streams", {
      description: "Open tabs' event streams (GET /api/session/events) on this instance.",
      unit: "{stream}",
      valueType: ValueType.INT,
    }) as UpDownCounter,
    idpDuration: seconds("lockstep.idp.duration", "Lockstep's own requests to the IdP, by endpoint and status.", quick),
    idpErrors: count("lockstep.idp.errors", "IdP requests that got no answer (network, timeout) or a 429 or 5xx.", "{request}"),
    storeDuration: seconds("lockstep.store.duration", "Store calls, by port and method.", quick),
    storeErrors: count("lockstep.store.errors", "Store calls that failed, by port and method.", "{call}"),
  };
}

export type Instruments = ReturnType<typeof createInstruments>;

let cached: { provider: MeterProvider; instruments: Instruments } | undefined;

/**
 * The instruments on the meter provider registered now. Made on first use (the API's meters made
 * before an SDK registers stay no-ops), and made again if another provider is registered.
 */
export function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (cached?.provider !== provider) cached = { provider, instruments: createInstruments(provider.getMeter(SCOPE)) };
  return cached.instruments;
}

/**
 * A failure's name for the `error.type` attribute: its stable `code` when it has one (StoreError,
 * LogoutTokenError, Node's ECONNREFUSED...), else its class name. Never its message, which may
 * carry what it failed on.
 */
export function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === "string" && /^[A-Za-z0-9_]{1,64}$/.test(name) ? name : "error";
}
