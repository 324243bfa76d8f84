import { createRemoteJWKSet, importJWK, type CryptoKey, type JWTVerifyGetKey, type KeyObject } from "jose";
import { getConfig } from "@/lib/config";
import { getIdpMetadata } from "./client";

/**
 * The IdP's signing keys from its jwks_uri: cached for 10 minutes, fetched again on an unknown
 * `kid` at most once every 30 seconds (jose's remote key set), never on every request.
 */
let remote: JWTVerifyGetKey | undefined;

export const getIdpKeys: JWTVerifyGetKey = async (header, token) => {
  if (!remote) {
    const { jwks_uri } = await getIdpMetadata();
    if (!jwks_uri) throw new TypeError("The IdP publishes no jwks_uri.");
    remote = createRemoteJWKSet(new URL(jwks_uri), { cacheMaxAge: 600_000, cooldownDuration: 30_000, timeoutDuration: 3_000 });
  }
  return remote(header, token);
};

let decryptionKey: Promise<CryptoKey | KeyObject | Uint8Array> | undefined;

/** This client's private key for encrypted ID (and logout) tokens, when ID token encryption is registered. */
export async function getIdTokenDecryption() {
  const config = getConfig();
  const alg = config.OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ALG;
  if (!alg || !config.OIDC_ID_TOKEN_DECRYPTION_KEY) return undefined;
  decryptionKey ??= importJWK(JSON.parse(config.OIDC_ID_TOKEN_DECRYPTION_KEY), alg);
  return { key: await decryptionKey, alg, enc: config.OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ENC };
}
