import type { Redis } from "@upstash/redis";
import type { Keys } from "@/lib/store/keys";
import type { SessionStore } from "@/lib/session/store";
import type { SessionRecord } from "@/lib/session/record";
import { recordRevocation } from "@/lib/revocation/revoke";
import { matchesSession, type SimpleSubject, type Subject } from "./subject";
import { reportsLoss, type SsfAction } from "./policy";

export type ActDeps = { redis: Redis; keys: Keys; store: SessionStore; ttlSeconds: number; oidcIssuer: string; now: () => number };

type Found = { id: string; record: SessionRecord };
type User = { iss: string; sub: string };

/** How long a disabled account stays refused without an account-enabled (every key has a TTL). */
export const DISABLED_TTL_SECONDS = 365 * 86_400;

function simpleMembers(subject: Subject): SimpleSubject[] {
  if (subject.format === "complex") return [subject.user, subject.session].filter((s): s is SimpleSubject => s !== undefined);
  if (subject.format === "aliases") return subject.identifiers;
  return [subject];
}

/**
 * The sessions and users a subject names (SSF §3, MGMT-03). Candidates come from the indexes
 * (iss_sub, email, opaque session ids); every candidate must then match the whole subject, so a
 * complex subject names the intersection of its members.
 */
export async function resolveSubject(subject: Subject, deps: ActDeps): Promise<{ sessions: Found[]; users: User[] }> {
  const users = new Map<string, User>();
  const candidates = new Map<string, SessionRecord>();
  const addUser = (u: User) => users.set(JSON.stringify([u.iss, u.sub]), u);

  for (const member of simpleMembers(subject)) {
    if (member.format === "iss_sub") addUser({ iss: member.iss, sub: member.sub });
    else if (member.format === "email") for (const u of await deps.store.subjectsForEmail(member.email)) addUser(u);
    else if (member.format === "opaque") {
      const byIdpSid = await deps.redis.get<string>(deps.keys.idpSession(deps.oidcIssuer, member.id));
      for (const id of [member.id, byIdpSid].filter((x): x is string => Boolean(x))) {
        const record = await deps.store.read(id);
        if (record) candidates.set(id, record);
      }
    }
  }
  for (const u of users.values()) for (const s of await deps.store.listForSubject(u.iss, u.sub)) candidates.set(s.id, s.record);

  const sessions = [...candidates]
    .map(([id, record]) => ({ id, record }))
    .filter(({ id, record }) => matchesSession(subject, { iss: record.iss, sub: record.sub, sid: record.sid, lsid: id, email: record.claims.email }));
  // A subject that names sessions only (no user) still names those sessions' users.
  if (users.size === 0) for (const s of sessions) addUser({ iss: s.record.iss, sub: s.record.sub });
  return { sessions, users: [...users.values()] };
}

export type ActOutcome = { action: SsfAction; sessionsEnded: number; users: number };

/** Carries out one policy action for one validated event. Every ending goes through the revocation list and the live feed. */
export async function act(action: SsfAction, eventType: string, event: Record<string, unknown>, subject: Subject, deps: ActDeps): Promise<ActOutcome> {
  if (action === "ignore" || action === "record") return { action, sessionsEnded: 0, users: 0 };
  const { sessions, users } = await resolveSubject(subject, deps);
  const endAll = async (list: Found[]) => {
    for (const s of list) await deps.store.end(s.id, "security_event");
    return list.length;
  };
  // event_timestamp has one-second precision: sessions begun within that second count as before it.
  const eventMs = typeof event.event_timestamp === "number" ? Math.min((event.event_timestamp + 1) * 1000, deps.now()) : deps.now();

  switch (action) {
    case "end_sessions":
      return { action, sessionsEnded: await endAll(sessions), users: users.length };
    case "end_sessions_on_loss":
      return { action, sessionsEnded: reportsLoss(eventType, event) ? await endAll(sessions) : 0, users: users.length };
    case "end_sessions_before_event": {
      // The mark also stops sessions the indexes do not know of (e.g. signing in right now).
      for (const u of users) await recordRevocation(deps, { kind: "subject", iss: u.iss, sub: u.sub, beforeMs: eventMs }, "security_event");
      return { action, sessionsEnded: await endAll(sessions.filter((s) => s.record.createdAt < eventMs)), users: users.length };
    }
    case "refresh_claims":
      for (const s of sessions) await deps.store.update(s.id, { ...s.record, claimsStale: true });
      return { action, sessionsEnded: 0, users: users.length };
    case "disable_account":
    case "purge_account": {
      const now = deps.now();
      for (const u of users) {
        await recordRevocation(deps, { kind: "subject", iss: u.iss, sub: u.sub, beforeMs: now }, "security_event");
        if (action === "disable_account") await deps.redis.set(deps.keys.accountDisabled(u.iss, u.sub), "1", { ex: DISABLED_TTL_SECONDS });
      }
      const ended = await endAll(sessions);
      if (action === "purge_account") {
        for (const u of users) {
          await deps.redis.del(deps.keys.activityLog(u.iss, u.sub), deps.keys.subjectSessions(u.iss, u.sub), deps.keys.accountDisabled(u.iss, u.sub));
        }
      }
      return { action, sessionsEnded: ended, users: users.length };
    }
    case "enable_account":
      for (const u of users) await deps.redis.del(deps.keys.accountDisabled(u.iss, u.sub));
      return { action, sessionsEnded: 0, users: users.length };
  }
}
