import { groupByTag, idpSessionTag, sessionTag, userTag, type Keys } from "./keys";
import { storeCall } from "./errors";
import { MARK_SCRIPT, FEED_SCRIPT, DELETE_IF_EQUAL_SCRIPT, REVOKE_SCRIPT } from "./revoke-script";
import { mgetBySessionId, replayKey, revokeBySlot, revokeInOneCall, type OneCallSteps, type RevokeSteps } from "./revoke";
import {
  ACTIVITY_LOG_LENGTH,
  DISABLED_TTL_SECONDS,
  newSessionId,
  wholeSeconds,
  type ActivityEntry,
  type RevocationList,
  type AccountStore,
  type SessionStore,
  type Stores,
  type StreamStateStore,
  type User,
} from "./ports";
import {
  endedEntry,
  matching,
  parseActivity,
  parseEndedEvents,
  parseLastSeen,
  parseRecord,
  parseUserMember,
  signedInEntry,
  userMember,
} from "./records";
import type { Command, RedisWire } from "./wire";
import { judge, revocationKeys } from "./verdict";
import { parseApiState } from "@/lib/api/state";
import type { SessionHandle } from "@/lib/session/handle";

/** Commands for one hash slot (`tag`), to run in one transaction with the others of that slot. */
type SlotCommands = { tag: string; commands: Command[] };

/** How many ended sessions one clean-up transaction holds at most (six commands each), so that no request grows without bound. */
const END_CHUNK = 256;

/** The options of `redisStores`. */
export type RedisStoreOptions = {
  /** The longest one operation may take before it fails with a StoreError (on top of the client's own timeouts). */
  operationTimeoutMs?: number;
};

function callWithin<T>(operation: string, timeoutMs: number | undefined, run: () => Promise<T>): Promise<T> {
  if (timeoutMs === undefined) return storeCall(operation, run);
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

function activityCommands(k: Keys, user: User, entry: ActivityEntry, ttlSeconds: number): Command[] {
  const key = k.activityLog(user.iss, user.sub);
  return [
    ["lpush", key, JSON.stringify(entry)],
    ["ltrim", key, 0, ACTIVITY_LOG_LENGTH - 1],
    ["expire", key, ttlSeconds],
  ];
}

/**
 * Runs slot groups as one transaction per slot on a Cluster (commands in order within each), the
 * slots' transactions together; elsewhere as one transaction. Only for commands whose slots need no
 * order between them.
 */
async function bySlot(wire: RedisWire, groups: readonly SlotCommands[]): Promise<void> {
  if (!wire.cluster) {
    await wire.transaction(groups.flatMap((g) => g.commands));
    return;
  }
  await Promise.all([...groupByTag(groups, (g) => g.tag).values()].map((slot) => wire.transaction(slot.flatMap((g) => g.commands))));
}

/**
 * The one round trip of the guard and the second gate (RevocationList.check): whether the record
 * exists and whether a mark names the session, in one pipeline in the user's slot (the lsid carries
 * its user's tag). Edge-safe: the edge guard builds only this.
 */
export function sessionCheck(wire: RedisWire, k: Keys, options: RedisStoreOptions = {}): Pick<RevocationList, "check"> {
  return {
    check: (handle: SessionHandle) =>
      callWithin("revocation.check", options.operationTimeoutMs, async () => {
        const [exists, values] = await wire.pipeline([
          ["exists", k.session(handle.lsid)],
          ["mget", ...revocationKeys(k, handle)],
        ]);
        return judge(handle, exists === 1, values as (string | null)[]);
      }),
  };
}

/**
 * The stores on Redis, written once at the command level over a RedisWire: one Redis server,
 * Upstash or the gateway (one Redis to their clients), or a Redis Cluster (`wire.cluster`), where
 * every transaction, pipeline and script keeps to one hash slot (lib/store/keys.ts). `ttlSeconds` is
 * the longest a session lives and the TTL of every key written here. Passes tests/store/contract.ts,
 * as the in-memory reference (lib/store/memory.ts) does.
 */
export function redisStores(wire: RedisWire, k: Keys, ttlSeconds: number, options: RedisStoreOptions = {}): Stores {
  const call = <T>(operation: string, run: () => Promise<T>) => callWithin(operation, options.operationTimeoutMs, run);
  const get = async (key: string) => (await wire.send(["get", key])) as string | null;
  const exists = async (key: string) => (await wire.send(["exists", key])) === 1;
  const setNx = async (key: string, value: string, ttl: ["ex" | "px", number]) =>
    (await wire.send(["set", key, value, ...ttl, "nx"])) === "OK";
  const mget = async (keys: string[]) => (await wire.send(["mget", ...keys])) as (string | null)[];
  const members = async (key: string) => (await wire.send(["smembers", key])) as string[];
  const deleteIfEqual = async (key: string, value: string) => Number(await wire.script(DELETE_IF_EQUAL_SCRIPT, [key], [value])) === 1;

  const sessions: SessionStore & AccountStore = {
    create: (record) =>
      call("session.create", async () => {
        // The id carries the user's tag: the record, the subject's set and the log share one slot.
        const id = newSessionId(record);
        const { sid, claims } = record;
        const userSlot: Command[] = [
          ["set", k.session(id), JSON.stringify(record), "ex", ttlSeconds],
          ["sadd", k.subjectSessions(record.iss, record.sub), id],
          ["expire", k.subjectSessions(record.iss, record.sub), ttlSeconds],
          ...activityCommands(k, record, signedInEntry(id, record), ttlSeconds),
        ];
        // The email index is keyed by address: a slot of its own.
        const emailSlot = (email: string): Command[] => [
          ["sadd", k.emailSubjects(email), userMember(record)],
          ["expire", k.emailSubjects(email), ttlSeconds],
        ];
        // The IdP session's slot: who holds the sid, and whether it already ended (a sid-only logout
        // that came first: lib/store/revoke.ts). Its last reply is that ending, if any.
        const sidSlot = (sid: string): Command[] => [
          ["set", k.idpSession(record.iss, sid), id, "ex", ttlSeconds],
          ["set", k.idpSessionUser(record.iss, sid), sessionTag(id), "ex", ttlSeconds],
          ["get", k.idpSessionEnded(record.iss, sid)],
        ];
        // A failure of any step fails the sign-in (no cookie names the id); what was written expires
        // with its TTL. One transaction on one Redis; on a Cluster one per slot in turn (the user's,
        // the IdP session's, the email's).
        let ended: unknown;
        if (!wire.cluster) {
          const replies = await wire.transaction([
            ...userSlot,
            ...(claims.email ? emailSlot(claims.email) : []),
            ...(sid ? sidSlot(sid) : []),
          ]);
          ended = sid ? replies.at(-1) : undefined;
        } else {
          await wire.transaction(userSlot);
          if (sid) ended = (await wire.transaction(sidSlot(sid))).at(-1);
          if (claims.email) await wire.transaction(emailSlot(claims.email));
        }
        // Then this user's own mark, for an IdP session that had already ended.
        if (sid && typeof ended === "string") {
          await wire.send(["set", k.revokedIdpSession(sessionTag(id), record.iss, sid), ended, "ex", ttlSeconds]);
        }
        return id;
      }),

    read: (id) => call("session.read", async () => parseRecord(await get(k.session(id)))),

    update: (id, record, activity) =>
      call("session.update", async () => {
        // One slot: the id carries the record's user's tag.
        const [ok] = await wire.transaction([
          ["set", k.session(id), JSON.stringify(record), "keepttl", "xx"],
          ...(activity ? activityCommands(k, record, { at: Date.now(), session: id, kind: activity }, ttlSeconds) : []),
        ]);
        return ok === "OK";
      }),

    find: (query) =>
      call("session.find", async () => {
        let ids: string[];
        if (query.sid !== undefined) {
          const id = await get(k.idpSession(query.iss, query.sid));
          ids = id ? [id] : [];
        } else if (query.sub !== undefined) {
          ids = await members(k.subjectSessions(query.iss, query.sub));
        } else {
          throw new TypeError("A session query needs a sid or a sub.");
        }
        if (ids.length === 0) return [];
        const raws = await mgetBySessionId(ids, k.session, mget);
        return matching(
          query,
          ids.map((id, i) => ({ id, record: parseRecord(raws[i]) })),
        );
      }),

    holderOf: (iss, sid) => call("session.holder_of", () => get(k.idpSession(iss, sid))),

    end: (ended, reason, detail = {}) =>
      call("session.end", async () => {
        const now = Date.now();
        // The users' slots and the IdP sessions' indexes: nothing orders them (the revocation is
        // already stored, and a stale index is harmless: find checks the record it names).
        for (let i = 0; i < ended.length; i += END_CHUNK) {
          const groups: SlotCommands[] = [];
          for (const { id, record } of ended.slice(i, i + END_CHUNK)) {
            groups.push(
              { tag: sessionTag(id), commands: [["del", k.session(id), k.lastSeen(id), k.apiState(id)]] },
              {
                tag: userTag(record.iss, record.sub),
                commands: [
                  ["srem", k.subjectSessions(record.iss, record.sub), id],
                  ...activityCommands(k, record, endedEntry(id, record, reason, detail, now), ttlSeconds),
                ],
              },
            );
            if (record.sid)
              groups.push({ tag: idpSessionTag(record.iss, record.sid), commands: [["del", k.idpSession(record.iss, record.sid)]] });
          }
          await bySlot(wire, groups);
        }
      }),

    touch: (id, at) =>
      call("session.touch", async () => {
        await wire.send(["set", k.lastSeen(id), String(Math.floor(at)), "ex", ttlSeconds]);
      }),

    lastSeen: (ids) =>
      call("session.last_seen", async () => (ids.length === 0 ? [] : parseLastSeen(await mgetBySessionId(ids, k.lastSeen, mget)))),

    subjectsForEmail: (email) =>
      call("session.subjects_for_email", async () => (await members(k.emailSubjects(email))).map(parseUserMember)),

    changeEmail: (user, from, to) =>
      call("session.change_email", async () => {
        // Two addresses, two slots: the new entry first, so that a failure in between leaves the
        // user findable by both addresses (and the caller retries), never by neither.
        const member = userMember(user);
        await wire.transaction([
          ["sadd", k.emailSubjects(to), member],
          ["expire", k.emailSubjects(to), ttlSeconds],
        ]);
        await wire.send(["srem", k.emailSubjects(from), member]);
      }),

    activity: (user) =>
      call("session.activity", async () =>
        parseActivity((await wire.send(["lrange", k.activityLog(user.iss, user.sub), 0, -1])) as string[]),
      ),

    setDisabled: (user, disabled) =>
      call("account.set_disabled", async () => {
        const key = k.accountDisabled(user.iss, user.sub);
        await wire.send(disabled ? ["set", key, "1", "ex", DISABLED_TTL_SECONDS] : ["del", key]);
      }),

    isDisabled: (user) => call("account.is_disabled", () => exists(k.accountDisabled(user.iss, user.sub))),

    purge: (user) =>
      call("account.purge", async () => {
        // One slot: the user's.
        await wire.send([
          "del",
          k.activityLog(user.iss, user.sub),
          k.subjectSessions(user.iss, user.sub),
          k.accountDisabled(user.iss, user.sub),
        ]);
      }),

    lock: (sessionId, owner, ttlMs) =>
      call("session.lock", () => setNx(k.refreshLock(sessionId), owner, ["px", Math.max(1, Math.floor(ttlMs))])),

    unlock: (sessionId, owner) =>
      call("session.unlock", async () => {
        await deleteIfEqual(k.refreshLock(sessionId), owner);
      }),

    claimCheck: (sessionId, ttlMs) =>
      call("session.claim_check", () => setNx(k.livenessClaim(sessionId), "1", ["px", Math.max(1, Math.floor(ttlMs))])),

    apiState: (sessionId) => call("api.state", async () => parseApiState(await get(k.apiState(sessionId)))),

    setApiState: (sessionId, state, expiresAt) =>
      call("api.set_state", async () => {
        // One slot (the id carries its user's tag): written with the record's existence read in the
        // same transaction. An `end` that ran first left no record, so this state goes too; one that
        // runs after deletes it with the record.
        const at = Math.max(Math.floor(expiresAt), Date.now() + 1_000);
        const [, present] = await wire.transaction([
          ["set", k.apiState(sessionId), JSON.stringify(state), "pxat", at],
          ["exists", k.session(sessionId)],
        ]);
        if (present === 1) return true;
        await wire.send(["del", k.apiState(sessionId)]);
        return false;
      }),

    clientApiState: (api) => call("api.client_state", async () => parseApiState(await get(k.clientApiState(api)))),

    setClientApiState: (api, state, ttlMs) =>
      call("api.set_client_state", async () => {
        await wire.send(["set", k.clientApiState(api), JSON.stringify(state), "px", Math.max(1, Math.floor(ttlMs))]);
      }),

    lockClientApi: (api, owner, ttlMs) =>
      call("api.lock", () => setNx(k.clientApiLock(api), owner, ["px", Math.max(1, Math.floor(ttlMs))])),

    unlockClientApi: (api, owner) =>
      call("api.unlock", async () => {
        await deleteIfEqual(k.clientApiLock(api), owner);
      }),
  };

  const steps: RevokeSteps & OneCallSteps = {
    exists,
    isMember: async (key, member) => (await wire.send(["sismember", key, member])) === 1,
    appendFeed: async (key, args) => {
      await wire.script(FEED_SCRIPT, [key], args);
    },
    endIdpSession: async (endedKey, userKey, reason, ttl) => {
      const [, tag] = await wire.transaction([
        ["set", endedKey, reason, "ex", ttl],
        ["get", userKey],
      ]);
      return typeof tag === "string" ? tag : null;
    },
    mark: async (keys, args) => {
      await wire.script(MARK_SCRIPT, keys, args);
    },
    setOnce: (key, ttl) => setNx(key, "1", ["ex", ttl]),
    mget,
    revoke: (keys, args) => wire.script(REVOKE_SCRIPT, keys, args),
  };

  const revocations: RevocationList = {
    ...sessionCheck(wire, k, options),

    revoke: (revocation) =>
      call("revocation.revoke", () =>
        // One script on one Redis; per-slot steps on a Cluster (lib/store/revoke.ts).
        wire.cluster ? revokeBySlot(steps, k, revocation, ttlSeconds) : revokeInOneCall(steps, k, revocation, ttlSeconds),
      ),

    remember: (replay) => call("revocation.remember", () => setNx(replayKey(k, replay), "1", ["ex", wholeSeconds(replay.ttlSeconds)])),

    seen: (replay) => call("revocation.seen", () => exists(replayKey(k, replay))),

    endedSince: (sinceMs) =>
      call("revocation.ended_since", async () =>
        parseEndedEvents((await wire.send(["zrange", k.endedFeed(), Math.floor(sinceMs), "+inf", "byscore"])) as string[]),
      ),
  };

  const streams: StreamStateStore = {
    readStream: () => call("ssf.read_stream", () => get(k.ssfStream())),
    writeStream: (json, ttl) =>
      call("ssf.write_stream", async () => {
        await wire.send(["set", k.ssfStream(), json, "ex", wholeSeconds(ttl)]);
      }),
    deleteStream: () =>
      call("ssf.delete_stream", async () => {
        await wire.send(["del", k.ssfStream()]);
      }),
    setVerificationState: (state, ttl) =>
      call("ssf.set_verification", async () => {
        await wire.send(["set", k.ssfVerification(), state, "ex", wholeSeconds(ttl)]);
      }),
    useVerificationState: (state) => call("ssf.use_verification", () => deleteIfEqual(k.ssfVerification(), state)),
  };

  return { sessions, revocations, streams };
}
