/**
 * Every Redis key Lockstep writes, in one place. Each is written with a TTL (see the writers).
 * Identifiers from the IdP are URI-encoded so that no `iss` or `sid` can forge another key's shape
 * (encodeURIComponent also encodes `{` and `}`, so no identifier can open a hash tag).
 *
 * Hash slots (Redis Cluster). Every command and script Lockstep sends touches
 * one slot, so the same keys work on one Redis, on Upstash and on a Redis Cluster. A key's slot is
 * CRC16 of its hash tag, the text between its first `{` and the next `}` (Redis Cluster
 * specification, "Hash tags"). LOCKSTEP_KEY_PREFIX and APP_ID cannot hold braces (lib/config), so
 * the first `{` of every key is the one written here:
 * - A user's slot, tag `userTag(iss, sub)`: the user's session records, their revocation marks
 *   (by session, by IdP session, by subject), last-seen times and refresh locks, the subject's
 *   session set, the activity log and the account flag. A session id carries its user's tag as its
 *   first TAG_LENGTH characters (`newSessionId`), so the keys named by a session id alone
 *   (`session`, `revokedSession`, `lastSeen`, `refreshLock`, `apiState`) land in the same slot as the keys named
 *   by (iss, sub). The guard's check (session record + three marks) is then one slot: it knows the
 *   lsid, iss and sub from the cookie.
 * - An IdP session's slot, tag `idpSessionTag(iss, sid)`: what is looked up by (iss, sid) alone,
 *   since a logout token may carry only `sid` (BCL §2.4) and so cannot name the user: the index of
 *   the session holding the sid, the user that holds it, and the sid's ended mark.
 * - One key per command, untagged: the ended-sessions feed (one per app, every user), the email
 *   index (keyed by address), replay records, the stream state, a `client` API's token and its lock.
 */
const part = (value: string) => encodeURIComponent(value);

/** How many characters of a session id are its user's hash tag. */
export const TAG_LENGTH = 8;

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * A short, stable digest of a text as TAG_LENGTH base64url characters (48 bits): where a user's or
 * an IdP session's keys live in a cluster, nothing more. Not a secret and not collision-resistant
 * (two users may share a slot, which is harmless: their keys still differ). Synchronous and free of
 * Node APIs, because the edge guard builds keys with it: two 32-bit FNV-1a lanes with different
 * offset bases, each finished with an xor-shift/multiply mix so that every input bit reaches every
 * output bit.
 */
function digestTag(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (const byte of bytes) {
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x01000193);
  }
  const finish = (h: number) => {
    h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
    h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
    return (h ^ (h >>> 16)) >>> 0;
  };
  const high = finish(a);
  const low = finish(b ^ high) >>> 16;
  // 48 bits: 32 from the first lane, 16 from the second, six at a time.
  let out = "";
  for (let i = 0; i < TAG_LENGTH; i += 1) {
    const shift = 42 - 6 * i;
    const bits = shift >= 16 ? (high >>> (shift - 16)) & 0x3f : ((high << (16 - shift)) | (low >>> shift)) & 0x3f;
    out += BASE64URL[bits];
  }
  return out;
}

/** The hash tag of a user's keys (and the first TAG_LENGTH characters of their session ids). */
export function userTag(iss: string, sub: string): string {
  return digestTag(JSON.stringify(["user", iss, sub]));
}

/** The hash tag of the keys looked up by an IdP session (iss, sid) alone. */
export function idpSessionTag(iss: string, sid: string): string {
  return digestTag(JSON.stringify(["sid", iss, sid]));
}

/** The hash tag a session id carries: its first TAG_LENGTH characters (its user's tag, for ids from newSessionId). */
export function sessionTag(sessionId: string): string {
  return sessionId.slice(0, TAG_LENGTH);
}

/** `{tag}rest`: a session id's keys keep the whole id, with its tag in braces. */
const byId = (sessionId: string) => `{${sessionTag(sessionId)}}${sessionId.slice(TAG_LENGTH)}`;
const byUser = (iss: string, sub: string) => `{${userTag(iss, sub)}}${part(iss)}|${part(sub)}`;
const bySid = (iss: string, sid: string) => `{${idpSessionTag(iss, sid)}}${part(iss)}|${part(sid)}`;

export function keys(prefix: string) {
  return {
    /** The server-held session record: tokens and claims, JSON. User's slot. */
    session: (sessionId: string) => `${prefix}sess:${byId(sessionId)}`,
    /** Session ids of one subject at one issuer (a set), for sub-wide logout and "sign out everywhere". User's slot. */
    subjectSessions: (iss: string, sub: string) => `${prefix}subsess:${byUser(iss, sub)}`,
    /** The Lockstep session id that holds an IdP session (iss, sid). The IdP session's slot. */
    idpSession: (iss: string, sid: string) => `${prefix}idpsess:${bySid(iss, sid)}`,
    /**
     * The tag of the user whose sessions hold an IdP session (iss, sid): written at every sign-in with
     * that sid and kept for the longest session's life (not deleted when a session ends), so that a
     * sid-only logout finds the slot of every session that may still hold it. The IdP session's slot.
     */
    idpSessionUser: (iss: string, sid: string) => `${prefix}idpuser:${bySid(iss, sid)}`,
    /**
     * The IdP session (iss, sid) is over, as seen from its own slot: written by every revocation of
     * it, read by every sign-in with it (sign-in then marks its own user's slot). Value: the reason.
     */
    idpSessionEnded: (iss: string, sid: string) => `${prefix}idpend:${bySid(iss, sid)}`,
    /** Revocation list: this session id is over. Value: the reason. User's slot. */
    revokedSession: (sessionId: string) => `${prefix}rev:s:${byId(sessionId)}`,
    /**
     * Revocation list: the IdP session (iss, sid) is over, in the slot of the user holding it (`tag`:
     * `sessionTag(lsid)` of a session holding it, or the `idpSessionUser` value). Value: the reason.
     */
    revokedIdpSession: (tag: string, iss: string, sid: string) => `${prefix}rev:sid:{${tag}}${part(iss)}|${part(sid)}`,
    /** Revocation list: sessions of (iss, sub) that started before a time are over. Value: "<ms>|<reason>". User's slot. */
    revokedSubject: (iss: string, sub: string) => `${prefix}rev:sub:${byUser(iss, sub)}`,
    /** Replay cache: this logout token (iss, jti) was acted on. */
    logoutTokenJti: (iss: string, jti: string) => `${prefix}jti:bcl:${part(iss)}|${part(jti)}`,
    /** Live feed: sessions that just ended (a sorted set by time), read by each instance's tab hub. */
    endedFeed: () => `${prefix}feed:ended`,
    /** The recent events of one user's sessions (a capped list), shown on the dashboard. User's slot. */
    activityLog: (iss: string, sub: string) => `${prefix}log:${byUser(iss, sub)}`,
    /** Shared Signals: this receiver's stream (the transmitter's configuration, as last read). */
    ssfStream: () => `${prefix}ssf:stream`,
    /** The `state` of the verification this receiver asked for last. */
    ssfVerification: () => `${prefix}ssf:verification`,
    /** Replay cache: this SET (iss, jti) was acted on. */
    ssfJti: (iss: string, jti: string) => `${prefix}jti:ssf:${part(iss)}|${part(jti)}`,
    /** RISC account-disabled: new sign-ins are refused until account-enabled. User's slot. */
    accountDisabled: (iss: string, sub: string) => `${prefix}disabled:${byUser(iss, sub)}`,
    /** (iss, sub) pairs that signed in with an email address (a set), to resolve email subjects. */
    emailSubjects: (email: string) => `${prefix}email:${part(email.toLowerCase())}`,
    /** When a session was last seen (ms), written at most once a minute per session and instance. User's slot. */
    lastSeen: (sessionId: string) => `${prefix}seen:${byId(sessionId)}`,
    /** A short lock so that one request refreshes a session's tokens while others wait. User's slot. */
    refreshLock: (sessionId: string) => `${prefix}lock:refresh:${byId(sessionId)}`,
    /** Held for one liveness interval by the instance that re-checks the session at the IdP (lib/liveness/). User's slot. */
    livenessClaim: (sessionId: string) => `${prefix}lock:live:${byId(sessionId)}`,
    /** A session's remote-API state (lib/api/state.ts: its audience tokens and DPoP key), JSON. User's slot, deleted with the record. */
    apiState: (sessionId: string) => `${prefix}api:s:${byId(sessionId)}`,
    /** This app's state for a `client` API (its client credentials token, its DPoP key), JSON. A key of its own. */
    clientApiState: (api: string) => `${prefix}api:c:${part(api)}`,
    /** A short lock so that one instance fetches a `client` API's token while the others wait. */
    clientApiLock: (api: string) => `${prefix}lock:api:${part(api)}`,
  };
}

export type Keys = ReturnType<typeof keys>;

/**
 * One app's keys: LOCKSTEP_KEY_PREFIX, then APP_ID. Apps that share a Redis (the demo's Bank and
 * Brokerage) never see each other's sessions, indexes, revocations, feed or stream.
 */
export function appKeys(prefix: string, appId: string): Keys {
  return keys(`${prefix}${appId}:`);
}

/** Groups items by a hash tag, in first-seen order: one command or transaction per group on a cluster. */
export function groupByTag<T>(items: Iterable<T>, tagOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const tag = tagOf(item);
    const group = groups.get(tag);
    if (group) group.push(item);
    else groups.set(tag, [item]);
  }
  return groups;
}
