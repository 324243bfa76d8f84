import { z } from "zod";
import { deviceLabel, sessionRecordSchema, type SessionRecord } from "@/lib/session/record";
import { endMechanisms, endReasons, type EndReason } from "@/lib/session/ending";
import { endDetail, type ActivityEntry, type EndLog, type EndedEvent, type SessionQuery, type StoredSession, type User } from "./ports";

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

const detailShape = { mechanism: z.enum(endMechanisms).optional(), sentAt: z.number().optional() };

const activityEntrySchema = z.object({
  at: z.number(),
  session: z.string(),
  kind: z.enum(["signed_in", "token_refreshed", "ended"]),
  reason: z.enum(endReasons).optional(),
  device: z.string().optional(),
  ...detailShape,
});

const endedEventSchema = z.object({ id: z.string(), at: z.number(), lsid: z.string(), reason: z.enum(endReasons), ...detailShape });

/** JSON lines parsed with `schema`; a line that does not parse (written by another version, or not JSON) is left out. */
function parsedLines<T>(lines: readonly string[], schema: z.ZodType<T>): T[] {
  const parsed: T[] = [];
  for (const line of lines) {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      continue;
    }
    const result = schema.safeParse(json);
    if (result.success) parsed.push(result.data);
  }
  return parsed;
}

/** A user's activity log as stored (JSON lines, newest first); an entry that does not parse is left out. */
export const parseActivity = (lines: readonly string[]): ActivityEntry[] => parsedLines(lines, activityEntrySchema);

/** Ended-sessions feed entries as stored (JSON); an entry that does not parse is left out: a tab then learns of its ending at its next check. */
export const parseEndedEvents = (lines: readonly string[]): EndedEvent[] => parsedLines(lines, endedEventSchema);
