import type { Redis } from "@upstash/redis";
import type { Keys } from "@/lib/store/keys";
import type { SessionStore } from "@/lib/session/store";
import type { SessionRecord } from "@/lib/session/record";
import type { EndReason } from "./verdict";

/** What a signal ends: one IdP session, or every session of a subject that started before a time. */
export type RevocationTarget =
  | { kind: "idp-session"; iss: string; sid: string }
  | { kind: "subject"; iss: string; sub: string; beforeMs: number };

/**
 * Writes a revocation to the list, and, when a replay key is given, only if that key was not
 * already there: both in one script, so a signal is never half-stored. A subject mark only ever
 * moves forward in time, so an old signal replayed or delivered late cannot shorten a newer one.
 * Returns false when the replay key was already there (nothing was written).
 */
const SCRIPT = `
if KEYS[1] ~= '' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
if ARGV[2] == 'idp-session' then
  redis.call('SET', KEYS[2], ARGV[5], 'EX', ARGV[4])
else
  local current = redis.call('GET', KEYS[2])
  local before = current and tonumber(string.match(current, '^(%d+)|')) or nil
  if not before or before < tonumber(ARGV[3]) then
    redis.call('SET', KEYS[2], ARGV[3] .. '|' .. ARGV[5], 'EX', ARGV[4])
  end
end
return 1
`;

export type RevocationDeps = { redis: Redis; keys: Keys; store: SessionStore; ttlSeconds: number };

export async function recordRevocation(
  deps: RevocationDeps,
  target: RevocationTarget,
  reason: EndReason,
  replay?: { key: string; ttlSeconds: number },
): Promise<boolean> {
  const listKey =
    target.kind === "idp-session" ? deps.keys.revokedIdpSession(target.iss, target.sid) : deps.keys.revokedSubject(target.iss, target.sub);
  const mark = target.kind === "subject" ? String(target.beforeMs) : "0";
  const written = await deps.redis.eval(
    SCRIPT,
    [replay?.key ?? "", listKey],
    [String(replay?.ttlSeconds ?? 1), target.kind, mark, String(deps.ttlSeconds), reason],
  );
  return Number(written) === 1;
}

/** The Lockstep sessions a target names, as (id, record) pairs. */
export async function findSessions(deps: RevocationDeps, target: RevocationTarget): Promise<{ id: string; record: SessionRecord }[]> {
  const ids =
    target.kind === "idp-session"
      ? [await deps.redis.get<string>(deps.keys.idpSession(target.iss, target.sid))].filter((id): id is string => Boolean(id))
      : await deps.redis.smembers(deps.keys.subjectSessions(target.iss, target.sub));
  const found: { id: string; record: SessionRecord }[] = [];
  for (const id of ids) {
    const record = await deps.store.read(id);
    if (!record || record.iss !== target.iss) continue;
    if (target.kind === "subject" && (record.sub !== target.sub || record.createdAt >= target.beforeMs)) continue;
    found.push({ id, record });
  }
  return found;
}

/**
 * Ends the sessions a recorded revocation names: their tokens are deleted and each is marked
 * with the reason its user will see. The revocation already holds at the edge; this removes what
 * is left. Returns the records that were ended.
 */
export async function endSessions(deps: RevocationDeps, target: RevocationTarget, reason: EndReason): Promise<SessionRecord[]> {
  const ended: SessionRecord[] = [];
  for (const { id } of await findSessions(deps, target)) {
    const record = await deps.store.end(id, reason);
    if (record) ended.push(record);
  }
  return ended;
}
