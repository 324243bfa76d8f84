import type { Pipeline } from "@upstash/redis";
import type { Keys } from "@/lib/store/keys";
import type { EndReason } from "@/lib/revocation/verdict";

/** One ended session, as announced to every server instance's tab hub. */
export type EndedEvent = { id: string; at: number; lsid: string; reason: EndReason };

/** How long the feed keeps an event: long enough for every instance's poller to see it. */
export const FEED_RETENTION_MS = 60_000;

/**
 * Adds "this session ended" to the feed, in the caller's transaction, so that the revocation and
 * its announcement are written together. Old entries are trimmed and the key has a TTL.
 */
export function announceEnded(tx: Pipeline, k: Keys, lsid: string, reason: EndReason, now = Date.now()): EndedEvent {
  const event: EndedEvent = { id: crypto.randomUUID(), at: now, lsid, reason };
  tx.zadd(k.endedFeed(), { score: now, member: JSON.stringify(event) });
  tx.zremrangebyscore(k.endedFeed(), 0, now - FEED_RETENTION_MS);
  tx.pexpire(k.endedFeed(), FEED_RETENTION_MS * 2);
  return event;
}

/** One line of a user's activity log on the dashboard. */
export type ActivityEntry = { at: number; session: string; kind: "signed_in" | "token_refreshed" | "ended"; reason?: EndReason };

const LOG_LENGTH = 30;

export function logActivity(tx: Pipeline, k: Keys, iss: string, sub: string, entry: ActivityEntry, ttlSeconds: number): void {
  const key = k.activityLog(iss, sub);
  tx.lpush(key, JSON.stringify(entry));
  tx.ltrim(key, 0, LOG_LENGTH - 1);
  tx.expire(key, ttlSeconds);
}
