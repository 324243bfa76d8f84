import { EncryptJWT, jwtDecrypt } from "jose";
import { z } from "zod";

/**
 * The session cookie carries this handle and nothing else: encrypted (dir + A256GCM) with a key
 * derived from AUTH_SECRET and the cookie name. Never a token. Edge-safe: Web Crypto and jose only.
 */
export const sessionHandleSchema = z.object({
  /** Lockstep's own session id: its user's 8-character hash tag, then 35 random characters (newSessionId). */
  lsid: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  /** The IdP's issuer, subject and session id, from the ID token. */
  iss: z.string().min(1),
  sub: z.string().min(1),
  sid: z.string().min(1).optional(),
  /** When the session started (ms since epoch). */
  createdAt: z.number().int().positive(),
});

export type SessionHandle = z.infer<typeof sessionHandleSchema>;

// Derived once per (secret, cookie name) and kept as a non-extractable CryptoKey, so that opening a
// handle on the hot path is one AES-GCM decryption: no HKDF and no key import per request.
const derivedKeys = new Map<string, Promise<CryptoKey>>();

function deriveKey(secret: string, salt: string): Promise<CryptoKey> {
  const cacheKey = `${salt}\u0000${secret}`;
  let key = derivedKeys.get(cacheKey);
  if (!key) {
    const encoder = new TextEncoder();
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveBits"])
      .then((material) =>
        crypto.subtle.deriveBits(
          { name: "HKDF", hash: "SHA-256", salt: encoder.encode(salt), info: encoder.encode("Lockstep session handle") },
          material,
          256,
        ),
      )
      .then((bits) => crypto.subtle.importKey("raw", bits, "AES-GCM", false, ["encrypt", "decrypt"]));
    derivedKeys.set(cacheKey, key);
  }
  return key;
}

/** Encrypts a small JSON payload for a cookie, bound to the cookie's name (the salt). */
export async function seal(payload: Record<string, unknown>, secret: string, salt: string, maxAgeSeconds: number): Promise<string> {
  const key = await deriveKey(secret, salt);
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + maxAgeSeconds)
    .encrypt(key);
}

/** Opens what `seal` made with the same secret and name. Throws if it was altered, sealed elsewhere, or expired. */
export async function unseal(sealed: string, secret: string, salt: string): Promise<Record<string, unknown>> {
  const key = await deriveKey(secret, salt);
  const { payload } = await jwtDecrypt(sealed, key, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
  return payload;
}

export function sealHandle(handle: SessionHandle, secret: string, salt: string, maxAgeSeconds: number): Promise<string> {
  return seal({ ...sessionHandleSchema.parse(handle) }, secret, salt, maxAgeSeconds);
}

/**
 * Handles opened lately, per derived key (so per secret and cookie name): the sealed value, the
 * handle it opened to, and when it expires. A browser sends the same cookie on every request, and
 * opening it (an AES-GCM decryption through jose) costs most of a millisecond in the edge runtime:
 * a value that opened once opens again from here, until its expiry. Only values that decrypted and
 * parsed are ever kept, so a hit is exactly a value that would open; bounded, oldest out first.
 */
const opened = new WeakMap<Promise<CryptoKey>, Map<string, { handle: SessionHandle; expiresAt: number }>>();
export const OPENED_HANDLES_MAX = 1_000;

/** Opens a sealed handle. Throws on anything that is not a valid, unexpired handle of ours. */
export async function openHandle(sealed: string, secret: string, salt: string): Promise<SessionHandle> {
  const key = deriveKey(secret, salt);
  let recent = opened.get(key);
  if (!recent) opened.set(key, (recent = new Map()));
  const hit = recent.get(sealed);
  if (hit) {
    recent.delete(sealed);
    // As jose's own check (RFC 7519 §4.1.4): expired once `exp` is reached.
    if (hit.expiresAt <= Date.now()) throw new TypeError("The session handle has expired.");
    recent.set(sealed, hit);
    return { ...hit.handle };
  }
  const payload = await unseal(sealed, secret, salt);
  const handle = Object.freeze(sessionHandleSchema.parse(payload));
  if (typeof payload.exp === "number") {
    if (recent.size >= OPENED_HANDLES_MAX) recent.delete(recent.keys().next().value as string);
    recent.set(sealed, { handle, expiresAt: payload.exp * 1000 });
  }
  // A copy each time: what a caller does with its handle never reaches the one kept here.
  return { ...handle };
}
