import { securityLog } from "@/lib/log/security-log";
import { getServer } from "./server";

/** How long a stopping process gives the outage queue and the telemetry export, at most. */
export const DRAIN_DEADLINE_MS = 2_000;

/** Something with buffered output to send before the process exits (the OpenTelemetry SDK). */
export type Flushable = { shutdown(): Promise<void> };

const within = (ms: number, work: Promise<unknown>) =>
  Promise.race([work.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms).unref())]);

/**
 * What a stopping server instance does, alongside Next's own signal handler (which stops accepting
 * connections, waits for the open ones, then exits):
 * 1. every open live-update stream sends `renew` and closes, so that its tab opens a new one at once
 *    (on another instance) and Next's wait for open connections ends; a new stream is answered 503
 *    with Retry-After: 1 (lib/live/limits.ts);
 * 2. one line, `server.drain`, says how many streams were ended and how many endings the outage queue
 *    still holds (lib/revocation/pending.ts: lost unless the store takes them before the exit);
 * 3. the queue is tried once more and the telemetry exported, for at most DRAIN_DEADLINE_MS and only
 *    as long as Next has not exited yet; a queue still holding endings then logs `pending_ending.lost`.
 * Once per process: a second call returns the first one's promise.
 */
export function drainServer(telemetry?: Flushable): Promise<void> {
  return (draining ??= drain(telemetry));
}
let draining: Promise<void> | undefined;

async function drain(telemetry?: Flushable): Promise<void> {
  const server = getServer();
  const pending = server.ending.pending;
  const streams = server.liveStreams.drain();
  securityLog({ event: "server.drain", outcome: "ok", streams, pending: pending?.size ?? 0 });
  await Promise.all([
    pending && pending.size > 0
      ? within(DRAIN_DEADLINE_MS, pending.flush()).then(() => {
          if (pending.size > 0) securityLog({ event: "pending_ending.lost", outcome: "error", queued: pending.size });
        })
      : undefined,
    telemetry ? within(DRAIN_DEADLINE_MS, telemetry.shutdown()) : undefined,
  ]);
}

/**
 * Runs drainServer on the first SIGTERM (a process manager, a rolling deploy) or SIGINT (Ctrl-C). Only
 * where another handler already stops the process on them (`next start`, `next dev` and the standalone
 * server.js install one): a listener added to a process without one would keep it from exiting. With
 * NEXT_MANUAL_SIG_HANDLE set, the operator's own handler owns the signals and may call drainServer.
 */
export function drainOnSignals(telemetry?: Flushable): void {
  if (process.env.NEXT_MANUAL_SIG_HANDLE) return;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    if (process.listenerCount(signal) === 0) continue;
    process.once(signal, () => void drainServer(telemetry));
  }
}
