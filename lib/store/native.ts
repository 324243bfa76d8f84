import type { ChainableCommander, Cluster, Redis, Result } from "ioredis";
import { groupByTag, idpSessionTag, sessionTag, userTag, type Keys } from "./keys";
import { storeCall } from "./errors";
import { MARK_SCRIPT, FEED_SCRIPT, DELETE_IF_EQUAL_SCRIPT, REVOKE_SCRIPT } from "./revoke-script";
import { mgetBySessionId, replayKey, revokeBySlot, revokeInOneCall, type OneCallSteps, type RevokeSteps } from "./slots";
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

/*
 * Why ioredis (5.x) and not node-redis 5:
 * - Scripts: `defineCommand` sends EVALSHA and falls back to EVAL on NOSCRIPT by itself (also inside
 *   MULTI and pipelines), so the revocation script crosses the wire once per connection.
 * - Cluster: `Cluster` has the same command API as `Redis`, so these stores take
 *   either: every command, transaction, pipeline and script here touches one hash slot
 *   (lib/store/keys.ts), which a Cluster requires of MULTI and of its pipelines too. A defined
 *   command on a Cluster sends EVALSHA to the node that owns its keys' slot and loads the script
 *   there on NOSCRIPT. node-redis has a cluster client too, with another API.
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
  lockstepMark(numKeys: number, ...keysAndArgs: string[]): Result<number, { type: "default" }>;
  lockstepFeed(key: string, ...args: string[]): Result<number, { type: "default" }>;
  lockstepDeleteIfEqual(key: string, value: string): Result<number, { type: "default" }>;
  lockstepRevoke(numKeys: number, ...keysAndArgs: string[]): Result<unknown, { type: "default" }>;
};

/** One Redis server, or a Redis Cluster (lib/store/native-client.ts makes either). */
export type NativeClient = Redis | Cluster;

function withScripts(redis: NativeClient): NativeClient & ScriptCommands {
  const scripted = redis as NativeClient & Partial<ScriptCommands>;
  if (typeof scripted.lockstepMark !== "function") redis.defineCommand("lockstepMark", { lua: MARK_SCRIPT });
  if (typeof scripted.lockstepRevoke !== "function") redis.defineCommand("lockstepRevoke", { lua: REVOKE_SCRIPT });
  if (typeof scripted.lockstepFeed !== "function") redis.defineCommand("lockstepFeed", { lua: FEED_SCRIPT, numberOfKeys: 1 });
  if (typeof scripted.lockstepDeleteIfEqual !== "function")
    redis.defineCommand("lockstepDeleteIfEqual", { lua: DELETE_IF_EQUAL_SCRIPT, numberOfKeys: 1 });
  return redis as NativeClient & ScriptCommands;
}

/** Commands to run in one transaction per hash slot: `tag` names the slot. */
type SlotOp = { tag: string; run: (tx: ChainableCommander) => void };

/**
 * Runs ops as one MULTI per slot on a Cluster, ops in order within each; the slots' transactions go
 * out together (one round trip of waiting), so only ops whose slots need no order between them
 * belong here. On one Redis server they are one MULTI.
 */
async function execBySlot(redis: NativeClient, ops: readonly SlotOp[]): Promise<void> {
  const groups = redis.isCluster ? [...groupByTag(ops, (op) => op.tag).values()] : [ops];
  await Promise.all(
    groups.map(async (group) => {
      const tx = redis.multi();
      for (const op of group) op.run(tx);
      await execAll(tx);
    }),
  );
}

/**
 * The longest one store operation (a few commands) may take before it fails with a StoreError. Each
 * command has its own timeout (native-client.ts), but a Cluster client queues commands while it has
 * no slot map (no node answered yet, or all went away) and ioredis bounds that queue by nothing; a
 * handler must answer 503 rather than hang, so the bound is here. A command still queued when it
 * passes may run later: every write here is idempotent or expires with its TTL.
 */
export const NATIVE_OPERATION_TIMEOUT_MS = 5_000;

function callWithin<T>(timeoutMs: number, operation: string, run: () => Promise<T>): Promise<T> {
  return storeCall(operation, async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("The store operation timed out.")), timeoutMs);
    });
    try {
      return await Promise.race([run(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  });
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
 * `ttlSeconds` is the longest a session lives and the TTL of every key written here;
 * `operationTimeoutMs` bounds each operation (the guard passes its GUARD_REDIS_TIMEOUT_MS).
 */
export function nativeStores(client: NativeClient, k: Keys, ttlSeconds: number, operationTimeoutMs = NATIVE_OPERATION_TIMEOUT_MS): Stores {
  const redis = withScripts(client);
  const call = <T>(operation: string, run: () => Promise<T>) => callWithin(operationTimeoutMs, operation, run);

  const sessions: SessionStore = {
    create: (record) =>
      call("session.create", async () => {
        // The id carries the user's tag: the record, the subject's set and the log share one slot.
        const id = newSessionId(record);
        const userSlot = (tx: ChainableCommander) => {
          tx.set(k.session(id), JSON.stringify(record), "EX", ttlSeconds);
          tx.sadd(k.subjectSessions(record.iss, record.sub), id);
          tx.expire(k.subjectSessions(record.iss, record.sub), ttlSeconds);
          logActivity(tx, k, record, signedInEntry(id, record), ttlSeconds);
        };
        // The IdP session's slot: who holds the sid, and whether it already ended (a sid-only logout
        // that came first; see revokeBySlot). Its last reply is that ending, if any.
        const sidSlot = (tx: ChainableCommander, sid: string) =>
          tx
            .set(k.idpSession(record.iss, sid), id, "EX", ttlSeconds)
            .set(k.idpSessionUser(record.iss, sid), sessionTag(id), "EX", ttlSeconds)
            .get(k.idpSessionEnded(record.iss, sid));
        // The email index is keyed by address: a slot of its own.
        const emailSlot = (tx: ChainableCommander, email: string) =>
          tx.sadd(k.emailSubjects(email), userMember(record)).expire(k.emailSubjects(email), ttlSeconds);
        const { sid, claims } = record;

        // A failure of any step fails the sign-in (no cookie names the id); what was written expires
        // with its TTL. On one Redis server all of it is one transaction; on a Cluster, one per slot
        // in turn (the user's, the IdP session's, the email's).
        let ended: unknown;
        if (!redis.isCluster) {
          const tx = redis.multi();
          userSlot(tx);
          if (claims.email) emailSlot(tx, claims.email);
          if (sid) sidSlot(tx, sid);
          ended = (await execAll(tx)).at(-1);
        } else {
          const tx = redis.multi();
          userSlot(tx);
          await execAll(tx);
          if (sid) ended = (await execAll(sidSlot(redis.multi(), sid))).at(-1);
          if (claims.email) await execAll(emailSlot(redis.multi(), claims.email));
        }
        // Then this user's own mark, for an IdP session that had already ended.
        if (sid && typeof ended === "string") {
          await redis.set(k.revokedIdpSession(sessionTag(id), record.iss, sid), ended, "EX", ttlSeconds);
        }
        return id;
      }),

    read: (id) => call("session.read", async () => parseRecord(await redis.get(k.session(id)))),

    update: (id, record, activity) =>
      call("session.update", async () => {
        // One slot: the id carries the record's user's tag.
        const tx = redis.multi();
        tx.set(k.session(id), JSON.stringify(record), "KEEPTTL", "XX");
        if (activity) logActivity(tx, k, record, { at: Date.now(), session: id, kind: activity }, ttlSeconds);
        const [ok] = await execAll(tx);
        return ok === "OK";
      }),

    find: (query) =>
      call("session.find", async () => {
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
        const raws = await mgetBySessionId(ids, k.session, (keys) => redis.mget(...keys));
        return matching(
          query,
          ids.map((id, i) => ({ id, record: parseRecord(raws[i]) })),
        );
      }),

    holderOf: (iss, sid) => call("session.holder_of", () => redis.get(k.idpSession(iss, sid))),

    end: (ended, reason, detail = {}) =>
      call("session.end", async () => {
        if (ended.length === 0) return;
        const now = Date.now();
        // Each user's slot and the IdP sessions' indexes together: nothing orders them (the revocation
        // is already stored, and a stale index is harmless: find checks the record it names).
        const ops: SlotOp[] = [];
        for (const { id, record } of ended) {
          const user = userTag(record.iss, record.sub);
          ops.push({ tag: sessionTag(id), run: (tx) => tx.del(k.session(id), k.lastSeen(id), k.apiState(id)) });
          ops.push({ tag: user, run: (tx) => tx.srem(k.subjectSessions(record.iss, record.sub), id) });
          ops.push({ tag: user, run: (tx) => logActivity(tx, k, record, endedEntry(id, record, reason, detail, now), ttlSeconds) });
        }
        for (const { record } of ended) {
          const sid = record.sid;
          if (sid) ops.push({ tag: idpSessionTag(record.iss, sid), run: (tx) => tx.del(k.idpSession(record.iss, sid)) });
        }
        await execBySlot(redis, ops);
      }),

    touch: (id, at) =>
      call("session.touch", async () => {
        await redis.set(k.lastSeen(id), String(Math.floor(at)), "EX", ttlSeconds);
      }),

    lastSeen: (ids) =>
      call("session.last_seen", async () => {
        if (ids.length === 0) return [];
        return parseLastSeen(await mgetBySessionId(ids, k.lastSeen, (keys) => redis.mget(...keys)));
      }),

    subjectsForEmail: (email) =>
      call("session.subjects_for_email", async () => {
        const members = await redis.smembers(k.emailSubjects(email));
        return members.map(parseUserMember);
      }),

    changeEmail: (subject, from, to) =>
      call("session.change_email", async () => {
        // Two addresses, two slots: the new entry first, so that a failure in between leaves the
        // subject findable by both addresses (and the caller retries), never by neither.
        const member = userMember(subject);
        await execAll(redis.multi().sadd(k.emailSubjects(to), member).expire(k.emailSubjects(to), ttlSeconds));
        await redis.srem(k.emailSubjects(from), member);
      }),

    activity: (subject) =>
      call("session.activity", async () => {
        const raw = await redis.lrange(k.activityLog(subject.iss, subject.sub), 0, -1);
        return raw.map((line) => JSON.parse(line) as ActivityEntry);
      }),

    setDisabled: (subject, disabled) =>
      call("account.set_disabled", async () => {
        const key = k.accountDisabled(subject.iss, subject.sub);
        if (disabled) await redis.set(key, "1", "EX", DISABLED_TTL_SECONDS);
        else await redis.del(key);
      }),

    isDisabled: (subject) =>
      call("account.is_disabled", async () => (await redis.exists(k.accountDisabled(subject.iss, subject.sub))) === 1),

    purge: (subject) =>
      call("account.purge", async () => {
        // One slot: the user's.
        await redis.del(
          k.activityLog(subject.iss, subject.sub),
          k.subjectSessions(subject.iss, subject.sub),
          k.accountDisabled(subject.iss, subject.sub),
        );
      }),

    lock: (sessionId, owner, ttlMs) =>
      call("session.lock", async () => (await redis.set(k.refreshLock(sessionId), owner, "PX", ttlMs, "NX")) === "OK"),

    claimCheck: (sessionId, ttlMs) =>
      call(
        "session.claim_check",
        async () => (await redis.set(k.livenessClaim(sessionId), "1", "PX", Math.max(1, Math.floor(ttlMs)), "NX")) === "OK",
      ),
    unlock: (sessionId, owner) =>
      call("session.unlock", async () => {
        await redis.lockstepDeleteIfEqual(k.refreshLock(sessionId), owner);
      }),

    apiState: (sessionId) => call("api.state", async () => parseApiState(await redis.get(k.apiState(sessionId)))),

    setApiState: (sessionId, state, expiresAt) =>
      call("api.set_state", async () => {
        // One slot (the id carries its user's tag): written with the record's existence read in the
        // same transaction. An `end` that ran first left no record, so this state goes too; one that
        // runs after deletes it with the record.
        const at = Math.max(Math.floor(expiresAt), Date.now() + 1_000);
        const [, exists] = await execAll(
          redis.multi().set(k.apiState(sessionId), JSON.stringify(state), "PXAT", at).exists(k.session(sessionId)),
        );
        if (exists === 1) return true;
        await redis.del(k.apiState(sessionId));
        return false;
      }),

    clientApiState: (api) => call("api.client_state", async () => parseApiState(await redis.get(k.clientApiState(api)))),

    setClientApiState: (api, state, ttlMs) =>
      call("api.set_client_state", async () => {
        await redis.set(k.clientApiState(api), JSON.stringify(state), "PX", Math.max(1, Math.floor(ttlMs)));
      }),

    lockClientApi: (api, owner, ttlMs) =>
      call("api.lock", async () => (await redis.set(k.clientApiLock(api), owner, "PX", Math.max(1, Math.floor(ttlMs)), "NX")) === "OK"),

    unlockClientApi: (api, owner) =>
      call("api.unlock", async () => {
        await redis.lockstepDeleteIfEqual(k.clientApiLock(api), owner);
      }),
  };

  const revokeSteps: RevokeSteps = {
    exists: async (key) => (await redis.exists(key)) === 1,
    isMember: async (key, member) => (await redis.sismember(key, member)) === 1,
    appendFeed: async (key, args) => {
      await redis.lockstepFeed(key, ...args);
    },
    endIdpSession: async (endedKey, userKey, reason, ttl) => {
      const [, tag] = await execAll(redis.multi().set(endedKey, reason, "EX", ttl).get(userKey));
      return typeof tag === "string" ? tag : null;
    },
    mark: async (keys, args) => {
      await redis.lockstepMark(keys.length, ...keys, ...args);
    },
    setOnce: async (key, ttl) => (await redis.set(key, "1", "EX", ttl, "NX")) === "OK",
    mget: (keys) => redis.mget(...keys),
  };
  const oneCallSteps: OneCallSteps = { ...revokeSteps, revoke: (keys, args) => redis.lockstepRevoke(keys.length, ...keys, ...args) };

  const revocations: RevocationList = {
    check: (handle) =>
      call("revocation.check", async () => {
        // One round trip, one slot (the lsid carries its user's tag): both commands go out in one
        // write (a pipeline, not a transaction).
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
      call("revocation.revoke", () =>
        // One script on one Redis server; per-slot steps on a Cluster (lib/store/slots.ts).
        redis.isCluster ? revokeBySlot(revokeSteps, k, revocation, ttlSeconds) : revokeInOneCall(oneCallSteps, k, revocation, ttlSeconds),
      ),

    remember: (replay) =>
      call(
        "revocation.remember",
        async () => (await redis.set(replayKey(k, replay), "1", "EX", wholeSeconds(replay.ttlSeconds), "NX")) === "OK",
      ),

    seen: (replay) => call("revocation.seen", async () => (await redis.exists(replayKey(k, replay))) === 1),

    endedSince: (sinceMs) =>
      call("revocation.ended_since", async () => {
        const members = await redis.zrangebyscore(k.endedFeed(), Math.floor(sinceMs), "+inf");
        return members.map((m) => JSON.parse(m) as EndedEvent);
      }),
  };

  const streams: StreamStateStore = {
    readStream: () => call("ssf.read_stream", () => redis.get(k.ssfStream())),
    writeStream: (json, ttl) =>
      call("ssf.write_stream", async () => {
        await redis.set(k.ssfStream(), json, "EX", wholeSeconds(ttl));
      }),
    deleteStream: () =>
      call("ssf.delete_stream", async () => {
        await redis.del(k.ssfStream());
      }),
    setVerificationState: (state, ttl) =>
      call("ssf.set_verification", async () => {
        await redis.set(k.ssfVerification(), state, "EX", wholeSeconds(ttl));
      }),
    useVerificationState: (state) =>
      call("ssf.use_verification", async () => (await redis.lockstepDeleteIfEqual(k.ssfVerification(), state)) === 1),
  };

  return { sessions, revocations, streams };
}
