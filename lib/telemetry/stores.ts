import { SpanKind, type AttributeValue } from "@opentelemetry/api";
import { errorType, insideSpan, instruments, telemetryOn } from "./state";
import { instrumented } from "./traced";

/**
 * Store calls: each method of a store port (lib/store/ports.ts) timed in `lockstep.store.duration`,
 * failures counted in `lockstep.store.errors` with their code, and, inside a traced operation (a
 * request, a signal, a liveness check), a span `lockstep.store <port>.<method>`. A call made on its
 * own (the tab hub's feed poll, four times a second while tabs listen) is only timed: as a trace of
 * its own it would be noise. The arguments (session ids, subjects, records) are never looked at.
 */

const PORT = "lockstep.store.port";
const METHOD = "lockstep.store.method";

/**
 * A port whose methods are reported as above: a Proxy, so that the store implementations stay as
 * they are. With telemetry off when it is built (the composition roots build once, after
 * instrumentation.ts has started the SDK), the port itself.
 */
export function tracedPort<T extends object>(port: string, target: T): T {
  if (!telemetryOn()) return target;
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(object, key, receiver) {
      const value: unknown = Reflect.get(object, key, receiver);
      if (typeof value !== "function" || typeof key !== "string" || key === "constructor") return value;
      let method = wrapped.get(key);
      if (!method) {
        const call = (...args: unknown[]) => Promise.resolve((value as (...a: unknown[]) => unknown).apply(object, args));
        const where = { [PORT]: port, [METHOD]: key };
        const record = (seconds: number, failure?: AttributeValue) => {
          const m = instruments();
          m.storeDuration.record(seconds, where);
          if (failure !== undefined) m.storeErrors.add(1, { ...where, "error.type": failure });
        };
        const spanned = instrumented<unknown[], unknown>(call, {
          name: `lockstep.store ${port}.${key}`,
          kind: SpanKind.CLIENT,
          before: () => where,
          record: (attributes, seconds) => record(seconds, attributes["error.type"]),
        });
        const timed = async (...args: unknown[]) => {
          const start = performance.now();
          let failure: string | undefined;
          try {
            return await call(...args);
          } catch (error) {
            failure = errorType(error);
            throw error;
          } finally {
            record((performance.now() - start) / 1000, failure);
          }
        };
        method = (...args: unknown[]) => (!telemetryOn() ? call(...args) : insideSpan() ? spanned(...args) : timed(...args));
        wrapped.set(key, method);
      }
      return method;
    },
  });
}

/** Every port of a set of stores (lib/store/ports.ts Stores), reported as `tracedPort` says. */
export function tracedStores<T extends object>(stores: T): T {
  if (!telemetryOn()) return stores;
  return Object.fromEntries(Object.entries(stores).map(([name, port]) => [name, tracedPort(name, port as object)])) as T;
}
