import {
  ACTIVITY_LOG_LENGTH,
  endDetail,
  DISABLED_TTL_SECONDS,
  FEED_RETENTION_MS,
  newSessionId,
  wholeSeconds,
  type ActivityEntry,
  type EndedEvent,
  type ReplayRecord,
  type RevocationList,
  type AccountStore,
  type SessionStore,
  type StoredSession,
  type Stores,
  type StreamStateStore,
  type User,
} from "./ports";
import type { SessionRecord } from "@/lib/session/record";
import { endedEntry, matching, parseUserMember, signedInEntry } from "./records";
import { judge, subjectMark, subjectMarkBefore } from "./verdict";
import type { ApiState } from "@/lib/api/state";

/** A value that expires, as a Redis key with a TTL does. */
class Expiring<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(private readonly now: () => number) {}
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key: string, value: V, ttlSeconds: number): void {
    this.entries.set(key, { value, expiresAt: this.now() + wholeSeconds(ttlSeconds) * 1000 });
  }
  /** Replaces the value and keeps the expiry; false when there is none. */
  replace(key: string, value: V): boolean {
    const entry = this.entries.get(key);
    if (!entry || this.get(key) === undefined) return false;
    entry.value = value;
    return true;
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
}

const pair = (iss: string, sub: string) => JSON.stringify([iss, sub]);

/**
 * The stores in this process's memory, for unit tests and for trying the domain code without a
 * Redis. Same contract as the Redis implementations (tests/store/contract.ts), including TTLs
 * against the given clock. One process only: nothing here is shared between instances.
 */
export function memoryStores(options: { ttlSeconds: number; now?: () => number }): Stores {
  const now = options.now ?? Date.now;
  const ttl = options.ttlSeconds;
  const records = new Expiring<SessionRecord>(now);
  const bySubject = new Expiring<Set<string>>(now);
  const byIdpSession = new Expiring<string>(now);
  const byEmail = new Expiring<Set<string>>(now);
  const activityLog = new Expiring<ActivityEntry[]>(now);
  const disabled = new Expiring<true>(now);
  const locks = new Expiring<string>(now);
  /** Liveness claims expire to the millisecond, as Redis's PX does: session id → expiry (ms). */
  const checkClaims = new Map<string, number>();
  const seen = new Expiring<number>(now);
  const sessionMarks = new Expiring<string>(now);
  const idpMarks = new Expiring<string>(now);
  const subjectMarks = new Expiring<string>(now);
  const replays = new Expiring<true>(now);
  let feed: EndedEvent[] = [];
  const stream = new Expiring<string>(now);
  /** Remote-API state: per session (expires with it), and per `client` API, with its lock (expiries in ms, as PX). */
  const apiStates = new Map<string, { state: ApiState; expiresAt: number }>();
  const clientStates = new Map<string, { state: ApiState; expiresAt: number }>();
  const clientLocks = new Map<string, { owner: string; expiresAt: number }>();
  const live = <V extends { expiresAt: number }>(map: Map<string, V>, key: string): V | undefined => {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= now()) map.delete(key);
    return entry && entry.expiresAt > now() ? entry : undefined;
  };

  const log = (subject: User, entry: ActivityEntry) => {
    const key = pair(subject.iss, subject.sub);
    activityLog.set(key, [entry, ...(activityLog.get(key) ?? [])].slice(0, ACTIVITY_LOG_LENGTH), ttl);
  };
  const addTo = (index: Expiring<Set<string>>, key: string, member: string) => {
    const set = index.get(key) ?? new Set<string>();
    set.add(member);
    index.set(key, set, ttl);
  };
  const copy = (record: SessionRecord): SessionRecord => structuredClone(record);

  const sessions: SessionStore & AccountStore = {
    async create(record) {
      const id = newSessionId(record);
      records.set(id, copy(record), ttl);
      addTo(bySubject, pair(record.iss, record.sub), id);
      if (record.sid) byIdpSession.set(pair(record.iss, record.sid), id, ttl);
      if (record.claims.email) addTo(byEmail, record.claims.email.toLowerCase(), pair(record.iss, record.sub));
      log(record, signedInEntry(id, record));
      return id;
    },
    async read(id) {
      const record = records.get(id);
      return record ? copy(record) : null;
    },
    async update(id, record, activity) {
      if (!records.replace(id, copy(record))) return false;
      if (activity) log(record, { at: now(), session: id, kind: activity });
      return true;
    },
    async find(query) {
      let ids: string[];
      if (query.sid !== undefined) ids = [byIdpSession.get(pair(query.iss, query.sid))].filter((id): id is string => Boolean(id));
      else if (query.sub !== undefined) ids = [...(bySubject.get(pair(query.iss, query.sub)) ?? [])];
      else throw new TypeError("A session query needs a sid or a sub.");
      return matching(
        query,
        ids.map((id) => {
          const record = records.get(id);
          return { id, record: record ? copy(record) : null };
        }),
      );
    },
    async holderOf(iss, sid) {
      return byIdpSession.get(pair(iss, sid)) ?? null;
    },
    async end(ended, reason, detail = {}) {
      for (const { id, record } of ended) {
        records.delete(id);
        seen.delete(id);
        apiStates.delete(id);
        bySubject.get(pair(record.iss, record.sub))?.delete(id);
        if (record.sid) byIdpSession.delete(pair(record.iss, record.sid));
        log(record, endedEntry(id, record, reason, detail, now()));
      }
    },
    async touch(id, at) {
      seen.set(id, Math.floor(at), ttl);
    },
    async lastSeen(ids) {
      return ids.map((id) => seen.get(id) ?? null);
    },
    async subjectsForEmail(email) {
      return [...(byEmail.get(email.toLowerCase()) ?? [])].map(parseUserMember);
    },
    async changeEmail(subject, from, to) {
      byEmail.get(from.toLowerCase())?.delete(pair(subject.iss, subject.sub));
      addTo(byEmail, to.toLowerCase(), pair(subject.iss, subject.sub));
    },
    async activity(subject) {
      return [...(activityLog.get(pair(subject.iss, subject.sub)) ?? [])];
    },
    async setDisabled(subject, on) {
      if (on) disabled.set(pair(subject.iss, subject.sub), true, DISABLED_TTL_SECONDS);
      else disabled.delete(pair(subject.iss, subject.sub));
    },
    async isDisabled(subject) {
      return disabled.get(pair(subject.iss, subject.sub)) === true;
    },
    async purge(subject) {
      const key = pair(subject.iss, subject.sub);
      activityLog.delete(key);
      bySubject.delete(key);
      disabled.delete(key);
    },
    async lock(sessionId, owner, ttlMs) {
      if (locks.get(sessionId) !== undefined) return false;
      locks.set(sessionId, owner, ttlMs / 1000);
      return true;
    },
    async unlock(sessionId, owner) {
      if (locks.get(sessionId) === owner) locks.delete(sessionId);
    },
    async claimCheck(sessionId, ttlMs) {
      if ((checkClaims.get(sessionId) ?? -Infinity) > now()) return false;
      checkClaims.set(sessionId, now() + Math.max(1, Math.floor(ttlMs)));
      return true;
    },
    async apiState(sessionId) {
      const entry = live(apiStates, sessionId);
      return entry ? structuredClone(entry.state) : null;
    },
    async setApiState(sessionId, state, expiresAt) {
      if (records.get(sessionId) === undefined) {
        apiStates.delete(sessionId);
        return false;
      }
      apiStates.set(sessionId, { state: structuredClone(state), expiresAt: Math.floor(expiresAt) });
      return true;
    },
    async clientApiState(api) {
      const entry = live(clientStates, api);
      return entry ? structuredClone(entry.state) : null;
    },
    async setClientApiState(api, state, ttlMs) {
      clientStates.set(api, { state: structuredClone(state), expiresAt: now() + Math.max(1, Math.floor(ttlMs)) });
    },
    async lockClientApi(api, owner, ttlMs) {
      if (live(clientLocks, api)) return false;
      clientLocks.set(api, { owner, expiresAt: now() + Math.max(1, Math.floor(ttlMs)) });
      return true;
    },
    async unlockClientApi(api, owner) {
      if (live(clientLocks, api)?.owner === owner) clientLocks.delete(api);
    },
  };

  const replayKey = (r: Omit<ReplayRecord, "ttlSeconds">) => JSON.stringify([r.kind, r.iss, r.jti]);

  const revocations: RevocationList = {
    async check(handle) {
      const values = [
        sessionMarks.get(handle.lsid) ?? null,
        handle.sid ? (idpMarks.get(pair(handle.iss, handle.sid)) ?? null) : null,
        subjectMarks.get(pair(handle.iss, handle.sub)) ?? null,
      ];
      return judge(handle, records.get(handle.lsid) !== undefined, values);
    },
    async revoke(r) {
      if (r.replay) {
        if (replays.get(replayKey(r.replay))) return { result: "replayed" };
        replays.set(replayKey(r.replay), true, r.replay.ttlSeconds);
      }
      // BCL §2.7: each session named must be its subject's, or nothing but the replay record is written.
      if (r.subjectOf?.some((c) => !bySubject.get(pair(c.iss, c.sub))?.has(c.sessionId))) return { result: "other_subject" };
      const held: StoredSession[] = [];
      for (const t of r.targets) {
        if (t.kind !== "idp-session" || !t.heldBy || held.some((s) => s.id === t.heldBy)) continue;
        const record = records.get(t.heldBy);
        if (record) held.push({ id: t.heldBy, record: copy(record) });
      }
      for (const t of r.targets) {
        if (t.kind === "idp-session") {
          idpMarks.set(pair(t.iss, t.sid), r.reason, ttl);
          continue;
        }
        const key = pair(t.iss, t.sub);
        const previous = subjectMarkBefore(subjectMarks.get(key) ?? null);
        if (previous === undefined || previous < t.beforeMs) subjectMarks.set(key, subjectMark(Math.floor(t.beforeMs), r.reason), ttl);
      }
      const events: EndedEvent[] = r.sessionIds.map((lsid) => ({
        id: crypto.randomUUID(),
        at: r.now,
        lsid,
        reason: r.reason,
        ...endDetail(r.detail),
      }));
      for (const lsid of r.sessionIds) sessionMarks.set(lsid, r.reason, ttl);
      feed = [...feed.filter((e) => e.at >= r.now - FEED_RETENTION_MS), ...events];
      return { result: "written", events, held };
    },
    async remember(replay) {
      if (replays.get(replayKey(replay))) return false;
      replays.set(replayKey(replay), true, replay.ttlSeconds);
      return true;
    },
    async seen(replay) {
      return replays.get(replayKey(replay)) === true;
    },
    async endedSince(sinceMs) {
      return feed.filter((e) => e.at >= sinceMs && e.at >= now() - FEED_RETENTION_MS * 2);
    },
  };

  const verification = new Expiring<string>(now);
  const streams: StreamStateStore = {
    async readStream() {
      return stream.get("stream") ?? null;
    },
    async writeStream(json, ttlSeconds) {
      stream.set("stream", json, ttlSeconds);
    },
    async deleteStream() {
      stream.delete("stream");
    },
    async setVerificationState(state, ttlSeconds) {
      verification.set("state", state, ttlSeconds);
    },
    async useVerificationState(state) {
      if (verification.get("state") !== state) return false;
      verification.delete("state");
      return true;
    },
  };

  return { sessions, revocations, streams };
}
