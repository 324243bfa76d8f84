import type { Attributes } from "@opentelemetry/api";
import { errorType, instruments, telemetryOn } from "./state";
import { instrumented } from "./traced";

/**
 * The guard's decision (lib/guard/guard.ts): `pass` (no session needed: an unguarded path, or a
 * public one without a session cookie), `allow` (a live session), `refuse` (with a reason: no
 * session, a cookie that does not open, or the revocation list's verdict), `fail_open` and
 * `fail_closed` (the store did not answer; GUARD_FAIL_OPEN decides).
 */
export type GuardOutcome = "pass" | "allow" | "refuse" | "fail_open" | "fail_closed";

const decisions = new WeakMap<Response, { outcome: GuardOutcome; reason?: string }>();

/** Notes which decision a guard response carries, for the guard's span and metrics; returns the response. Edge-safe. */
export function decided<T extends Response>(response: T, outcome: GuardOutcome, reason?: string): T {
  if (telemetryOn()) decisions.set(response, { outcome, reason });
  return response;
}

function decisionOf(response: Response): Attributes {
  const decision = decisions.get(response) ?? { outcome: "pass" };
  return decision.reason
    ? { "lockstep.guard.outcome": decision.outcome, "lockstep.guard.reason": decision.reason }
    : { "lockstep.guard.outcome": decision.outcome };
}

/**
 * The guard inside a span `lockstep.guard` with its decision, counted in `lockstep.guard.decisions`
 * and timed in `lockstep.guard.duration`. On the edge runtime, and wherever no SDK runs, it is the
 * guard itself behind one flag test.
 */
export function tracedGuard<A extends unknown[]>(guard: (...args: A) => Promise<Response>): (...args: A) => Promise<Response> {
  return instrumented(guard, {
    name: "lockstep.guard",
    after: decisionOf,
    failed: (error) => ({ "lockstep.guard.outcome": "error", "error.type": errorType(error) }),
    record: (attributes, seconds) => {
      const m = instruments();
      m.guardDecisions.add(1, attributes);
      m.guardDuration.record(seconds, { "lockstep.guard.outcome": attributes["lockstep.guard.outcome"] ?? "error" });
    },
  });
}
