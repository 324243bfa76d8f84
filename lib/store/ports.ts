import type { SessionRecord } from "@/lib/session/record";
import type { SessionHandle } from "@/lib/session/handle";
import type { EndMechanism, EndReason } from "@/lib/session/ending";
import type { Verdict } from "./verdict";
import type { ApiState } from "@/lib/api/state";
import { userTag } from "./keys";

/**
 * The two ports the domain code talks to. Nothing in lib/ outside lib/store/ touches a Redis
 * client: route handlers, receivers and the guard get these passed in (lib/compose/ picks the
 * implementation). Every implementation passes tests/store/contract.ts.
 */

export type StoredSession = { id: string; record: SessionRecord };

/** A user at an issuer. `sub` is unique only per issuer (OpenID Connect Core §2). */
export type User = { iss: string; sub: string };

/** Sessions of one issuer named by its IdP session id, its subject, or both (both must match). */
export type SessionQuery = { iss: string; sub?: string; sid?: string };

export type ActivityKind = "signed_in" | "token_refreshed" | "ended";

/**
 * What is known of how an ending came: who carried it (mechanism) and, when the sender dated it, when
 * it was sent (ms; a logout token's or SET's `iat`, which has whole seconds). For `liveness_check`,
 * `sentAt` is when the IdP last honoured the session (the check before the one that found it ended).
 */
export type EndDetail = { mechanism?: EndMechanism; sentAt?: number };

/** An ending as `SessionStore.end` logs it: its detail, and when it took effect (ms; the store's clock when absent). */
export type EndLog = EndDetail & { at?: number };

/** Only the detail's known fields, so that nothing else rides along into the log or the feed. */
export function endDetail(detail: EndDetail | undefined): EndDetail {
  const out: EndDetail = {};
  if (detail?.mechanism) out.mechanism = detail.mechanism;
  if (typeof detail?.sentAt === "number" && Number.isFinite(detail.sentAt)) out.sentAt = Math.floor(detail.sentAt);
  return out;
}

/**
 * One line of a user's activity log on the dashboard. For an ending it is also the server's record of
 * it that the signed-out page reads (by the session id of the browser's own, sealed, cookie).
 * `device` is the session's device label ("Chrome on Linux"), when known.
 */
export type ActivityEntry = { at: number; session: string; kind: ActivityKind; reason?: EndReason; device?: string } & EndDetail;

/** One ended session, as announced to every server instance's tab hub. */
export type EndedEvent = { id: string; at: number; lsid: string; reason: EndReason } & EndDetail;

export interface SessionStore {
  /**
   * Stores a new record (and its indexes) under a fresh id (newSessionId: its user's hash tag, then
   * random), which it returns. A record with a sid is also checked against that IdP session's ended
   * mark, in one step with writing who holds the sid: a sid-only revocation that came first stops the
   * new session before its id is handed out (lib/store/revoke.ts).
   */
  create(record: SessionRecord): Promise<string>;
  read(id: string): Promise<SessionRecord | null>;
  /** Replaces a record and keeps its TTL. A record that is gone stays gone: false. */
  update(id: string, record: SessionRecord, activity?: ActivityKind): Promise<boolean>;
  /** The live sessions a query names, oldest first. A sid names at most one. */
  find(query: SessionQuery): Promise<StoredSession[]>;
  /**
   * The id of the session that holds an IdP session (iss, sid), from its index alone (one read, no
   * record): what a revocation by sid needs before it writes. The session may have just ended.
   */
  holderOf(iss: string, sid: string): Promise<string | null>;
  /**
   * Deletes what ended sessions hold (tokens, indexes, last-seen time) and logs the ending with its
   * detail, at `detail.at` (when the ending took effect: the revocation's time) or else now. Idempotent.
   */
  end(sessions: readonly StoredSession[], reason: EndReason, detail?: EndLog): Promise<void>;
  /** Records that a live session was seen at `at` (ms). Callers throttle it; the store just keeps the latest. */
  touch(id: string, at: number): Promise<void>;
  /** When each session was last seen (ms), in the order asked; null when never recorded or ended. */
  lastSeen(ids: readonly string[]): Promise<(number | null)[]>;
  /** The user's recent activity, newest first. */
  activity(user: User): Promise<ActivityEntry[]>;
  /** A short lock so that one request refreshes a session's tokens while others wait. */
  lock(sessionId: string, owner: string, ttlMs: number): Promise<boolean>;
  unlock(sessionId: string, owner: string): Promise<void>;
  /**
   * Claims the next liveness check of a session (lib/liveness/) for `ttlMs`: true for exactly one
   * caller across every instance until the claim expires, false for every other caller meanwhile.
   */
  claimCheck(sessionId: string, ttlMs: number): Promise<boolean>;
  /**
   * What a session holds for its remote APIs (lib/api/tokens.ts): access tokens by API and its DPoP
   * key. One key per session, in its user's slot, deleted by `end` with the record.
   */
  apiState(sessionId: string): Promise<ApiState | null>;
  /**
   * Replaces a session's API state, to expire with the session (`expiresAt`, ms). Callers hold the
   * session's refresh lock (`lock`): read, change, write. When the session's record is gone (it ended
   * meanwhile), nothing is kept and the answer is false.
   */
  setApiState(sessionId: string, state: ApiState, expiresAt: number): Promise<boolean>;
  /** This app's own state for a `client` API (the client credentials token, its DPoP key): one key per API. */
  clientApiState(api: string): Promise<ApiState | null>;
  /** Replaces it for `ttlMs`. Callers hold the API's lock (`lockClientApi`). */
  setClientApiState(api: string, state: ApiState, ttlMs: number): Promise<void>;
  /** A short lock so that one request, across every instance, fetches an API's client token while others wait. */
  lockClientApi(api: string, owner: string, ttlMs: number): Promise<boolean>;
  unlockClientApi(api: string, owner: string): Promise<void>;
}

/**
 * What only account-level signals (RISC, CAEP through lib/ssf/act.ts) and the sign-in's account check
 * use: the email index, the disabled flag, and purging a user. The Redis and memory stores implement
 * it on the same object as SessionStore (`Stores.sessions`).
 */
export interface AccountStore {
  /** The subjects that signed in here with this email address (case-insensitive). */
  subjectsForEmail(email: string): Promise<User[]>;
  /** Moves a subject's email index entry to a new address (RISC identifier-changed). */
  changeEmail(user: User, from: string, to: string): Promise<void>;
  /** RISC account-disabled: new sign-ins are refused while set. */
  setDisabled(user: User, disabled: boolean): Promise<void>;
  isDisabled(user: User): Promise<boolean>;
  /** RISC account-purged: deletes the user's indexes, log and flags (not the revocation marks). */
  purge(user: User): Promise<void>;
}

/** What a mark on the revocation list names. */
export type RevocationTarget =
  /**
   * One IdP session (iss, sid): every Lockstep session that holds it, now or later. `heldBy`: the
   * Lockstep session found holding it (SessionStore.holderOf), when one was. For the marks it is a
   * hint only (its user's mark can be written in the same step), since Redis knows who holds the sid
   * for sure and the store asks it; its record is read in the same step (Revoked.held). Its own
   * session mark and feed entry come from `sessionIds`, like any other session's.
   */
  | { kind: "idp-session"; iss: string; sid: string; heldBy?: string }
  /** Every session of a subject that started before `beforeMs`. Only ever moves forward. */
  | { kind: "subject"; iss: string; sub: string; beforeMs: number };

/** What RevocationList.revoke did. */
export type Revoked =
  /**
   * Written: the feed entries, and the sessions named as `heldBy` whose records were still there,
   * as they were then.
   */
  | { result: "written"; events: EndedEvent[]; held: StoredSession[] }
  /** The replay record was there (nothing was written), or a concurrent delivery of the same signal wrote it first (the same marks, written twice). */
  | { result: "replayed" }
  /** A `subjectOf` check failed: only the replay record was written. */
  | { result: "other_subject" };

/** A session that must be one of (iss, sub)'s for a revocation to be written (Revocation.subjectOf). */
export type SubjectCheck = { sessionId: string; iss: string; sub: string };

/** A replay record: a signal (iss, jti) that was acted on, remembered for `ttlSeconds`. */
export type ReplayRecord = { kind: "bcl" | "ssf"; iss: string; jti: string; ttlSeconds: number };

export type Revocation = {
  /** Marks that also stop sessions nobody has found yet (a sign-in racing this signal). */
  targets: readonly RevocationTarget[];
  /** Lockstep session ids to mark as over; each gets an entry in the ended-sessions feed. */
  sessionIds: readonly string[];
  reason: EndReason;
  /** Who carried the news, and when it was sent: copied into the feed entries. */
  detail?: EndDetail;
  /** When given, nothing is written if it was already there. */
  replay?: ReplayRecord;
  /**
   * BCL §2.7 (a logout token with both sub and sid): sessions that must each be one of a subject's,
   * as its set of sessions says (a session id only ever joins its own subject's set). Checked in the
   * same atomic step as the writes on one Redis server or Upstash, just before them on a Cluster: if
   * one is not, nothing is written but the replay record, and revoke answers "other_subject".
   */
  subjectOf?: readonly SubjectCheck[];
  /**
   * The caller has just read `replay` (RevocationList.seen) and found nothing: revoke need not read it
   * again before writing (the per-slot steps on a Cluster do not; the one-script path and the memory
   * store check it anyway, inside their atomic step, at no extra round trip). Its final write (SET NX,
   * or the script's SET after its check) still detects a concurrent delivery of the signal.
   */
  replayChecked?: boolean;
  now: number;
};

export interface RevocationList {
  /** Whether a session is still on: its record exists and no mark names it. One round trip. */
  check(handle: SessionHandle): Promise<Verdict>;
  /**
   * Writes the feed entries, every mark and the replay record: in one atomic script on one Redis
   * server (or Upstash), in per-slot steps on a Cluster (lib/store/revoke.ts). Atomic per user at the
   * least (each user's marks in one step), idempotent as a whole, and the replay record is written
   * last: a call that fails part
   * way is simply retried (the sender retries, the replay record is not there yet) and writes the
   * same marks again. In the same step it reads the records of the sessions its IdP-session targets
   * name as `heldBy`, for the clean-up that follows.
   */
  revoke(revocation: Revocation): Promise<Revoked>;
  /** Writes a replay record; false when it was already there. */
  remember(replay: ReplayRecord): Promise<boolean>;
  /** Whether a replay record is there (for signals whose action is idempotent). */
  seen(replay: Omit<ReplayRecord, "ttlSeconds">): Promise<boolean>;
  /** Feed entries written at or after `sinceMs`, for the tab hub. */
  endedSince(sinceMs: number): Promise<EndedEvent[]>;
}

/** This receiver's Shared Signals stream, as last read from the transmitter, and its verification state. */
export interface StreamStateStore {
  readStream(): Promise<string | null>;
  writeStream(json: string, ttlSeconds: number): Promise<void>;
  deleteStream(): Promise<void>;
  /** The `state` of the verification asked for last, kept for `ttlSeconds`. */
  setVerificationState(state: string, ttlSeconds: number): Promise<void>;
  /**
   * Whether `state` is the one asked for, in one atomic step: if so it is forgotten (a state is good
   * once); a wrong or stale one changes nothing.
   */
  useVerificationState(state: string): Promise<boolean>;
}

export type Stores = { sessions: SessionStore & AccountStore; revocations: RevocationList; streams: StreamStateStore };

/** How long the feed keeps an event: long enough for every instance's poller to see it. */
export const FEED_RETENTION_MS = 60_000;
/** The activity log's length per user. */
export const ACTIVITY_LOG_LENGTH = 30;
/** How long a disabled account stays refused without an account-enabled (every key has a TTL). */
export const DISABLED_TTL_SECONDS = 365 * 86_400;

/**
 * A fresh session id for a user: 43 base64url characters, as a 256-bit random id would be (cookies
 * and handles keep their shape). The first TAG_LENGTH (8) are the user's hash tag (`userTag`), so
 * that every key of the session lands in its user's cluster slot (lib/store/keys.ts); the other 35
 * are random: 210 bits, ample against guessing.
 */
export function newSessionId(user: User): string {
  const bytes = crypto.getRandomValues(new Uint8Array(27));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const random = btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return (userTag(user.iss, user.sub) + random).slice(0, 43);
}

/** Redis and RFC 7519 NumericDates may be fractional; every TTL Lockstep writes is a whole number of seconds, at least 1. */
export function wholeSeconds(seconds: number): number {
  return Math.max(1, Math.ceil(seconds));
}
