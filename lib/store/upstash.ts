import type { Redis } from "@upstash/redis";
import { sessionTag, type Keys } from "./keys";
import { storeCall } from "./errors";
import { MARK_SCRIPT, DELETE_IF_EQUAL_SCRIPT, REVOKE_SCRIPT } from "./revoke-script";
import { mgetBySessionId, replayKey, revokeInOneCall, type OneCallSteps } from "./slots";
import {
  ACTIVITY_LOG_LENGTH,
  DISABLED_TTL_SECONDS,
  newSessionId,
  wholeSeconds,
  type ActivityEntry,
  type EndedEvent,
  type RevocationList,
  type SessionStore,
  type Stores,
  type StreamStateStore,
  type User,
} from "./ports";
import { endedEntry, matching, parseLastSeen, parseRecord, parseUserMember, signedInEntry, userMember } from "./records";
import { judge, revocationKeys } from "@/lib/revocation/verdict";
import { parseApiState } from "@/lib/api/state";

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
 * The same keys and steps as lib/store/native.ts on one Redis server (see there and
 * lib/store/slots.ts), so that both write and read the same keys the same way whatever Redis is behind.
 */
export function upstashStores(redis: Redis, k: Keys, ttlSeconds: number): Stores {
  const sessions: SessionStore = {
    create: (record) =>
      storeCall("session.create", async () => {
        const id = newSessionId(record);
        const { sid, claims } = record;
        // One transaction, one request, as on one Redis server in native.ts: the record, the
        // subject's set and the log; the email index; who holds the sid and whether it already
        // ended (a sid-only logout that came first), its reply last. A failure fails the sign-in (no
        // cookie names the id); what was written expires with its TTL.
        const tx = redis.multi();
        tx.set(k.session(id), JSON.stringify(record), { ex: ttlSeconds });
        tx.sadd(k.subjectSessions(record.iss, record.sub), id);
        tx.expire(k.subjectSessions(record.iss, record.sub), ttlSeconds);
        logActivity(tx, k, record, signedInEntry(id, record), ttlSeconds);
        if (claims.email) {
          tx.sadd(k.emailSubjects(claims.email), userMember(record));
          tx.expire(k.emailSubjects(claims.email), ttlSeconds);
        }
        if (sid) {
          tx.set(k.idpSession(record.iss, sid), id, { ex: ttlSeconds });
          tx.set(k.idpSessionUser(record.iss, sid), sessionTag(id), { ex: ttlSeconds });
          tx.get<string>(k.idpSessionEnded(record.iss, sid));
        }
        const ended = (await tx.exec<unknown[]>()).at(-1);
        // Then this user's own mark, for an IdP session that had already ended.
        if (sid && typeof ended === "string") {
          await redis.set(k.revokedIdpSession(sessionTag(id), record.iss, sid), ended, { ex: ttlSeconds });
        }
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
        const raws = await mgetBySessionId(ids, k.session, (keys) => redis.mget<(string | null)[]>(...keys));
        return matching(
          query,
          ids.map((id, i) => ({ id, record: parseRecord(raws[i]) })),
        );
      }),

    holderOf: (iss, sid) => storeCall("session.holder_of", () => redis.get<string>(k.idpSession(iss, sid))),

    end: (ended, reason, detail = {}) =>
      storeCall("session.end", async () => {
        if (ended.length === 0) return;
        const now = Date.now();
        // One transaction, one request: Upstash and the gateway are one Redis to their clients, so
        // the user's slot and the IdP sessions' indexes may share it (native.ts, on a Cluster, splits
        // it by slot). The revocation is already stored; this deletes what the ended sessions held.
        const tx = redis.multi();
        for (const { id, record } of ended) {
          tx.del(k.session(id), k.lastSeen(id), k.apiState(id));
          tx.srem(k.subjectSessions(record.iss, record.sub), id);
          logActivity(tx, k, record, endedEntry(id, record, reason, detail, now), ttlSeconds);
          if (record.sid) tx.del(k.idpSession(record.iss, record.sid));
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
        return parseLastSeen(await mgetBySessionId(ids, k.lastSeen, (keys) => redis.mget<(string | number | null)[]>(...keys)));
      }),

    subjectsForEmail: (email) =>
      storeCall("session.subjects_for_email", async () => {
        const members = await redis.smembers(k.emailSubjects(email));
        return members.map(parseUserMember);
      }),

    changeEmail: (subject, from, to) =>
      storeCall("session.change_email", async () => {
        const member = userMember(subject);
        await redis.multi().sadd(k.emailSubjects(to), member).expire(k.emailSubjects(to), ttlSeconds).exec();
        await redis.srem(k.emailSubjects(from), member);
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

    claimCheck: (sessionId, ttlMs) =>
      storeCall(
        "session.claim_check",
        async () => (await redis.set(k.livenessClaim(sessionId), "1", { nx: true, px: Math.max(1, Math.floor(ttlMs)) })) === "OK",
      ),
    unlock: (sessionId, owner) =>
      storeCall("session.unlock", async () => {
        await redis.eval(DELETE_IF_EQUAL_SCRIPT, [k.refreshLock(sessionId)], [owner]);
      }),

    apiState: (sessionId) => storeCall("api.state", async () => parseApiState(await redis.get<string>(k.apiState(sessionId)))),

    setApiState: (sessionId, state, expiresAt) =>
      storeCall("api.set_state", async () => {
        // As in native.ts: written with the record's existence read in the same transaction.
        const at = Math.max(Math.floor(expiresAt), Date.now() + 1_000);
        const tx = redis.multi();
        tx.set(k.apiState(sessionId), JSON.stringify(state), { pxat: at });
        tx.exists(k.session(sessionId));
        const [, exists] = await tx.exec<[unknown, number]>();
        if (exists === 1) return true;
        await redis.del(k.apiState(sessionId));
        return false;
      }),

    clientApiState: (api) => storeCall("api.client_state", async () => parseApiState(await redis.get<string>(k.clientApiState(api)))),

    setClientApiState: (api, state, ttlMs) =>
      storeCall("api.set_client_state", async () => {
        await redis.set(k.clientApiState(api), JSON.stringify(state), { px: Math.max(1, Math.floor(ttlMs)) });
      }),

    lockClientApi: (api, owner, ttlMs) =>
      storeCall(
        "api.lock",
        async () => (await redis.set(k.clientApiLock(api), owner, { nx: true, px: Math.max(1, Math.floor(ttlMs)) })) === "OK",
      ),

    unlockClientApi: (api, owner) =>
      storeCall("api.unlock", async () => {
        await redis.eval(DELETE_IF_EQUAL_SCRIPT, [k.clientApiLock(api)], [owner]);
      }),
  };

  // EVALSHA first, EVAL of the whole text only when Redis has not cached it yet (@upstash/redis's Script).
  const revokeScript = redis.createScript<unknown>(REVOKE_SCRIPT);
  const revokeSteps: OneCallSteps = {
    revoke: (keys, args) => revokeScript.exec(keys, args),
    mark: async (keys, args) => {
      await redis.eval(MARK_SCRIPT, keys, args);
    },
    setOnce: async (key, ttl) => (await redis.set(key, "1", { nx: true, ex: ttl })) === "OK",
  };

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
      // One script (Upstash and the gateway are one Redis to their clients; lib/store/slots.ts).
      storeCall("revocation.revoke", () => revokeInOneCall(revokeSteps, k, revocation, ttlSeconds)),

    remember: (replay) =>
      storeCall(
        "revocation.remember",
        async () => (await redis.set(replayKey(k, replay), "1", { nx: true, ex: wholeSeconds(replay.ttlSeconds) })) === "OK",
      ),

    seen: (replay) => storeCall("revocation.seen", async () => (await redis.exists(replayKey(k, replay))) === 1),

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
