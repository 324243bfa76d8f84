/**
 * Every Redis key Lockstep writes, in one place. Each is written with a TTL (see the writers).
 * Identifiers from the IdP are URI-encoded so that no `iss` or `sid` can forge another key's shape.
 */
const part = (value: string) => encodeURIComponent(value);

export function keys(prefix: string) {
  return {
    /** The server-held session record: tokens and claims, JSON. */
    session: (sessionId: string) => `${prefix}sess:${sessionId}`,
    /** Session ids of one subject at one issuer (a set), for sub-wide logout and "sign out everywhere". */
    subjectSessions: (iss: string, sub: string) => `${prefix}subsess:${part(iss)}|${part(sub)}`,
    /** The Lockstep session id that holds an IdP session (iss, sid). */
    idpSession: (iss: string, sid: string) => `${prefix}idpsess:${part(iss)}|${part(sid)}`,
    /** Revocation list: this session id is over. Value: the reason. */
    revokedSession: (sessionId: string) => `${prefix}rev:s:${sessionId}`,
    /** Revocation list: the IdP session (iss, sid) is over. Value: the reason. */
    revokedIdpSession: (iss: string, sid: string) => `${prefix}rev:sid:${part(iss)}|${part(sid)}`,
    /** Revocation list: sessions of (iss, sub) that started before a time are over. Value: "<ms>|<reason>". */
    revokedSubject: (iss: string, sub: string) => `${prefix}rev:sub:${part(iss)}|${part(sub)}`,
    /** Replay cache: this logout token (iss, jti) was acted on. */
    logoutTokenJti: (iss: string, jti: string) => `${prefix}jti:bcl:${part(iss)}|${part(jti)}`,
    /** Live feed: sessions that just ended (a sorted set by time), read by each instance's tab hub. */
    endedFeed: () => `${prefix}feed:ended`,
    /** The recent events of one user's sessions (a capped list), shown on the dashboard. */
    activityLog: (iss: string, sub: string) => `${prefix}log:${part(iss)}|${part(sub)}`,
    /** Shared Signals: this receiver's stream (the transmitter's configuration, as last read). */
    ssfStream: () => `${prefix}ssf:stream`,
    /** The `state` of the verification this receiver asked for last. */
    ssfVerification: () => `${prefix}ssf:verification`,
    /** Replay cache: this SET (iss, jti) was acted on. */
    ssfJti: (iss: string, jti: string) => `${prefix}jti:ssf:${part(iss)}|${part(jti)}`,
    /** RISC account-disabled: new sign-ins are refused until account-enabled. */
    accountDisabled: (iss: string, sub: string) => `${prefix}disabled:${part(iss)}|${part(sub)}`,
    /** (iss, sub) pairs that signed in with an email address (a set), to resolve email subjects. */
    emailSubjects: (email: string) => `${prefix}email:${part(email.toLowerCase())}`,
    /** When a session was last seen (ms), written at most once a minute per session and instance. */
    lastSeen: (sessionId: string) => `${prefix}seen:${sessionId}`,
    /** A short lock so that one request refreshes a session's tokens while others wait. */
    refreshLock: (sessionId: string) => `${prefix}lock:refresh:${sessionId}`,
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
