import { z } from "zod";

/** The server-held session record. Only route handlers and server components read it; never sent to a browser. */
export const sessionRecordSchema = z.object({
  iss: z.string(),
  sub: z.string(),
  sid: z.string().optional(),
  createdAt: z.number(),
  expiresAt: z.number(),
  claims: z.object({ name: z.string().optional(), email: z.string().optional() }),
  idToken: z.string(),
  accessToken: z.string().optional(),
  accessTokenExpiresAt: z.number().optional(),
  refreshToken: z.string().optional(),
  scope: z.string().optional(),
  /** Session Management 1.0: the OP's session_state from the last authentication response (SM §2). */
  sessionState: z.string().optional(),
  /** CAEP token-claims-change: read the claims again from the IdP on the next request. */
  claimsStale: z.boolean().optional(),
});

export type SessionRecord = z.infer<typeof sessionRecordSchema>;

/** What a browser may see of a session: claims and times, no token. */
export function publicView(sessionId: string, record: SessionRecord) {
  return {
    user: { sub: record.sub, name: record.claims.name ?? null, email: record.claims.email ?? null },
    session: {
      id: sessionId,
      createdAt: new Date(record.createdAt).toISOString(),
      expiresAt: new Date(record.expiresAt).toISOString(),
      idp: { iss: record.iss, sid: record.sid ?? null },
    },
  };
}
