import { groupByTag, sessionTag, userTag, type Keys } from "./keys";
import { parseRecord } from "./records";
import {
  FEED_RETENTION_MS,
  endDetail,
  wholeSeconds,
  type EndedEvent,
  type ReplayRecord,
  type Revocation,
  type Revoked,
  type StoredSession,
} from "./ports";

/**
 * The revocation algorithm of the Redis store (lib/store/redis.ts): RevocationList.revoke in one
 * script on one Redis server (revokeInOneCall), or in per-slot steps on a Redis Cluster
 * (revokeBySlot), where every command touches one hash slot (lib/store/keys.ts); the order of those
 * steps, and why it is safe.
 */

export const replayKey = (k: Keys, r: Omit<ReplayRecord, "ttlSeconds">): string =>
  r.kind === "bcl" ? k.logoutTokenJti(r.iss, r.jti) : k.ssfJti(r.iss, r.jti);

/** One client's way of running each step of `revokeBySlot`; each step is one command or transaction in one slot. */
export type RevokeSteps = {
  exists(key: string): Promise<boolean>;
  /** SISMEMBER. */
  isMember(setKey: string, member: string): Promise<boolean>;
  /** FEED_SCRIPT on the feed key. */
  appendFeed(feedKey: string, args: string[]): Promise<void>;
  /**
   * In the IdP session's slot, one transaction: SET the ended mark (the reason, with the marks' TTL),
   * GET the tag of the user holding the sid (null when no sign-in with it is known).
   */
  endIdpSession(endedKey: string, userKey: string, reason: string, ttlSeconds: number): Promise<string | null>;
  /** MARK_SCRIPT on keys of one slot. */
  mark(keys: string[], args: string[]): Promise<void>;
  /** SET NX with a TTL; false when it was there. */
  setOnce(key: string, ttlSeconds: number): Promise<boolean>;
  /** MGET of keys in one slot. */
  mget(keys: string[]): Promise<(string | null)[]>;
};

/** The ids an IdP-session target names as `heldBy`, once each: whose records revoke reads. */
const heldIds = (revocation: Revocation): string[] => [
  ...new Set(revocation.targets.flatMap((t) => (t.kind === "idp-session" && t.heldBy ? [t.heldBy] : []))),
];

/**
 * The sessions among `ids` whose records were there (`raws`, in the order of the ids), once each.
 * The revocation is written by now: a record that does not parse (written by another version) is
 * left to expire with its TTL rather than failing a revocation that holds.
 */
function heldSessions(ids: readonly string[], raws: readonly unknown[]): StoredSession[] {
  const held = new Map<string, StoredSession>();
  ids.forEach((id, i) => {
    const raw = raws[i];
    if (!id || typeof raw !== "string" || raw === "" || held.has(id)) return;
    try {
      const record = parseRecord(raw);
      if (record) held.set(id, { id, record });
    } catch {
      // Left to its TTL (above).
    }
  });
  return [...held.values()];
}

type Mark = { tag: string; key: string; before: string };

/** The feed entries of a revocation: one per session id. */
function endedEvents(revocation: Revocation): EndedEvent[] {
  return revocation.sessionIds.map((lsid) => ({
    id: crypto.randomUUID(),
    at: revocation.now,
    lsid,
    reason: revocation.reason,
    ...endDetail(revocation.detail),
  }));
}

/** The marks whose slot is known without asking Redis: subject marks and session marks. */
function otherMarks(k: Keys, revocation: Revocation): Mark[] {
  const marks: Mark[] = [];
  for (const t of revocation.targets) {
    if (t.kind === "subject") {
      marks.push({ tag: userTag(t.iss, t.sub), key: k.revokedSubject(t.iss, t.sub), before: String(Math.floor(t.beforeMs)) });
    }
  }
  for (const id of revocation.sessionIds) marks.push({ tag: sessionTag(id), key: k.revokedSession(id), before: "" });
  return marks;
}

/** MARK_SCRIPT once per user slot, the slots together; resolves once every one is written. */
async function markBySlot(steps: Pick<RevokeSteps, "mark">, marks: readonly Mark[], revocation: Revocation, ttlSeconds: number) {
  await Promise.all(
    [...groupByTag(marks, (m) => m.tag).values()].map((group) =>
      steps.mark(
        group.map((m) => m.key),
        [String(ttlSeconds), revocation.reason, ...group.map((m) => m.before)],
      ),
    ),
  );
}

/**
 * RevocationList.revoke, one slot per step, in this order:
 * 1. The replay record is read (unless the caller just did, `replayChecked`: endSessions reads it
 *    alongside its lookups): if the signal was acted on, nothing is written. Alongside it, each
 *    `subjectOf` check, in its subject's slot (BCL §2.7): if one fails, only the replay record is
 *    written. A session id joins only its own subject's set, at sign-in, so the answer cannot
 *    change between this step and the writes.
 * 2. The feed entries (the feed is one key for every user, so it cannot share a user's slot). Before
 *    the marks, not after: a tab told early asks the server, which answers "active" until the marks
 *    land; a feed written after the marks could be lost to a failure in between, and a tab would
 *    never hear of its ending.
 * 3. Per IdP-session target, in its own slot: its ended mark, and who holds it (the user's tag). A
 *    sign-in with that sid writes who holds it and reads the ended mark in one transaction in the
 *    same slot (SessionStore.create), so the two are ordered: either this step sees the sign-in's user
 *    and marks that user's slot below, or the sign-in sees the ended mark and marks its own user's
 *    slot before it returns a session. No session holding the sid escapes, whichever comes first.
 * 4. The marks, one MARK_SCRIPT per user slot: the user's IdP-session marks, subject mark and
 *    session marks are one atomic step, as the guard reads them in one step.
 * Steps 2 and 3 run together, and so do the marks of different users: nothing orders them, and each
 * later step waits for all of the earlier ones.
 * 5. The replay record, last: every step before it is idempotent (the same marks; duplicate feed
 *    entries only repeat news), so a call that failed part way is retried whole by the sender, whose
 *    replay record is not yet there. "replayed" when a concurrent delivery of the same signal set it first.
 */
export async function revokeBySlot(steps: RevokeSteps, k: Keys, revocation: Revocation, ttlSeconds: number): Promise<Revoked> {
  const replay = revocation.replay ? replayKey(k, revocation.replay) : undefined;
  const replayTtl = wholeSeconds(revocation.replay?.ttlSeconds ?? 1);
  const [seen, ...subjectOf] = await Promise.all([
    replay && !revocation.replayChecked ? steps.exists(replay) : false,
    ...(revocation.subjectOf ?? []).map((c) => steps.isMember(k.subjectSessions(c.iss, c.sub), c.sessionId)),
  ]);
  if (seen) return { result: "replayed" };
  if (subjectOf.includes(false)) {
    if (replay && !(await steps.setOnce(replay, replayTtl))) return { result: "replayed" };
    return { result: "other_subject" };
  }

  const now = Math.floor(revocation.now);
  const events = endedEvents(revocation);
  // Steps 2 and 3 do not depend on each other: they go out together (one round trip of waiting),
  // with the read of the `heldBy` records, and step 4 starts only once all are done.
  const held = heldIds(revocation);
  const [, sidMarks, raws] = await Promise.all([
    events.length > 0
      ? steps.appendFeed(k.endedFeed(), [String(now), String(FEED_RETENTION_MS), ...events.map((e) => JSON.stringify(e))])
      : undefined,
    Promise.all(
      revocation.targets.map(async (t): Promise<Mark | undefined> => {
        if (t.kind !== "idp-session") return undefined;
        const tag = await steps.endIdpSession(
          k.idpSessionEnded(t.iss, t.sid),
          k.idpSessionUser(t.iss, t.sid),
          revocation.reason,
          ttlSeconds,
        );
        return tag ? { tag, key: k.revokedIdpSession(tag, t.iss, t.sid), before: "" } : undefined;
      }),
    ),
    mgetBySessionId(held, k.session, steps.mget),
  ]);

  const marks = [...sidMarks.filter((m) => m !== undefined), ...otherMarks(k, revocation)];
  await markBySlot(steps, marks, revocation, ttlSeconds);

  if (replay && !(await steps.setOnce(replay, replayTtl))) return { result: "replayed" };
  return { result: "written", events, held: heldSessions(held, raws) };
}

const unexpectedReply = () => new Error("The revocation script answered in an unexpected shape.");

/** How a client runs REVOKE_SCRIPT (lib/store/revoke-script.ts), and the steps it may leave to the caller. */
export type OneCallSteps = Pick<RevokeSteps, "mark" | "setOnce"> & {
  /** REVOKE_SCRIPT with these keys and arguments; its reply as the client reads it. */
  revoke(keys: string[], args: string[]): Promise<unknown>;
};

/**
 * RevocationList.revoke on one Redis server (or Upstash): the replay check, the `subjectOf`
 * checks, the feed entries, the IdP-session steps, the marks and the replay record in one script,
 * one round trip. An IdP-session target's `heldBy` names the user whose mark the script writes; when
 * Redis says another user holds the sid (or one does and none was named), the script leaves those
 * marks and the replay record to this function, which writes them in that order (MARK_SCRIPT, then
 * SET NX): the revocation is then the same as revokeBySlot's, in two or three round trips. The
 * script also reads each `heldBy` record (Revoked.held).
 */
export async function revokeInOneCall(steps: OneCallSteps, k: Keys, revocation: Revocation, ttlSeconds: number): Promise<Revoked> {
  const replay = revocation.replay ? replayKey(k, revocation.replay) : undefined;
  const replayTtl = wholeSeconds(revocation.replay?.ttlSeconds ?? 1);
  const events = endedEvents(revocation);
  const sidTargets = revocation.targets.filter((t) => t.kind === "idp-session");
  const others = otherMarks(k, revocation);
  const checks = revocation.subjectOf ?? [];

  const keyList = [k.endedFeed(), ...(replay ? [replay] : []), ...checks.map((c) => k.subjectSessions(c.iss, c.sub))];
  const expected: string[] = [];
  for (const t of sidTargets) {
    const tag = t.heldBy ? sessionTag(t.heldBy) : "";
    keyList.push(k.idpSessionEnded(t.iss, t.sid), k.idpSessionUser(t.iss, t.sid));
    if (t.heldBy) keyList.push(k.revokedIdpSession(tag, t.iss, t.sid), k.session(t.heldBy));
    expected.push(tag);
  }
  keyList.push(...others.map((m) => m.key));
  const args = [
    String(Math.floor(revocation.now)),
    String(FEED_RETENTION_MS),
    String(ttlSeconds),
    revocation.reason,
    replay ? String(replayTtl) : "",
    String(sidTargets.length),
    String(events.length),
    String(checks.length),
    ...checks.map((c) => c.sessionId),
    ...expected,
    ...events.map((e) => JSON.stringify(e)),
    ...others.map((m) => m.before),
  ];

  const reply = await steps.revoke(keyList, args);
  if (!Array.isArray(reply)) throw unexpectedReply();
  const status = Number(reply[0]);
  if (status === 0) return { result: "replayed" };
  if (status === 3) return { result: "other_subject" };
  if (status !== 1 && status !== 2) throw unexpectedReply();
  const raws = reply.slice(1, 1 + sidTargets.length) as unknown[];
  if (raws.length !== sidTargets.length || raws.some((raw) => typeof raw !== "string")) throw unexpectedReply();
  const written = {
    result: "written" as const,
    events,
    held: heldSessions(
      sidTargets.map((t) => t.heldBy ?? ""),
      raws,
    ),
  };
  if (status === 1) return written;
  const left: Mark[] = [];
  for (let i = 1 + sidTargets.length; i + 1 < reply.length; i += 2) {
    const target = sidTargets[Number(reply[i]) - 1];
    const tag = String(reply[i + 1]);
    if (!target) throw unexpectedReply();
    left.push({ tag, key: k.revokedIdpSession(tag, target.iss, target.sid), before: "" });
  }
  await markBySlot(steps, left, revocation, ttlSeconds);
  if (replay && !(await steps.setOnce(replay, replayTtl))) return { result: "replayed" };
  return written;
}

/**
 * MGET of keys named by session ids, one MGET per slot (the ids of one user share one), values in
 * the order of the ids.
 */
export async function mgetBySessionId<V>(
  ids: readonly string[],
  keyOf: (id: string) => string,
  mget: (keys: string[]) => Promise<readonly V[]>,
): Promise<(V | null)[]> {
  const values = new Map<string, V | null>();
  for (const group of groupByTag(new Set(ids), sessionTag).values()) {
    const replies = await mget(group.map(keyOf));
    group.forEach((id, i) => values.set(id, replies[i] ?? null));
  }
  return ids.map((id) => values.get(id) ?? null);
}
