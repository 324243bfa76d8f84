import { deviceLabel, sessionRecordSchema, type SessionRecord } from "@/lib/session/record";
import type { EndReason } from "@/lib/revocation/verdict";
import { endDetail, type ActivityEntry, type EndLog, type SessionQuery, type StoredSession, type User } from "./ports";

/** What every store implementation does the same way with session records, whatever it keeps them in. */

export const parseRecord = (raw: string | null | undefined): SessionRecord | null =>
  raw == null ? null : sessionRecordSchema.parse(JSON.parse(raw));

/** The candidates that really match the query (an index may be stale), oldest first. */
export function matching(query: SessionQuery, candidates: readonly { id: string; record: SessionRecord | null }[]): StoredSession[] {
  const found: StoredSession[] = [];
  for (const { id, record } of candidates) {
    if (!record || record.iss !== query.iss) continue;
    if (query.sub !== undefined && record.sub !== query.sub) continue;
    if (query.sid !== undefined && record.sid !== query.sid) continue;
    found.push({ id, record });
  }
  return found.sort((a, b) => a.record.createdAt - b.record.createdAt);
}

export const signedInEntry = (id: string, record: SessionRecord): ActivityEntry => ({
  at: record.createdAt,
  session: id,
  kind: "signed_in",
  device: record.device && deviceLabel(record.device),
});

/** The log's line for an ending: at the time it took effect (`detail.at`), or else `now`. */
export const endedEntry = (id: string, record: SessionRecord, reason: EndReason, detail: EndLog, now: number): ActivityEntry => ({
  at: typeof detail.at === "number" && Number.isFinite(detail.at) ? Math.floor(detail.at) : now,
  session: id,
  kind: "ended",
  reason,
  device: record.device && deviceLabel(record.device),
  ...endDetail(detail),
});

/** A user as a member of the email index (a set of such members). */
export const userMember = (user: User): string => JSON.stringify([user.iss, user.sub]);

export function parseUserMember(member: string): User {
  const [iss, sub] = JSON.parse(member) as [string, string];
  return { iss, sub };
}

/** "Last seen" values as stored (ms since the epoch, as text or a number), null where there is none. */
export function parseLastSeen(values: readonly (string | number | null | undefined)[]): (number | null)[] {
  return values.map((v) => {
    const value = Number(v ?? Number.NaN);
    return Number.isFinite(value) ? value : null;
  });
}
