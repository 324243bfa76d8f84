import type { SessionHandle } from "@/lib/session/handle";
import type { SessionRecord } from "@/lib/session/record";
import type { Stores } from "@/lib/store/ports";

export type SignedIn = { id: string; handle: SessionHandle };

/**
 * A sign-in for unit tests: stores a session record of `iss` (user "alice", begun a minute before
 * `nowMs`, unless `fields` say otherwise) and returns its id and the handle its cookie would carry.
 */
export async function signInTo(stores: Stores, iss: string, nowMs: number, fields: Partial<SessionRecord> = {}): Promise<SignedIn> {
  const record: SessionRecord = {
    iss,
    sub: "alice",
    createdAt: nowMs - 60_000,
    expiresAt: nowMs + 3_600_000,
    claims: {},
    idToken: "header.payload.signature",
    ...fields,
  };
  const id = await stores.sessions.create(record);
  return { id, handle: { lsid: id, iss: record.iss, sub: record.sub, sid: record.sid, createdAt: record.createdAt } };
}
