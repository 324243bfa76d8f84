import { generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { calculateJwkThumbprint, CompactSign, type JWK } from "jose";

/** The algorithms the IdP has a published key for. ID and logout tokens only ever use RS256. */
export type SigningAlg = "RS256" | "ES256";

export type SignOptions = {
  /** Picks the published key: RS256 the RSA key (the default), ES256 the EC P-256 key. */
  alg?: SigningAlg;
  /**
   * Extra JOSE header members. They go over the defaults (`alg`, and `kid` of the chosen key), so a test
   * can name another kid or algorithm; the signature is still made with the chosen key, using the
   * header's `alg`. No `typ` unless given here.
   */
  header?: Record<string, unknown>;
};

export type SigningKeys = {
  /** Private JWKs for oidc-provider's `jwks` option (it publishes only their public parts). */
  providerJwks: { keys: JWK[] };
  /** Signs `claims` (as given, nothing added) into a compact JWS with the published key for the alg. */
  sign(claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
};

const generate = promisify(generateKeyPair);

async function keyPair(alg: SigningAlg): Promise<{ key: KeyObject; jwk: JWK }> {
  const { privateKey } = alg === "RS256" ? await generate("rsa", { modulusLength: 2048 }) : await generate("ec", { namedCurve: "P-256" });
  const exported = privateKey.export({ format: "jwk" }) as JWK;
  // The kid is the RFC 7638 thumbprint. No `alg` member: like the OpenID conformance suite's keys, these
  // leave the algorithm to the token header (oidc-provider adds `alg` itself where only one fits: EC P-256).
  const jwk: JWK = { ...exported, kid: await calculateJwkThumbprint(exported), use: "sig" };
  return { key: privateKey, jwk };
}

/** Creates the IdP's signing keys: an RSA key (RS256, used for every token) and an EC P-256 key (ES256). */
export async function createSigningKeys(): Promise<SigningKeys> {
  const [rsa, ec] = await Promise.all([keyPair("RS256"), keyPair("ES256")]);
  const byAlg: Record<SigningAlg, { key: KeyObject; jwk: JWK }> = { RS256: rsa, ES256: ec };
  return {
    providerJwks: { keys: [rsa.jwk, ec.jwk] },
    async sign(claims, options = {}) {
      const { key, jwk } = byAlg[options.alg ?? "RS256"];
      const header = { alg: options.alg ?? "RS256", kid: jwk.kid, ...options.header } as { alg: string; [member: string]: unknown };
      return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header).sign(key);
    },
  };
}
