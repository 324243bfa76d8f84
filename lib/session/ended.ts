import { z } from "zod";
import { serializeCookie } from "@/lib/http/cookies";
import { seal, unseal, type SessionHandle } from "./handle";

/**
 * The ended-session note: when Lockstep clears a session cookie because the session is over (or
 * signs the browser out), it leaves this sealed, short-lived cookie naming which session it was, so
 * that the signed-out page can read the server's record of that ending (reason, mechanism, time) for
 * this browser's own session and nobody else's. Nothing in a URL decides what the page says.
 *
 * It holds ids only (the same ones the sealed session handle held, never a token), and RP-initiated
 * logout's progress: "sent" once the browser went to the IdP, "returned" when the IdP came back with
 * our state, "not_returned" when it came back without it. `incomplete`: the store could not record
 * the sign-out here.
 */
export const endedNoteSchema = z.object({
  lsid: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  iss: z.string().min(1),
  sub: z.string().min(1),
  sid: z.string().min(1).optional(),
  createdAt: z.number().int().positive(),
  logout: z.enum(["sent", "returned", "not_returned"]).optional(),
  incomplete: z.boolean().optional(),
});

export type EndedNote = z.infer<typeof endedNoteSchema>;

/** Long enough to read the page after a trip to the IdP; short enough that an old ending is not news. */
export const ENDED_NOTE_MAX_AGE_SECONDS = 900;

type NoteDeps = { secret: string; name: string; secure: boolean };

export async function endedNoteCookie(note: EndedNote, deps: NoteDeps): Promise<string> {
  const sealed = await seal({ ...endedNoteSchema.parse(note) }, deps.secret, deps.name, ENDED_NOTE_MAX_AGE_SECONDS);
  return serializeCookie(deps.name, sealed, { maxAge: ENDED_NOTE_MAX_AGE_SECONDS, secure: deps.secure });
}

export function noteOf(handle: SessionHandle, extra: Pick<EndedNote, "logout" | "incomplete"> = {}): EndedNote {
  return { lsid: handle.lsid, iss: handle.iss, sub: handle.sub, sid: handle.sid, createdAt: handle.createdAt, ...extra };
}

/** Opens the note, or undefined for none, an altered one, one sealed elsewhere or an expired one. */
export async function readEndedNote(sealed: string | undefined, secret: string, name: string): Promise<EndedNote | undefined> {
  if (!sealed) return undefined;
  try {
    return endedNoteSchema.parse(await unseal(sealed, secret, name));
  } catch {
    return undefined;
  }
}
