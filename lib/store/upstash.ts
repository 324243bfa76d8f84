import type { Redis } from "@upstash/redis";
import type { Keys } from "./keys";
import { storeCall } from "./errors";
import { REVOKE_SCRIPT, DELETE_IF_EQUAL_SCRIPT } from "./revoke-script";
import {
  ACTIVITY_LOG_LENGTH,
  DISABLED_TTL_SECONDS,
  FEED_RETENTION_MS,
  newSessionId,
  wholeSeconds,
  type ActivityEntry,
  endDetail,
  type EndedEvent,
  type RevocationList,
  type SessionStore,
  type Stores,
  type StreamStateStore,
  type User,
} from "./ports";
import { endedEntry, matching, parseLastSeen, parseRecord, parseUserMember, signedInEntry, userMember } from "./records";
import { judge, revocationKeys } from "@/lib/revocation/verdict";

/** The part of @upstash/redis's pipeline that the activity log needs. */
type Tx = ReturnType<Redis["multi"]>;

function logActivity(tx: Tx, k: Keys, subject: User, entry: ActivityEntry, ttlSeconds: number): void {
  const key = k.activityLog(subject.iss, subject.sub);
  tx.lpush(key, JSON.stringify(entry));
  tx.ltrim(key, 0, ACTIVITY_LOG_LENGTH - 1);
  tx.expire(key, ttlSeconds);
}

/**
 * The stores on Redis through @upstash/redis (REST over fetch: Upstash, or the gateway in front of
 * a Redis). `ttlSeconds` is the longest a session lives and the TTL of every key written here.
 */
export function upstashStores(redis: Redis, k: Keys, ttlSeconds: number): Stores {
  const sessions: SessionStore = {
    create: (record) =>
      storeCall("session.create", async () => {
        const id = newSessionId();
        const tx = redis.multi();
        tx.set(k.session(id), JSON.stringify(record), { ex: ttlSeconds });
        tx.sadd(k.subjectSessions(record.iss, record.sub), id);
        tx.expire(k.subjectSessions(record.iss, record.sub), ttlSeconds);
        if (record.sid) tx.set(k.idpSession(record.iss, record.sid), id, { ex: ttlSeconds });
        if (record.claims.email) {
          tx.sadd(k.emailSubjects(record.claims.email), userMember(record));
          tx.expire(k.emailSubjects(record.claims.email), ttlSeconds);
        }
        logActivity(tx, k, record, signedInEntry(id, record), ttlSeconds);
        await tx.exec();
        return id;
      }),

    read: (id) => storeCall("session.read", async () => parseRecord(await redis.get<string>(k.session(id)))),

    update: (id, record, activity) =>
      storeCall("session.update", async () => {
        const tx = redis.multi();
        tx.set(k.session(id), JSON.stringify(record), { keepTtl: true, xx: true });
        if (activity) logActivity(tx, k, record, { at: Date.now(), session: id, kind: activity }, ttlSeconds);
        const [ok] = await tx.exec<[string | null, ...unknown[]]>();
        return ok === "OK";
      }),

    find: (query) =>
      storeCall("session.find", async () => {
        let ids: string[];
        if (query.sid !== undefined) {
          const id = await redis.get<string>(k.idpSession(query.iss, query.sid));
          ids = id ? [id] : [];
        } else if (query.sub !== undefined) {
          ids = await redis.smembers(k.subjectSessions(query.iss, query.sub));
        } else {
          throw new TypeError("A session query needs a sid or a sub.");
        }
        if (ids.length === 0) return [];
        const raws = await redis.mget<(string | null)[]>(...ids.map((id) => k.session(id)));
        return matching(
          query,
          ids.map((id, i) => ({ id, record: parseRecord(raws[i]) })),
        );
      }),

    end: (ended, reason, detail = {}) =>
      storeCall("session.end", async () => {
        if (ended.length === 0) return;
        const tx = redis.multi();
        const now = Date.now();
        for (const { id, record } of ended) {
          tx.del(k.session(id), k.lastSeen(id));
          tx.srem(k.subjectSessions(record.iss, record.sub), id);
          if (record.sid) tx.del(k.idpSession(record.iss, record.sid));
          logActivity(tx, k, record, endedEntry(id, record, reason, detail, now), ttlSeconds);
        }
        await tx.exec();
      }),

    touch: (id, at) =>
      storeCall("session.touch", async () => {
        await redis.set(k.lastSeen(id), String(Math.floor(at)), { ex: ttlSeconds });
      }),

    lastSeen: (ids) =>
      storeCall("session.last_seen", async () => {
        if (ids.length === 0) return [];
        const values = await redis.mget<(string | number | null)[]>(...ids.map((id) => k.lastSeen(id)));
        return parseLastSeen(ids.map((_, i) => values[i]));
      }),

    subjectsForEmail: (email) =>
      storeCall("session.subjects_for_email", async () => {
        const members = await redis.smembers(k.emailSubjects(email));
        return members.map(parseUserMember);
      }),

    changeEmail: (subject, from, to) =>
      storeCall("session.change_email", async () => {
        const member = userMember(subject);
        const tx = redis.multi();
        tx.srem(k.emailSubjects(from), member);
        tx.sadd(k.emailSubjects(to), member);
        tx.expire(k.emailSubjects(to), ttlSeconds);
        await tx.exec();
      }),

    activity: (subject) =>
      storeCall("session.activity", async () => {
        const raw = await redis.lrange<string>(k.activityLog(subject.iss, subject.sub), 0, -1);
        return raw.map((line) => JSON.parse(line) as ActivityEntry);
      }),

    setDisabled: (subject, disabled) =>
      storeCall("account.set_disabled", async () => {
        const key = k.accountDisabled(subject.iss, subject.sub);
        if (disabled) await redis.set(key, "1", { ex: DISABLED_TTL_SECONDS });
        else await redis.del(key);
      }),

    isDisabled: (subject) =>
      storeCall("account.is_disabled", async () => (await redis.exists(k.accountDisabled(subject.iss, subject.sub))) === 1),

    purge: (subject) =>
      storeCall("account.purge", async () => {
        await redis.del(
          k.activityLog(subject.iss, subject.sub),
          k.subjectSessions(subject.iss, subject.sub),
          k.accountDisabled(subject.iss, subject.sub),
        );
      }),

    lock: (sessionId, owner, ttlMs) =>
      storeCall("session.lock", async () => (await redis.set(k.refreshLock(sessionId), owner, { nx: true, px: ttlMs })) === "OK"),

    unlock: (sessionId, owner) =>
      storeCall("session.unlock", async () => {
        await redis.eval(DELETE_IF_EQUAL_SCRIPT, [k.refreshLock(sessionId)], [owner]);
      }),
  };

  const replayKey = (r: { kind: "bcl" | "ssf"; iss: string; jti: string }) =>
    r.kind === "bcl" ? k.logoutTokenJti(r.iss, r.jti) : k.ssfJti(r.iss, r.jti);

  const revocations: RevocationList = {
    check: (handle) =>
      storeCall("revocation.check", async () => {
        const [exists, values] = await redis
          .pipeline()
          .exists(k.session(handle.lsid))
          .mget<(string | null)[]>(...revocationKeys(k, handle))
          .exec<[number, (string | null)[]]>();
        return judge(handle, exists === 1, values);
      }),

    revoke: (revocation) =>
      storeCall("revocation.revoke", async () => {
        const events: EndedEvent[] = revocation.sessionIds.map((lsid) => ({
          id: crypto.randomUUID(),
          at: revocation.now,
          lsid,
          reason: revocation.reason,
          ...endDetail(revocation.detail),
        }));
        const targetKeys = revocation.targets.map((t) =>
          t.kind === "idp-session" ? k.revokedIdpSession(t.iss, t.sid) : k.revokedSubject(t.iss, t.sub),
        );
        const written = await redis.eval(
          REVOKE_SCRIPT,
          [
            revocation.replay ? replayKey(revocation.replay) : "",
            k.endedFeed(),
            ...targetKeys,
            ...revocation.sessionIds.map((id) => k.revokedSession(id)),
          ],
          [
            String(wholeSeconds(revocation.replay?.ttlSeconds ?? 1)),
            String(ttlSeconds),
            revocation.reason,
            String(Math.floor(revocation.now)),
            String(revocation.targets.length),
            String(FEED_RETENTION_MS),
            ...revocation.targets.map((t) => (t.kind === "subject" ? String(Math.floor(t.beforeMs)) : "")),
            ...events.map((e) => JSON.stringify(e)),
          ],
        );
        return Number(written) === 1 ? events : null;
      }),

    remember: (replay) =>
      storeCall(
        "revocation.remember",
        async () => (await redis.set(replayKey(replay), "1", { nx: true, ex: wholeSeconds(replay.ttlSeconds) })) === "OK",
      ),

    seen: (replay) => storeCall("revocation.seen", async () => (await redis.exists(replayKey(replay))) === 1),

    endedSince: (sinceMs) =>
      storeCall("revocation.ended_since", async () => {
        const members = await redis.zrange<string[]>(k.endedFeed(), Math.floor(sinceMs), "+inf", { byScore: true });
        return members.map((m) => JSON.parse(m) as EndedEvent);
      }),
  };

  const streams: StreamStateStore = {
    readStream: () => storeCall("ssf.read_stream", () => redis.get<string>(k.ssfStream())),
    writeStream: (json, ttl) =>
      storeCall("ssf.write_stream", async () => {
        await redis.set(k.ssfStream(), json, { ex: wholeSeconds(ttl) });
      }),
    deleteStream: () =>
      storeCall("ssf.delete_stream", async () => {
        await redis.del(k.ssfStream());
      }),
    setVerificationState: (state, ttl) =>
      storeCall("ssf.set_verification", async () => {
        await redis.set(k.ssfVerification(), state, { ex: wholeSeconds(ttl) });
      }),
    useVerificationState: (state) =>
      storeCall("ssf.use_verification", async () => Number(await redis.eval(DELETE_IF_EQUAL_SCRIPT, [k.ssfVerification()], [state])) === 1),
  };

  return { sessions, revocations, streams };
}
