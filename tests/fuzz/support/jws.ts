import { constants, createHmac, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { createLocalJWKSet, type JWK, type JWTVerifyGetKey } from "jose";
import type { Stores } from "@/lib/store/ports";
import type { SessionHandle } from "@/lib/session/handle";

/**
 * Compact JWS built by hand (RFC 7515 §3.1, §7.1) from raw JSON text, so that a fuzz case can sign
 * what a JOSE library would refuse to produce: duplicate members, odd types, invalid UTF-8, padding.
 */

export type Alg = "RS256" | "RS384" | "RS512" | "PS256" | "ES256" | "HS256";

export const b64u = (data: string | Uint8Array): string =>
  Buffer.from(typeof data === "string" ? new TextEncoder().encode(data) : data).toString("base64url");
/** Lenient (Node's decoder ignores what is not base64url): for reading what a case holds, never for judging it. */
export const unb64u = (segment: string): Uint8Array => new Uint8Array(Buffer.from(segment, "base64url"));

export function signBytes(alg: Alg, key: KeyObject | Uint8Array, input: string): Uint8Array {
  const data = Buffer.from(input, "latin1");
  const keyObject = key as KeyObject;
  switch (alg) {
    case "RS256":
      return sign("sha256", data, keyObject);
    case "RS384":
      return sign("sha384", data, keyObject);
    case "RS512":
      return sign("sha512", data, keyObject);
    case "PS256":
      return sign("sha256", data, { key: keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case "ES256":
      return sign("sha256", data, { key: keyObject, dsaEncoding: "ieee-p1363" });
    case "HS256":
      return createHmac("sha256", key as Uint8Array)
        .update(data)
        .digest();
  }
}

/** A JSON object as raw members, in order: duplicates and raw number text (1e999, -0) survive. */
export type Members = [name: string, rawValue: string][];

export const J = (value: unknown): string => JSON.stringify(value);
export const members = (object: Record<string, unknown>): Members => Object.entries(object).map(([k, v]) => [k, J(v)]);
export const objectText = (m: Members): string => `{${m.map(([k, v]) => `${J(k)}:${v}`).join(",")}}`;
export const without = (m: Members, name: string): Members => m.filter(([k]) => k !== name);
/** Sets a member in place (its position kept), or appends it. */
export function withMember(m: Members, name: string, rawValue: string): Members {
  return m.some(([k]) => k === name) ? m.map(([k, v]) => [k, k === name ? rawValue : v]) : [...m, [name, rawValue]];
}

/** header.payload.signature with the signature over the segments exactly as written. */
export function compact(header: string | Uint8Array, payload: string | Uint8Array, alg: Alg, key: KeyObject | Uint8Array): string {
  const input = `${b64u(header)}.${b64u(payload)}`;
  return `${input}.${b64u(signBytes(alg, key, input))}`;
}

/** Signs exact segment text (which may be ill-encoded on purpose). */
export function compactSegments(headerSegment: string, payloadSegment: string, alg: Alg, key: KeyObject | Uint8Array): string {
  const input = `${headerSegment}.${payloadSegment}`;
  return `${input}.${b64u(signBytes(alg, key, input))}`;
}

export type Keys = {
  /** The issuer's signing key, published as kid k1 (RSA 2048). */
  issuer: KeyObject;
  /** A P-256 key the issuer also publishes (kid k2): an ES256 signature with it verifies, but ES256 is not the expected alg. */
  ec: KeyObject;
  /** Not published anywhere. */
  attacker: KeyObject;
  /** RSA 1024, published as kid k3 only in `getKeyWithWeak`'s set. */
  weak: KeyObject;
  issuerPublicPem: string;
  issuerPublicDer: Uint8Array;
  issuerPublicJwk: JWK;
  attackerPublicJwk: JWK;
  /** The issuer's JWKS: k1 and k2. */
  getKey: JWTVerifyGetKey;
  /** The same with a legacy 1024-bit RSA key k3 beside them. */
  getKeyWithWeak: JWTVerifyGetKey;
};

export function makeKeys(): Keys {
  const issuer = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const weak = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const jwk = (k: KeyObject) => k.export({ format: "jwk" }) as JWK;
  const k1 = { ...jwk(issuer.publicKey), kid: "k1", use: "sig" };
  const k2 = { ...jwk(ec.publicKey), kid: "k2", use: "sig" };
  const k3 = { ...jwk(weak.publicKey), kid: "k3", use: "sig" };
  return {
    issuer: issuer.privateKey,
    ec: ec.privateKey,
    attacker: attacker.privateKey,
    weak: weak.privateKey,
    issuerPublicPem: issuer.publicKey.export({ format: "pem", type: "spki" }).toString(),
    issuerPublicDer: new Uint8Array(issuer.publicKey.export({ format: "der", type: "spki" })),
    issuerPublicJwk: k1,
    attackerPublicJwk: jwk(attacker.publicKey),
    getKey: createLocalJWKSet({ keys: [k1, k2] }),
    getKeyWithWeak: createLocalJWKSet({ keys: [k1, k2, k3] }),
  };
}

/** The (iss, jti) an input's payload claims, read leniently, for checking that no replay record names it. */
export function claimedReplayKey(raw: string): { iss: string; jti: string } | undefined {
  try {
    const claims = JSON.parse(new TextDecoder().decode(unb64u(raw.split(".")[1] ?? ""))) as unknown;
    if (
      typeof claims === "object" &&
      claims !== null &&
      "iss" in claims &&
      "jti" in claims &&
      typeof claims.iss === "string" &&
      typeof claims.jti === "string"
    ) {
      return { iss: claims.iss, jti: claims.jti };
    }
  } catch {
    // Not a claims set: nothing to look up.
  }
  return undefined;
}

/**
 * What a refused signal must have left untouched on the in-memory stores, common to every receiver:
 * the session's verdict and record, its index entry, the ended-sessions feed, and any replay record
 * under the (iss, jti) it was sent with or claims. Returns what changed, in words; empty when nothing did.
 */
export async function writtenByRefusal(
  stores: Stores,
  session: { id: string; handle: SessionHandle; record: unknown; indexed: () => Promise<number> },
  replay: { kind: "bcl" | "ssf"; iss: string; jti: string; raw: string },
): Promise<string[]> {
  const problems: string[] = [];
  const verdict = await stores.revocations.check(session.handle);
  if (!verdict.active) problems.push(`the session's verdict is ${J(verdict)}`);
  const record = await stores.sessions.read(session.id);
  if (J(record) !== J(session.record)) problems.push(`the session record reads ${J(record).slice(0, 80)}`);
  if ((await session.indexed()) !== 1) problems.push("the session's index lost it");
  const ended = await stores.revocations.endedSince(0);
  if (ended.length > 0) problems.push(`${ended.length} ended-session feed entries`);
  const keys = [{ iss: replay.iss, jti: replay.jti }, claimedReplayKey(replay.raw)].filter(
    (k): k is { iss: string; jti: string } => k !== undefined,
  );
  const distinct = keys.filter((k, i) => keys.findIndex((o) => o.iss === k.iss && o.jti === k.jti) === i);
  for (const k of distinct)
    if (await stores.revocations.seen({ kind: replay.kind, ...k })) problems.push(`a replay record for jti ${k.jti.slice(0, 40)}`);
  return problems;
}
