import type { EndDeps, EndOptions, EndOutcome, EndTarget } from "@/lib/revocation/end-sessions";
import type { EndReason } from "@/lib/session/ending";
import type { EndedEvent } from "@/lib/store/ports";
import { instruments, telemetryOn } from "./state";
import { instrumented } from "./traced";

/**
 * Endings: the `lockstep.end_sessions` span, the `lockstep.sessions.ended` counter, the two legs of
 * propagation delay (`lockstep.ending.sent_to_recorded`, `lockstep.ending.recorded_to_tab`) and the
 * open streams. Attributes say which mechanism and reason, how many, never which session or user.
 */

type EndSessions = (deps: EndDeps, targets: readonly EndTarget[], reason: EndReason, options?: EndOptions) => Promise<EndOutcome>;

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/** Counts stored endings, and times each from its sender's date (a logout token's or SET's iat) when it has one. */
function recordStored(events: readonly EndedEvent[]): void {
  const m = instruments();
  for (const event of events) {
    const mechanism = event.mechanism ?? "unknown";
    m.sessionsEnded.add(1, { "lockstep.end.mechanism": mechanism, "lockstep.end.reason": event.reason });
    if (event.sentAt !== undefined) m.sentToRecorded.record(seconds(event.at - event.sentAt), { "lockstep.end.mechanism": mechanism });
  }
}

/**
 * endSessions (lib/revocation/end-sessions.ts) inside a span `lockstep.end_sessions`; the endings
 * it stores are counted as the store hands them to the tab hub (EndDeps.onEnded).
 */
export function tracedEndSessions(fn: EndSessions): EndSessions {
  const spanned = instrumented(fn, {
    name: "lockstep.end_sessions",
    before: (_deps, targets, reason, options) => ({
      "lockstep.end.reason": reason,
      "lockstep.end.mechanism": options?.detail?.mechanism ?? "unknown",
      "lockstep.end.targets": targets.length,
      "lockstep.end.target_kinds": [...new Set(targets.map((t) => t.kind))].sort().join(","),
    }),
    after: (outcome) => ({
      "lockstep.end.result": outcome.result,
      "lockstep.end.sessions": outcome.ended.length,
      ...(outcome.cleanupDeferred ? { "lockstep.end.cleanup_deferred": true } : {}),
      ...(outcome.cleanupFailed ? { "lockstep.end.cleanup_failed": true } : {}),
    }),
  });
  return (deps, targets, reason, options) => {
    if (!telemetryOn()) return fn(deps, targets, reason, options);
    const counted: EndDeps = {
      ...deps,
      onEnded: (events) => {
        recordStored(events);
        deps.onEnded?.(events);
      },
    };
    return spanned(counted, targets, reason, options);
  };
}

/**
 * An open tab's event stream is about to be told that its session ended (app/api/session/events):
 * the time since the ending was stored. Only endings that came through the hub count (they carry
 * `at`, the time they were stored); a session's own expiry is no news that travelled.
 */
export function tabTold(event: { reason: string; mechanism?: string; at?: number }): void {
  if (!telemetryOn() || event.at === undefined || event.reason === "expired") return;
  instruments().recordedToTab.record(seconds(Date.now() - event.at), { "lockstep.end.mechanism": event.mechanism ?? "unknown" });
}

/** A tab's event stream opened: counted in `lockstep.live.streams` until the returned function is called (once). */
export function streamOpened(): () => void {
  if (!telemetryOn()) return () => {};
  const streams = instruments().openStreams;
  streams.add(1);
  let open = true;
  return () => {
    if (open) streams.add(-1);
    open = false;
  };
}
