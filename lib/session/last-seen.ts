import type { SessionStore } from "@/lib/store/ports";

/** A session's "last seen" is written at most this often per server instance. */
export const LAST_SEEN_EVERY_MS = 60_000;
/** Bound on the remembered write times, however many sessions one instance sees. */
const MAX_REMEMBERED = 10_000;

const written = new Map<string, number>();

/**
 * Records that a session was seen, cheaply: at most once a minute per session on each instance (one
 * SET with a TTL), never on the request's path (not awaited; a failure only leaves the time older).
 */
export function noteSeen(sessions: Partial<Pick<SessionStore, "touch">>, id: string, now = Date.now()): void {
  if (!sessions.touch) return;
  const last = written.get(id);
  if (last !== undefined && now - last < LAST_SEEN_EVERY_MS) return;
  written.delete(id);
  written.set(id, now);
  if (written.size > MAX_REMEMBERED) written.delete(written.keys().next().value as string);
  sessions.touch(id, now).catch(() => written.delete(id));
}
