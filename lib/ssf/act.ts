import { endSessions, type EndDeps, type EndTarget } from "@/lib/revocation/end-sessions";
import type { Defer } from "@/lib/revocation/deferred";
import type { AccountStore, ReplayRecord, SessionStore, StoredSession, User } from "@/lib/store/ports";
import { matchesSession, type SimpleSubject, type Subject } from "./subject";
import { reportsLoss, type SsfAction } from "./policy";

export type ActDeps = EndDeps & {
  /** The sessions, and the email index and account flags that RISC account events and email subjects need. */
  sessions: SessionStore & AccountStore;
  /** OIDC_ISSUER: opaque session ids in SETs are looked up as this issuer's IdP sessions. */
  oidcIssuer: string;
  /** Given (the route's `after()`), deleting the ended sessions' tokens runs after the answer. */
  defer?: Defer;
};

function simpleMembers(subject: Subject): SimpleSubject[] {
  if (subject.format === "complex") return [subject.user, subject.session].filter((s): s is SimpleSubject => s !== undefined);
  if (subject.format === "aliases") return subject.identifiers;
  return [subject];
}

/**
 * The sessions and users a subject names (SSF §3, RFC 9493). Candidates come from the indexes
 * (iss_sub, email, opaque session ids); every candidate must then match the whole subject, so a
 * complex subject names the intersection of its members.
 */
export async function resolveSubject(subject: Subject, deps: ActDeps): Promise<{ sessions: StoredSession[]; users: User[] }> {
  const users = new Map<string, User>();
  const candidates = new Map<string, StoredSession>();
  const addUser = (u: User) => users.set(JSON.stringify([u.iss, u.sub]), u);

  for (const member of simpleMembers(subject)) {
    if (member.format === "iss_sub") addUser({ iss: member.iss, sub: member.sub });
    else if (member.format === "email") for (const u of await deps.sessions.subjectsForEmail(member.email)) addUser(u);
    else if (member.format === "opaque") {
      // An opaque session id is this app's session id or the IdP's sid.
      const own = await deps.sessions.read(member.id);
      if (own) candidates.set(member.id, { id: member.id, record: own });
      for (const s of await deps.sessions.find({ iss: deps.oidcIssuer, sid: member.id })) candidates.set(s.id, s);
    }
  }
  for (const u of users.values()) for (const s of await deps.sessions.find(u)) candidates.set(s.id, s);

  const sessions = [...candidates.values()].filter(({ id, record }) =>
    matchesSession(subject, { iss: record.iss, sub: record.sub, sid: record.sid, lsid: id, email: record.claims.email }),
  );
  // A subject that names sessions only (no user) still names those sessions' users.
  if (users.size === 0) for (const s of sessions) addUser({ iss: s.record.iss, sub: s.record.sub });
  return { sessions, users: [...users.values()] };
}

/** Whether a subject names sessions (an opaque id, alone or as a complex subject's session), not just users. */
function sessionIds(subject: Subject): string[] {
  if (subject.format === "opaque") return [subject.id];
  if (subject.format === "complex" && subject.session?.format === "opaque") return [subject.session.id];
  return [];
}

/**
 * What to mark for an ending, so that a sign-in racing the event is stopped too, not only the
 * sessions the indexes know now: a subject that names a session marks that IdP session (with the
 * user's sub when the subject gives it, so that a sid held by someone else is not ended); a subject
 * that names users marks each user's sessions that started before `beforeMs`.
 */
function endTargets(
  subject: Subject,
  resolved: { sessions: StoredSession[]; users: User[] },
  beforeMs: number,
  oidcIssuer: string,
): EndTarget[] {
  const targets: EndTarget[] = resolved.sessions
    .filter((s) => s.record.createdAt < beforeMs)
    .map((s) => ({ kind: "session", id: s.id, record: s.record }));
  const ids = sessionIds(subject);
  if (ids.length === 0) {
    for (const u of resolved.users) targets.push({ kind: "subject", iss: u.iss, sub: u.sub, beforeMs });
    return targets;
  }
  const user = subject.format === "complex" ? subject.user : undefined;
  if (user === undefined || (user.format === "iss_sub" && user.iss === oidcIssuer)) {
    const sub = user?.format === "iss_sub" ? user.sub : undefined;
    for (const sid of ids) targets.push({ kind: "idp-session", iss: oidcIssuer, sid, sub });
  }
  return targets;
}

export type ActOutcome = { action: SsfAction; sessionsEnded: number; users: number; replayed?: boolean };

/** Actions that end sessions: they go through endSessions, which stores the replay record with the revocation. */
const ENDING: ReadonlySet<SsfAction> = new Set([
  "end_sessions",
  "end_sessions_before_event",
  "end_sessions_on_loss",
  "disable_account",
  "purge_account",
]);

export const isEndingAction = (action: SsfAction, eventType: string, event: Record<string, unknown>) =>
  ENDING.has(action) && (action !== "end_sessions_on_loss" || reportsLoss(eventType, event));

/**
 * Carries out one policy action for one validated event. Ending actions store their revocation
 * atomically with `replay` (a replayed SET changes nothing); the others are idempotent, and the
 * caller remembers the SET after they succeed.
 */
export async function act(
  action: SsfAction,
  eventType: string,
  event: Record<string, unknown>,
  subject: Subject,
  deps: ActDeps,
  replay: ReplayRecord,
): Promise<ActOutcome> {
  if (action === "ignore" || action === "record") return { action, sessionsEnded: 0, users: 0 };
  const ending = isEndingAction(action, eventType, event);
  // An ending's replay record is read while the subject is resolved (both only read).
  const replaySeen = ending ? deps.revocations.seen(replay) : undefined;
  replaySeen?.catch(() => undefined);
  const resolved = await resolveSubject(subject, deps);
  const users = resolved.users.length;
  const now = deps.now();

  if (ending) {
    // CAEP §2 (event_timestamp) has one-second precision: sessions begun within that second count as before it.
    const eventMs = typeof event.event_timestamp === "number" ? Math.min((Math.floor(event.event_timestamp) + 1) * 1000, now) : now;
    const beforeMs = action === "end_sessions_before_event" ? eventMs : now + 1;
    if (action === "disable_account") {
      // The flag goes first, so that no sign-in slips in between the ending and the flag; a SET
      // already acted on must not set it again (an account-enabled may have come since).
      if (await replaySeen) return { action, sessionsEnded: 0, users, replayed: true };
      for (const u of resolved.users) await deps.sessions.setDisabled(u, true);
    }
    const outcome = await endSessions(deps, endTargets(subject, resolved, beforeMs, deps.oidcIssuer), "security_event", {
      replay,
      replaySeen,
      detail: { mechanism: "shared_signals" },
      // A purge deletes what the ending writes (the activity log), so its ending is cleaned up first, not after the answer.
      defer: action === "purge_account" ? undefined : deps.defer,
    });
    if (outcome.result === "replayed") return { action, sessionsEnded: 0, users, replayed: true };
    if (action === "purge_account") for (const u of resolved.users) await deps.sessions.purge(u);
    return { action, sessionsEnded: outcome.ended.length, users };
  }

  switch (action) {
    case "refresh_claims":
      for (const s of resolved.sessions) await deps.sessions.update(s.id, { ...s.record, claimsStale: true });
      break;
    case "enable_account":
      for (const u of resolved.users) await deps.sessions.setDisabled(u, false);
      break;
    case "update_identifier": {
      // RISC §2.5: the subject is the old identifier, `new-value` the new one. Only email subjects are indexed.
      const newValue = event["new-value"];
      const old = simpleMembers(subject).find((m) => m.format === "email");
      if (old?.format === "email" && typeof newValue === "string" && newValue.includes("@")) {
        for (const u of resolved.users) await deps.sessions.changeEmail(u, old.email, newValue);
      }
      break;
    }
  }
  return { action, sessionsEnded: 0, users };
}
