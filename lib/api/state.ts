import { z } from "zod";

/**
 * What Lockstep keeps in the store for remote APIs (lib/api/tokens.ts), per session (the audience
 * tokens obtained with its refresh token, and its DPoP key) or per API for `client` tokens (the
 * client credentials token, and this app's DPoP key for it). Read back through `parseApiState`: the
 * store is a boundary like any other.
 */

/** An access token for one API, as the token endpoint gave it. */
export const apiTokenSchema = z.object({
  accessToken: z.string().min(1),
  /** RFC 6749 §7.1 token_type, lowercased: `bearer`, or `dpop` when the IdP bound it to the key (RFC 9449 §5). */
  tokenType: z.enum(["bearer", "dpop"]),
  /** When it expires (ms since the epoch). */
  expiresAt: z.number(),
});
export type ApiToken = z.infer<typeof apiTokenSchema>;

/**
 * An ES256 private key as a JWK (RFC 7518 §6.2.2): the DPoP key pair (RFC 9449 §2), the public half
 * being `x` and `y`. Never sent anywhere: only proofs signed with it are.
 */
export const dpopPrivateJwkSchema = z.object({
  kty: z.literal("EC"),
  crv: z.literal("P-256"),
  x: z.string().min(1),
  y: z.string().min(1),
  d: z.string().min(1),
});
export type DpopPrivateJwk = z.infer<typeof dpopPrivateJwkSchema>;

export const apiStateSchema = z.object({
  /** By API name. */
  tokens: z.record(z.string(), apiTokenSchema),
  dpopKey: dpopPrivateJwkSchema.optional(),
});
export type ApiState = z.infer<typeof apiStateSchema>;

export const emptyApiState = (): ApiState => ({ tokens: {} });

/** A stored state, or null for none; a value that is not one (corrupt, or an older shape) counts as none. */
export function parseApiState(raw: string | null | undefined): ApiState | null {
  if (typeof raw !== "string") return null;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = apiStateSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}
