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
  /** The browser and operating system that signed in, from its User-Agent (lib/session/device.ts). Names only, never the raw header. */
  device: z
    .object({ browser: z.string().max(60).optional(), os: z.string().max(60).optional(), type: z.string().max(20).optional() })
    .optional(),
});

export type SessionRecord = z.infer<typeof sessionRecordSchema>;

export type DeviceInfo = NonNullable<SessionRecord["device"]>;

/** "Chrome on Linux", "Firefox on iOS (mobile)", or "Unknown browser" when nothing was recognised. */
export function deviceLabel(device: DeviceInfo | undefined): string {
  const browser = device?.browser || "Unknown browser";
  const os = device?.os ? ` on ${device.os}` : "";
  const type = device?.type && device.type !== "desktop" ? ` (${device.type})` : "";
  return `${browser}${os}${type}`;
}

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
