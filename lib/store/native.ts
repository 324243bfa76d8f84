import type { ChainableCommander, Redis, Result } from "ioredis";
import type { Keys } from "./keys";
import { storeCall } from "./errors";
import { REVOKE_SCRIPT, DELETE_IF_EQUAL_SCRIPT } from "./revoke-script";
import {
  ACTIVITY_LOG_LENGTH,
  DISABLED_TTL_SECONDS,
  FEED_RETENTION_MS,
  newSessionId,
  wholeSeconds,
  endDetail,
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

/*
 * Why ioredis (5.x) and not node-redis 5:
 * - Scripts: `defineCommand` sends EVALSHA and falls back to EVAL on NOSCRIPT by itself (also inside
 *   MULTI and pipelines), so the revocation script crosses the wire once per connection.
 * - Cluster (issue 10, item 5): `Redis.Cluster` has the same command API as `Redis`, so these stores
 *   take either once the keys share a hash slot; node-redis has a cluster client too, with another API.
 * - Protocol: ioredis speaks RESP2 only, which is what the gateway and Upstash answer in (flat
 *   arrays, nil as null), so both implementations read replies the same way; node-redis 5 also
 *   defaults to RESP2 but changes reply shapes when RESP3 is switched on.
 * - Timeouts that fit a request handler: `commandTimeout`, `connectTimeout`, `maxRetriesPerRequest`
 *   and a `retryStrategy`, all per client (lib/store/native-client.ts).
 * - It is already in the lockfile (the gateway and the demo use it): one Redis client in the tree,
 *   plain JavaScript over node:net/node:tls, kept out of Next's server bundle (next.config.ts).
 * The trade-off: its README calls it stable with best-effort maintenance and recommends node-redis
 * for new projects. Nothing here depends on commands newer than Redis 6.2 (SET … KEEPTTL / GET),
 * so switching clients later touches only this file and native-client.ts.
 */

/** The scripts, as commands defined on the client (EVALSHA, EVAL on NOSCRIPT). */
type ScriptCommands = {
  lockstepRevoke(numKeys: number, ...keysAndArgs: string[]): Result<number, { type: "default" }>;
  lockstepDeleteIfEqual(key: string, value: string): Result<number, { type: "default" }>;
};

function withScripts(redis: Redis): Redis & ScriptCommands {
  const scripted = redis as Redis & Partial<ScriptCommands>;
  if (typeof scripted.lockstepRevoke !== "function") redis.defineCommand("lockstepRevoke", { lua: REVOKE_SCRIPT });
  if (typeof scripted.lockstepDeleteIfEqual !== "function")
    redis.defineCommand("lockstepDeleteIfEqual", { lua: DELETE_IF_EQUAL_SCRIPT, numberOfKeys: 1 });
  return redis as Redis & ScriptCommands;
}

/** Runs a MULTI; any command's error fails the whole call (as the REST client's multi-exec does). */
async function execAll(tx: ChainableCommander): Promise<unknown[]> {
  const replies = await tx.exec();
  if (!replies) throw new Error("The transaction was discarded.");
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

function logActivity(tx: ChainableCommander, k: Keys, subject: User, entry: ActivityEntry, ttlSeconds: number): void {
  const key = k.activityLog(subject.iss, subject.sub);
  tx.lpush(key, JSON.stringify(entry));
  tx.ltrim(key, 0, ACTIVITY_LOG_LENGTH - 1);
  tx.expire(key, ttlSeconds);
}

/**
 * The stores on Redis through a native client (ioredis: one TCP connection, RESP). Same commands,
 * keys, scripts and semantics as lib/store/upstash.ts, and the same contract (tests/store/contract.ts).
 * `ttlSeconds` is the longest a session lives and the TTL of every key written here.
 */
export function nativeStores(client: Redis, k: Keys, ttlSeconds: number): Stores {
  const redis = withScripts(client);

  const sessions: SessionStore = {
    create: (record) =>
      storeCall("session.create", async () => {
        const id = newSessionId();
        const tx = redis.multi();
        tx.set(k.session(id), JSON.stringify(record), "EX", ttlSeconds);
        tx.sadd(k.subjectSessions(record.iss, record.sub), id);
        tx.expire(k.subjectSessions(record.iss, record.sub), ttlSeconds);
        if (record.sid) tx.set(k.idpSession(record.iss, record.sid), id, "EX", ttlSeconds);
        if (record.claims.email) {
          tx.sadd(k.emailSubjects(record.claims.email), userMember(record));
          tx.expire(k.emailSubjects(record.claims.email), ttlSeconds);
        }
        logActivity(tx, k, record, signedInEntry(id, record), ttlSeconds);
        await execAll(tx);
        return id;
      }),

    read: (id) => storeCall("session.read", async () => parseRecord(await redis.get(k.session(id)))),

    update: (id, record, activity) =>
      storeCall("session.update", async () => {
        const tx = redis.multi();
        tx.set(k.session(id), JSON.stringify(record), "KEEPTTL", "XX");
        if (activity) logActivity(tx, k, record, { at: Date.now(), session: id, kind: activity }, ttlSeconds);
        const [ok] = await execAll(tx);
        return ok === "OK";
      }),

    find: (query) =>
      storeCall("session.find", async () => {
        let ids: string[];
        if (query.sid !== undefined) {
          const id = await redis.get(k.idpSession(query.iss, query.sid));
          ids = id ? [id] : [];
        } else if (query.sub !== undefined) {
          ids = await redis.smembers(k.subjectSessions(query.iss, query.sub));
        } else {
          throw new TypeError("A session query needs a sid or a sub.");
        }
        if (ids.length === 0) return [];
        const raws = await redis.mget(...ids.map((id) => k.session(id)));
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
        await execAll(tx);
      }),

    touch: (id, at) =>
      storeCall("session.touch", async () => {
        await redis.set(k.lastSeen(id), String(Math.floor(at)), "EX", ttlSeconds);
      }),

    lastSeen: (ids) =>
      storeCall("session.last_seen", async () => {
        if (ids.length === 0) return [];
        const values = await redis.mget(...ids.map((id) => k.lastSeen(id)));
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
        await execAll(tx);
      }),

    activity: (subject) =>
      storeCall("session.activity", async () => {
        const raw = await redis.lrange(k.activityLog(subject.iss, subject.sub), 0, -1);
        return raw.map((line) => JSON.parse(line) as ActivityEntry);
      }),

    setDisabled: (subject, disabled) =>
      storeCall("account.set_disabled", async () => {
        const key = k.accountDisabled(subject.iss, subject.sub);
        if (disabled) await redis.set(key, "1", "EX", DISABLED_TTL_SECONDS);
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
      storeCall("session.lock", async () => (await redis.set(k.refreshLock(sessionId), owner, "PX", ttlMs, "NX")) === "OK"),

    unlock: (sessionId, owner) =>
      storeCall("session.unlock", async () => {
        await redis.lockstepDeleteIfEqual(k.refreshLock(sessionId), owner);
      }),
  };

  const replayKey = (r: { kind: "bcl" | "ssf"; iss: string; jti: string }) =>
    r.kind === "bcl" ? k.logoutTokenJti(r.iss, r.jti) : k.ssfJti(r.iss, r.jti);

  const revocations: RevocationList = {
    check: (handle) =>
      storeCall("revocation.check", async () => {
        // One round trip: both commands go out in one write (a pipeline, not a transaction).
        const replies = await redis
          .pipeline()
          .exists(k.session(handle.lsid))
          .mget(...revocationKeys(k, handle))
          .exec();
        if (!replies) throw new Error("The pipeline was discarded.");
        const [[existsError, exists], [mgetError, values]] = replies as [[Error | null, number], [Error | null, (string | null)[]]];
        if (existsError || mgetError) throw existsError ?? mgetError;
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
        const scriptKeys = [
          revocation.replay ? replayKey(revocation.replay) : "",
          k.endedFeed(),
          ...targetKeys,
          ...revocation.sessionIds.map((id) => k.revokedSession(id)),
        ];
        const written = await redis.lockstepRevoke(
          scriptKeys.length,
          ...scriptKeys,
          String(wholeSeconds(revocation.replay?.ttlSeconds ?? 1)),
          String(ttlSeconds),
          revocation.reason,
          String(Math.floor(revocation.now)),
          String(revocation.targets.length),
          String(FEED_RETENTION_MS),
          ...revocation.targets.map((t) => (t.kind === "subject" ? String(Math.floor(t.beforeMs)) : "")),
          ...events.map((e) => JSON.stringify(e)),
        );
        return Number(written) === 1 ? events : null;
      }),

    remember: (replay) =>
      storeCall(
        "revocation.remember",
        async () => (await redis.set(replayKey(replay), "1", "EX", wholeSeconds(replay.ttlSeconds), "NX")) === "OK",
      ),

    seen: (replay) => storeCall("revocation.seen", async () => (await redis.exists(replayKey(replay))) === 1),

    endedSince: (sinceMs) =>
      storeCall("revocation.ended_since", async () => {
        const members = await redis.zrangebyscore(k.endedFeed(), Math.floor(sinceMs), "+inf");
        return members.map((m) => JSON.parse(m) as EndedEvent);
      }),
  };

  const streams: StreamStateStore = {
    readStream: () => storeCall("ssf.read_stream", () => redis.get(k.ssfStream())),
    writeStream: (json, ttl) =>
      storeCall("ssf.write_stream", async () => {
        await redis.set(k.ssfStream(), json, "EX", wholeSeconds(ttl));
      }),
    deleteStream: () =>
      storeCall("ssf.delete_stream", async () => {
        await redis.del(k.ssfStream());
      }),
    setVerificationState: (state, ttl) =>
      storeCall("ssf.set_verification", async () => {
        await redis.set(k.ssfVerification(), state, "EX", wholeSeconds(ttl));
      }),
    useVerificationState: (state) =>
      storeCall("ssf.use_verification", async () => (await redis.lockstepDeleteIfEqual(k.ssfVerification(), state)) === 1),
  };

  return { sessions, revocations, streams };
}
