import type {
  EndDetail,
  EndedEvent,
  ReplayRecord,
  RevocationList,
  RevocationTarget,
  SessionStore,
  StoredSession,
  SubjectCheck,
} from "@/lib/store/ports";
import type { EndReason } from "@/lib/session/ending";
import { retried, type Defer } from "./deferred";
import type { PendingEndings } from "./pending";
import { tracedEndSessions } from "@/lib/telemetry/endings";

/** What a caller asks to end. */
export type EndTarget =
  /** One Lockstep session (local logout, "sign out this device", front-channel by cookie). Pass the record when it is at hand. */
  | { kind: "session"; id: string; record?: StoredSession["record"] }
  /**
   * The IdP session (iss, sid): only that issuer's. With `sub` (BCL §2.7), only when the session
   * holding it is that subject's: otherwise this call ends nothing at all (sub_mismatch).
   */
  | { kind: "idp-session"; iss: string; sid: string; sub?: string }
  /** Every session of (iss, sub) that started before `beforeMs`. */
  | { kind: "subject"; iss: string; sub: string; beforeMs: number };

export type EndDeps = {
  sessions: SessionStore;
  revocations: RevocationList;
  now: () => number;
  /** Told of every ending once it is stored (this instance's tab hub delivers them at once). */
  onEnded?: (events: EndedEvent[]) => void;
  /**
   * Where a receiver queues an ending the store could not take (lib/revocation/pending.ts), to be
   * stored once it answers. The Node server's; absent elsewhere (tests, scripts), where nothing is queued.
   */
  pending?: PendingEndings;
};

export type EndOptions = {
  /** Written after the marks (RevocationList.revoke): a replayed signal changes nothing, a retried one redoes the marks. */
  replay?: ReplayRecord;
  /**
   * With `replay`: the caller's own read of it (RevocationList.seen), started before its lookups, so
   * that the read waits alongside them. Without it, endSessions starts one alongside its own lookups.
   */
  replaySeen?: Promise<boolean>;
  /**
   * Write nothing for an IdP session that no session here holds. For unauthenticated signals
   * (front-channel logout), so that nobody can fill the list with marks for made-up sids.
   */
  knownOnly?: boolean;
  /** Who carried the news and when it was sent: kept with the ending for the signed-out page and the activity log. */
  detail?: EndDetail;
  /**
   * For signal receivers: deleting the ended sessions' tokens runs after the answer (retried, then
   * logged if it still fails) instead of before it. The revocation itself is stored before this returns.
   */
  defer?: Defer;
};

export type EndOutcome = {
  /**
   * ended: the revocation is stored; replayed: the replay record was there, nothing changed;
   * sub_mismatch: the sid's session belongs to another subject, nothing ended (the replay record is kept);
   * unknown: with `knownOnly`, nothing named a session here, nothing was written.
   */
  result: "ended" | "replayed" | "sub_mismatch" | "unknown";
  /** The sessions that were live and are now over, with their records (for refresh-token revocation). */
  ended: StoredSession[];
  /** The revocation holds, but deleting the ended sessions' tokens failed: they expire with their TTL. */
  cleanupFailed?: boolean;
  /** With `defer`: deleting the ended sessions' tokens was handed to it, to run after the answer. */
  cleanupDeferred?: boolean;
};

/**
 * The one way Lockstep ends sessions, whatever the signal. In one revocation (RevocationList.revoke:
 * one script on one Redis server, per-user atomic steps on a Cluster, the replay record last) it writes the marks
 * that stop the named sessions at the guard (including sessions signed in while this runs: an
 * IdP-session or subject mark also catches those), the replay record, and the ended-sessions feed
 * entries for the open tabs. Only then does it delete what the ended sessions held (now, or after
 * the answer with `defer`); that step may fail without undoing the revocation. Each record is read once. Throws StoreError when the
 * revocation could not be stored, so that a sender can be told to retry.
 */
async function endSessionsUntraced(
  deps: EndDeps,
  targets: readonly EndTarget[],
  reason: EndReason,
  options: EndOptions = {},
): Promise<EndOutcome> {
  const now = deps.now();
  // The replay record is read while the sessions are looked up (both only read): one round trip of
  // waiting instead of two. A replayed signal then writes nothing; the replay record's final write
  // (RevocationList.revoke) still catches a concurrent delivery of the same signal.
  const replaySeen = options.replay ? (options.replaySeen ?? deps.revocations.seen(options.replay)) : undefined;
  replaySeen?.catch(() => undefined);
  const marks: RevocationTarget[] = [];
  const found = new Map<string, StoredSession>();
  const sessionIds = new Set<string>();
  const subjectOf: SubjectCheck[] = [];

  // An IdP session's holder is read from its index alone, every target's at once (and in the same
  // round trip as the replay record): the BCL §2.7 subject check needs no record, since the
  // revocation makes it in the same atomic step as its writes (Revocation.subjectOf), and reads the
  // holders' records there too, for the clean-up (Revoked.held).
  const holderOf = targets.map((t) => (t.kind === "idp-session" ? deps.sessions.holderOf(t.iss, t.sid) : undefined));
  for (const pending of holderOf) pending?.catch(() => undefined);
  for (const [i, target] of targets.entries()) {
    if (target.kind === "session") {
      const record = target.record ?? (await deps.sessions.read(target.id));
      if (record) found.set(target.id, { id: target.id, record });
      if (record || !options.knownOnly) sessionIds.add(target.id);
    } else if (target.kind === "idp-session") {
      // BCL §2.4 and OpenID Connect Core §2: sid is unique only per issuer, so it is looked up with its iss.
      const holder = await holderOf[i];
      if (holder) {
        marks.push({ kind: "idp-session", iss: target.iss, sid: target.sid, heldBy: holder });
        sessionIds.add(holder);
        // BCL §2.7: with both sub and sid, the sid's session must be the subject's.
        if (target.sub !== undefined) subjectOf.push({ sessionId: holder, iss: target.iss, sub: target.sub });
      } else if (!options.knownOnly) marks.push({ kind: "idp-session", iss: target.iss, sid: target.sid });
    } else {
      for (const s of await deps.sessions.find({ iss: target.iss, sub: target.sub })) {
        if (s.record.createdAt < target.beforeMs) found.set(s.id, s);
      }
      marks.push({ kind: "subject", iss: target.iss, sub: target.sub, beforeMs: target.beforeMs });
    }
  }
  for (const id of found.keys()) sessionIds.add(id);
  if (replaySeen && (await replaySeen)) return { result: "replayed", ended: [] };
  if (options.knownOnly && marks.length === 0 && sessionIds.size === 0) return { result: "unknown", ended: [] };

  const revoked = await deps.revocations.revoke({
    targets: marks,
    sessionIds: [...sessionIds],
    reason,
    detail: options.detail,
    replay: options.replay,
    replayChecked: replaySeen !== undefined,
    subjectOf: subjectOf.length > 0 ? subjectOf : undefined,
    now,
  });
  if (revoked.result === "replayed") return { result: "replayed", ended: [] };
  if (revoked.result === "other_subject") return { result: "sub_mismatch", ended: [] };
  deps.onEnded?.(revoked.events);
  // The holders' records, read in the revocation's own step. A holder whose record is gone had
  // already ended: its marks are written all the same.
  for (const s of revoked.held) found.set(s.id, s);

  const ended = [...found.values()];
  // Logged at the revocation's time (the feed's too), not the clean-up's: the tabs may hear of it first.
  const cleanup = () => deps.sessions.end(ended, reason, { ...options.detail, at: now });
  if (options.defer) {
    if (ended.length === 0) return { result: "ended", ended };
    options.defer("sessions.cleanup", async () => {
      await retried(cleanup);
      return { sessions: ended.length };
    });
    return { result: "ended", ended, cleanupDeferred: true };
  }
  try {
    await cleanup();
  } catch {
    return { result: "ended", ended, cleanupFailed: true };
  }
  return { result: "ended", ended };
}

/** endSessions, in a span with what it ended when an OpenTelemetry SDK runs (lib/telemetry/endings.ts). */
export const endSessions = tracedEndSessions(endSessionsUntraced);
