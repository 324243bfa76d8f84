import type { Redis } from "@upstash/redis";
import type { Keys } from "@/lib/store/keys";
import { sessionRecordSchema, type SessionRecord } from "./record";
import type { EndReason } from "@/lib/revocation/verdict";

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
  ) {}

  async create(record: SessionRecord): Promise<string> {
    const id = newSessionId();
    const tx = this.redis.multi();
    tx.set(this.k.session(id), JSON.stringify(record), { ex: this.ttlSeconds });
    tx.sadd(this.k.subjectSessions(record.iss, record.sub), id);
    tx.expire(this.k.subjectSessions(record.iss, record.sub), this.ttlSeconds);
    if (record.sid) tx.set(this.k.idpSession(record.iss, record.sid), id, { ex: this.ttlSeconds });
    await tx.exec();
    return id;
  }

  async read(id: string): Promise<SessionRecord | null> {
    const raw = await this.redis.get<string>(this.k.session(id));
    if (raw == null) return null;
    return sessionRecordSchema.parse(JSON.parse(raw));
  }

  /** Replaces a record and keeps its TTL. A record that is gone stays gone. */
  async update(id: string, record: SessionRecord): Promise<boolean> {
    const ok = await this.redis.set(this.k.session(id), JSON.stringify(record), { keepTtl: true, xx: true });
    return ok === "OK";
  }

  /**
   * Ends one session: marks it revoked (with the reason the user will see) and deletes its tokens,
   * atomically. Returns the record that was ended, if there was one.
   */
  async end(id: string, reason: EndReason): Promise<SessionRecord | null> {
    const record = await this.read(id);
    const tx = this.redis.multi();
    tx.set(this.k.revokedSession(id), reason, { ex: this.ttlSeconds });
    tx.del(this.k.session(id));
    if (record) {
      tx.srem(this.k.subjectSessions(record.iss, record.sub), id);
      if (record.sid) tx.del(this.k.idpSession(record.iss, record.sid));
    }
    await tx.exec();
    return record;
  }
}
