import type { StreamLimits } from "@/lib/live/limits";
import { securityLog, type SecurityEvent } from "@/lib/log/security-log";
import type { PendingEndings } from "@/lib/revocation/pending";
import { getServer } from "./server";

/** How long a stopping process gives the outage queue and the telemetry export, at most. */
export const DRAIN_DEADLINE_MS = 2_000;

/** Something with buffered output to send before the process exits (the OpenTelemetry SDK). */
export type Flushable = { shutdown(): Promise<void> };

const within = (ms: number, work: Promise<unknown>) =>
  Promise.race([work.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms).unref())]);

/** What a drain works on: the process's streams, its outage queue and its telemetry, and where it logs. */
export type DrainParts = {
  streams: Pick<StreamLimits, "drain">;
  pending?: Pick<PendingEndings, "size" | "flush">;
  telemetry?: Flushable;
  log: (entry: SecurityEvent) => void;
  deadlineMs?: number;
};

/**
 * What a stopping server instance does, alongside Next's own signal handler (which stops accepting
 * connections, waits for the open ones, then exits):
 * 1. every open live-update stream sends `renew` and is dropped, so that its tab opens a new one at
 *    once (on another instance) and Next's wait for open connections ends; a new stream is answered
 *    503 with Retry-After: 1 (lib/live/limits.ts, app/api/session/events);
 * 2. one line, `server.drain`, says how many streams were ended and how many endings the outage queue
 *    still holds (lib/revocation/pending.ts: lost unless the store takes them before the exit);
 * 3. the queue is tried once more and the telemetry exported, for at most DRAIN_DEADLINE_MS and only
 *    as long as Next has not exited yet; a queue still holding endings then logs `pending_ending.lost`.
 */
export async function drain(parts: DrainParts): Promise<void> {
  const { pending, telemetry, log } = parts;
  const deadlineMs = parts.deadlineMs ?? DRAIN_DEADLINE_MS;
  const streams = parts.streams.drain();
  log({ event: "server.drain", outcome: "ok", streams, pending: pending?.size ?? 0 });
  await Promise.all([
    pending && pending.size > 0
      ? within(deadlineMs, pending.flush()).then(() => {
          if (pending.size > 0) log({ event: "pending_ending.lost", outcome: "error", queued: pending.size });
        })
      : undefined,
    telemetry ? within(deadlineMs, telemetry.shutdown()) : undefined,
  ]);
}

/** drain() for this process's server, once: a second call returns the first one's promise. */
export function drainServer(telemetry?: Flushable): Promise<void> {
  if (!draining) {
    const server = getServer();
    draining = drain({ streams: server.liveStreams, pending: server.ending.pending, telemetry, log: securityLog });
  }
  return draining;
}
let draining: Promise<void> | undefined;

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
