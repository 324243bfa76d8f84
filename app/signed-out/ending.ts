import type { Server } from "@/lib/compose/server";
import type { EndedNote } from "@/lib/session/ended";
import type { EndMechanism, EndReason } from "@/lib/session/ending";

/** What the server knows of this browser's own ending. */
export type Ending =
  | { state: "none" }
  | { state: "still_active" }
  | { state: "unavailable"; note: EndedNote }
  | { state: "ended"; note: EndedNote; reason: EndReason; mechanism?: EndMechanism; at?: number; sentAt?: number; device?: string };

/**
 * Reads the ending of the session that the browser's sealed note names: its entry in the user's
 * activity log (reason, mechanism, time), or else what the revocation list says of it (a session
 * ended by a mark nobody logged, or one that simply expired). Only ever this browser's own session:
 * the note is sealed by this app and names one session id. A sign-out the store could not take
 * (`note.incomplete`) reads as ended once its queued ending is stored, and as unavailable until then.
 */
export async function readEnding(server: Pick<Server, "sessions" | "revocations">, note: EndedNote | undefined): Promise<Ending> {
  if (!note) return { state: "none" };
  try {
    const [activity, verdict] = await Promise.all([
      server.sessions.activity({ iss: note.iss, sub: note.sub }),
      server.revocations.check({ lsid: note.lsid, iss: note.iss, sub: note.sub, sid: note.sid, createdAt: note.createdAt }),
    ]);
    const entry = activity.find((e) => e.kind === "ended" && e.session === note.lsid);
    if (entry?.reason)
      return {
        state: "ended",
        note,
        reason: entry.reason,
        mechanism: entry.mechanism,
        at: entry.at,
        sentAt: entry.sentAt,
        device: entry.device,
      };
    // A sign-out taken while the store was down is queued until it answers (lib/revocation/pending.ts): not yet recorded.
    if (verdict.active) return note.incomplete ? { state: "unavailable", note } : { state: "still_active" };
    return { state: "ended", note, reason: verdict.reason };
  } catch {
    return { state: "unavailable", note };
  }
}
