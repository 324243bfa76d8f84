import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, EmbeddedJWK, type JWK } from "jose";
import { ResourceError } from "./errors";

/** The proof algorithms accepted (and advertised in `algs`, RFC 9449 §7.1): the demo IdP's. */
export const DPOP_ALGORITHMS = ["ES256", "EdDSA", "Ed25519"] as const;

/** RFC 9449 §11.1: how far a proof's `iat` may be from the server's clock. */
export const IAT_WINDOW_SECONDS = 60;

/** JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** Remembers proofs' `jti` for as long as their `iat` is acceptable (RFC 9449 §11.1), in memory. */
export class JtiCache {
  readonly #seen = new Map<string, number>();
  constructor(private readonly maxEntries = 10_000) {}

  /** Records `jti` until `expiresAt` (ms); false if it was already there. */
  add(jti: string, expiresAt: number, now: number): boolean {
    const until = this.#seen.get(jti);
    if (until !== undefined && until > now) return false;
    if (this.#seen.size >= this.maxEntries) {
      for (const [key, at] of this.#seen) if (at <= now) this.#seen.delete(key);
      // Still full of live entries: drop the oldest rather than grow without bound.
      if (this.#seen.size >= this.maxEntries) this.#seen.delete(this.#seen.keys().next().value!);
    }
    this.#seen.set(jti, expiresAt);
    return true;
  }
}

/**
 * Resource server nonces (RFC 9449 §9): an HMAC of a time slot, so any instance with the secret can
 * check them and nothing is stored. A nonce is good in its slot and the next one.
 */
export class DpopNonces {
  constructor(
    private readonly secret: Buffer = randomBytes(32),
    private readonly slotMs = 60_000,
  ) {}

  current(now: number): string {
    return this.#forSlot(Math.floor(now / this.slotMs));
  }

  isValid(nonce: string, now: number): boolean {
    const slot = Math.floor(now / this.slotMs);
    return [slot, slot - 1].some((s) => {
      const expected = Buffer.from(this.#forSlot(s));
      const given = Buffer.from(nonce);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  }

  #forSlot(slot: number): string {
    const id = slot.toString(36);
    return `${id}.${createHmac("sha256", this.secret).update(id).digest("base64url")}`;
  }
}

export type DpopRequest = {
  method: string;
  /** The request's URI as this server is reached (its public origin and the request target). */
  url: URL;
  /** The access token presented with the proof. */
  accessToken: string;
  /** The thumbprint the token is bound to (its `cnf.jkt`). */
  jkt: string;
};

export type DpopChecks = {
  /** The clock, epoch milliseconds. */
  now: number;
  replay: JtiCache;
  /** Set when this resource demands its nonces (RFC 9449 §9). */
  nonces?: DpopNonces;
};

/** Only the query and fragment are ignored (RFC 9449 §4.3 step 9); URL parsing normalises case, default ports and dot segments (RFC 3986 §6.2.2, §6.2.3). */
function withoutQuery(url: URL): string {
  const copy = new URL(url.href);
  copy.search = "";
  copy.hash = "";
  return copy.href;
}

/**
 * Checks the DPoP proofs of a request to a protected resource, in RFC 9449 §4.3's order, then the
 * binding to the access token (§7.1: `ath`, and the key's thumbprint against `cnf.jkt`). Records the
 * proof's `jti` only once everything else holds, so a refused proof burns nothing. Returns the proof
 * key's thumbprint.
 */
export async function validateDpopProof(proofs: readonly string[], request: DpopRequest, checks: DpopChecks): Promise<string> {
  // RFC 9449 §7.1: the DPoP scheme needs a proof.
  if (proofs.length === 0) throw new ResourceError("missing_proof", "a DPoP-bound token needs a DPoP proof", "RFC 9449 §7.1");
  // §4.3 step 1: "there is not more than one DPoP HTTP request header field".
  if (proofs.length > 1) throw new ResourceError("multiple_proofs", "more than one DPoP header", "RFC 9449 §4.3");
  const proof = proofs[0]!;

  // Step 2: "the DPoP HTTP request header field value is a single and well-formed JWT".
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new ResourceError("malformed_proof", "the DPoP proof is not a JWT", "RFC 9449 §4.3");
  }
  if (proof.split(".").length !== 3) throw new ResourceError("malformed_proof", "the DPoP proof is not a JWS", "RFC 9449 §4.3");
  // Step 4: "the typ JOSE Header Parameter has the value dpop+jwt".
  if (header.typ !== "dpop+jwt") throw new ResourceError("proof_typ", "the DPoP proof's typ is not dpop+jwt", "RFC 9449 §4.3");
  // Step 5: "the alg JOSE Header Parameter indicates a registered asymmetric digital signature algorithm, is not none, is supported".
  if (typeof header.alg !== "string" || !(DPOP_ALGORITHMS as readonly string[]).includes(header.alg)) {
    throw new ResourceError("proof_alg", "the DPoP proof's alg is not accepted", "RFC 9449 §4.3");
  }
  // Step 7: "the jwk JOSE Header Parameter does not contain a private key".
  const jwk = header.jwk as JWK | undefined;
  if (typeof jwk !== "object" || jwk === null || PRIVATE_MEMBERS.some((member) => member in jwk)) {
    throw new ResourceError("proof_jwk", "the DPoP proof's jwk is missing or private", "RFC 9449 §4.3");
  }

  // Step 6: "the JWT signature verifies with the public key contained in the jwk JOSE Header Parameter".
  let payload: Record<string, unknown>;
  try {
    const verified = await compactVerify(proof, EmbeddedJWK, { algorithms: [...DPOP_ALGORITHMS] });
    payload = JSON.parse(new TextDecoder().decode(verified.payload)) as Record<string, unknown>;
  } catch {
    throw new ResourceError("proof_signature", "the DPoP proof's signature does not verify with its jwk", "RFC 9449 §4.3");
  }

  // Step 3: "all required claims per Section 4.2 are contained in the JWT" (with `ath` for a resource, §4.2).
  const { jti, htm, htu, iat, ath, nonce } = payload;
  if (typeof jti !== "string" || !jti || typeof htm !== "string" || typeof htu !== "string" || typeof iat !== "number") {
    throw new ResourceError("proof_claims", "the DPoP proof lacks jti, htm, htu or iat", "RFC 9449 §4.2");
  }
  // Step 8: "the htm claim matches the HTTP method of the current request".
  if (htm !== request.method) throw new ResourceError("htm_mismatch", "the DPoP proof is for another method", "RFC 9449 §4.3");
  // Step 9: "the htu claim matches the HTTP URI value for the HTTP request ..., ignoring any query and fragment parts".
  const proofUrl = URL.parse(htu);
  if (!proofUrl || withoutQuery(proofUrl) !== withoutQuery(request.url)) {
    throw new ResourceError("htu_mismatch", "the DPoP proof is for another URI", "RFC 9449 §4.3");
  }
  // Step 10 and §9: "if the server provided a nonce value to the client, the nonce claim matches".
  if (checks.nonces && (typeof nonce !== "string" || !checks.nonces.isValid(nonce, checks.now))) {
    throw new ResourceError("use_dpop_nonce", "this resource requires a DPoP nonce", "RFC 9449 §9");
  }
  // Step 11: "the creation time of the JWT ... is within an acceptable window".
  if (Math.abs(checks.now / 1000 - iat) > IAT_WINDOW_SECONDS) {
    throw new ResourceError("iat_out_of_window", "the DPoP proof's iat is outside the accepted window", "RFC 9449 §4.3");
  }
  // Step 12: "ensure that the value of the ath claim equals the hash of that access token".
  if (ath !== createHash("sha256").update(request.accessToken).digest("base64url")) {
    throw new ResourceError("ath_mismatch", "the DPoP proof's ath is not the hash of this access token", "RFC 9449 §4.3");
  }
  // Step 12: "confirm that the public key to which the access token is bound matches the public key from the DPoP proof".
  const thumbprint = await calculateJwkThumbprint(jwk);
  if (thumbprint !== request.jkt) {
    throw new ResourceError("jkt_mismatch", "the DPoP proof is signed by another key than the token is bound to", "RFC 9449 §7.1");
  }
  // §11.1: a proof is used once. Kept for as long as its iat could still be accepted.
  if (!checks.replay.add(jti, (iat + IAT_WINDOW_SECONDS) * 1000 + 1, checks.now)) {
    throw new ResourceError("replayed_jti", "this DPoP proof was already used", "RFC 9449 §11.1");
  }
  return thumbprint;
}
