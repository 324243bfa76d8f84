import type { Redis } from "@upstash/redis";
import type { Keys } from "@/lib/store/keys";
import { sessionRecordSchema, type SessionRecord } from "./record";
import type { EndReason } from "@/lib/revocation/verdict";
import { announceEnded, logActivity, type ActivityEntry, type EndedEvent } from "@/lib/live/feed";

export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Buffer.from(bytes).toString("base64url");
}

/** The session store: records, their indexes, and ending them. Every key gets a TTL. */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly ttlSeconds: number,
    /** Told of every session this store ends, once it is stored. */
    private readonly onEnded: (event: EndedEvent) => void = () => {},
  ) {}

  async create(record: SessionRecord): Promise<string> {
    const id = newSessionId();
    const tx = this.redis.multi();
    tx.set(this.k.session(id), JSON.stringify(record), { ex: this.ttlSeconds });
    tx.sadd(this.k.subjectSessions(record.iss, record.sub), id);
    tx.expire(this.k.subjectSessions(record.iss, record.sub), this.ttlSeconds);
    if (record.sid) tx.set(this.k.idpSession(record.iss, record.sid), id, { ex: this.ttlSeconds });
    if (record.claims.email) {
      tx.sadd(this.k.emailSubjects(record.claims.email), JSON.stringify([record.iss, record.sub]));
      tx.expire(this.k.emailSubjects(record.claims.email), this.ttlSeconds);
    }
    logActivity(tx, this.k, record.iss, record.sub, { at: record.createdAt, session: id, kind: "signed_in" }, this.ttlSeconds);
    await tx.exec();
    return id;
  }

  /** The (iss, sub) pairs that signed in here with this email address. */
  async subjectsForEmail(email: string): Promise<{ iss: string; sub: string }[]> {
    const members = await this.redis.smembers(this.k.emailSubjects(email));
    return members.map((m) => {
      const [iss, sub] = JSON.parse(m) as [string, string];
      return { iss, sub };
    });
  }

  /** The user's recent activity at this app, newest first. */
  async activity(iss: string, sub: string): Promise<ActivityEntry[]> {
    const raw = await this.redis.lrange<string>(this.k.activityLog(iss, sub), 0, -1);
    return raw.map((line) => JSON.parse(line) as ActivityEntry);
  }

  /** The user's live sessions at this app (ids and records). */
  async listForSubject(iss: string, sub: string): Promise<{ id: string; record: SessionRecord }[]> {
    const ids = await this.redis.smembers(this.k.subjectSessions(iss, sub));
    const found: { id: string; record: SessionRecord }[] = [];
    for (const id of ids) {
      const record = await this.read(id);
      if (record && record.iss === iss && record.sub === sub) found.push({ id, record });
    }
    return found.sort((a, b) => a.record.createdAt - b.record.createdAt);
  }

  async read(id: string): Promise<SessionRecord | null> {
    const raw = await this.redis.get<string>(this.k.session(id));
    if (raw == null) return null;
    return sessionRecordSchema.parse(JSON.parse(raw));
  }

  /** Replaces a record and keeps its TTL. A record that is gone stays gone. */
  async update(id: string, record: SessionRecord, activity?: ActivityEntry["kind"]): Promise<boolean> {
    const tx = this.redis.multi();
    tx.set(this.k.session(id), JSON.stringify(record), { keepTtl: true, xx: true });
    if (activity) logActivity(tx, this.k, record.iss, record.sub, { at: Date.now(), session: id, kind: activity }, this.ttlSeconds);
    const [ok] = await tx.exec<[string | null, ...unknown[]]>();
    return ok === "OK";
  }

  /**
   * Ends one session: marks it revoked (with the reason the user will see), deletes its tokens and
   * announces it to every instance's open tabs, atomically. Returns the record that was ended, if any.
   */
  async end(id: string, reason: EndReason): Promise<SessionRecord | null> {
    const record = await this.read(id);
    const tx = this.redis.multi();
    tx.set(this.k.revokedSession(id), reason, { ex: this.ttlSeconds });
    tx.del(this.k.session(id));
    if (record) {
      tx.srem(this.k.subjectSessions(record.iss, record.sub), id);
      if (record.sid) tx.del(this.k.idpSession(record.iss, record.sid));
      logActivity(tx, this.k, record.iss, record.sub, { at: Date.now(), session: id, kind: "ended", reason }, this.ttlSeconds);
    }
    const event = announceEnded(tx, this.k, id, reason);
    await tx.exec();
    this.onEnded(event);
    return record;
  }
}
