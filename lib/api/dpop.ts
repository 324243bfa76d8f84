import { createHash, createPrivateKey, randomBytes, sign, type KeyObject } from "node:crypto";
import * as oauth from "oauth4webapi";
import type { DpopPrivateJwk } from "./state";

/**
 * DPoP (RFC 9449) for remote APIs declared with `dpop: true`. A key pair per session (per app for
 * `client` APIs), ES256, made here and kept in the store with the session's tokens (lib/api/state.ts):
 * it never reaches a browser and goes when the session ends. Token requests carry proofs made by
 * oauth4webapi's DPoP handle (RFC 9449 §5, with the IdP's nonce, §8); calls to the API carry proofs
 * made here (§7), with `ath`, and the API's nonce (§9).
 */

/** RFC 9449 §4.2 requires an asymmetric alg; ES256 is the one every DPoP server supports. */
export const DPOP_ALG = "ES256";

/** A fresh key pair, as the private JWK kept in the store. */
export async function generateDpopKey(): Promise<DpopPrivateJwk> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  if (!jwk.x || !jwk.y || !jwk.d) throw new TypeError("The platform exported an incomplete P-256 key.");
  return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: jwk.d };
}

export type DpopKey = {
  /** The public key as a JWK (the proof's `jwk` header, RFC 9449 §4.2). */
  publicJwk: { kty: "EC"; crv: "P-256"; x: string; y: string };
  /** For the proofs of API calls: node:crypto signs synchronously, in a fraction of WebCrypto's time per call. */
  signingKey: KeyObject;
  /** The proof header, encoded once. */
  header: string;
  /** oauth4webapi's handle for token requests with this key: it keeps each server's last nonce. */
  handle: oauth.DPoPHandle;
};

/**
 * Imported keys (and their handles, with the IdP's nonces) by public key, the least recently used
 * dropped past `max`. One per server, not per process: a handle is recognised only by the copy of
 * oauth4webapi that made it, and Next bundles each route with its own.
 */
export class DpopKeys {
  private readonly keys = new Map<string, Promise<DpopKey>>();
  constructor(private readonly max = 1_000) {}

  get(jwk: DpopPrivateJwk): Promise<DpopKey> {
    const id = `${jwk.x}.${jwk.y}`;
    let key = this.keys.get(id);
    if (key) {
      this.keys.delete(id);
    } else {
      key = importKey(jwk);
      key.catch(() => this.keys.delete(id));
    }
    this.keys.set(id, key);
    if (this.keys.size > this.max) this.keys.delete(this.keys.keys().next().value!);
    return key;
  }
}

async function importKey(jwk: DpopPrivateJwk): Promise<DpopKey> {
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  const algorithm = { name: "ECDSA", namedCurve: "P-256" };
  const [privateKey, publicKey] = await Promise.all([
    crypto.subtle.importKey("jwk", { ...jwk, ext: false }, algorithm, false, ["sign"]),
    // oauth4webapi reads the public key to put it in the proof's header: it must be extractable.
    crypto.subtle.importKey("jwk", publicJwk, algorithm, true, ["verify"]),
  ]);
  const header = Buffer.from(JSON.stringify({ alg: DPOP_ALG, typ: "dpop+jwt", jwk: publicJwk })).toString("base64url");
  const signingKey = createPrivateKey({ key: { ...jwk }, format: "jwk" });
  return { publicJwk, signingKey, header, handle: oauth.DPoP({}, { privateKey, publicKey }) };
}

/**
 * A DPoP proof for a call to a protected resource (RFC 9449 §4.2, §7): `htm` the method, `htu` the
 * URL without query and fragment, `iat`, a fresh `jti`, `ath` the base64url SHA-256 of the access
 * token, and the resource server's `nonce` when it gave one (§9). ES256 as JWS wants it (RFC 7518
 * §3.4: r and s, 32 bytes each, not DER).
 */
export function resourceProof(key: DpopKey, htm: string, url: URL, accessToken: string, nonce?: string, now = Date.now()): string {
  const claims = {
    htm,
    htu: `${url.origin}${url.pathname}`,
    iat: Math.floor(now / 1000),
    jti: randomBytes(16).toString("base64url"),
    ath: createHash("sha256").update(accessToken).digest("base64url"),
    ...(nonce ? { nonce } : {}),
  };
  const input = `${key.header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = sign("sha256", Buffer.from(input), { key: key.signingKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

/**
 * The last `DPoP-Nonce` each resource server gave (RFC 9449 §9: a server may send a new one with
 * any answer), by origin: process-wide, so that calls after the first carry it at once. Bounded.
 */
export class NonceCache {
  private readonly nonces = new Map<string, string>();
  constructor(private readonly max = 1_000) {}
  get(origin: string): string | undefined {
    return this.nonces.get(origin);
  }
  set(origin: string, nonce: string): void {
    this.nonces.delete(origin);
    this.nonces.set(origin, nonce);
    if (this.nonces.size > this.max) this.nonces.delete(this.nonces.keys().next().value!);
  }
}
