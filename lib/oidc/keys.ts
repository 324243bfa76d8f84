import { importJWK, type CryptoKey, type JWTVerifyGetKey, type KeyObject } from "jose";
import { getConfig } from "@/lib/config";
import { getIdpMetadata } from "./client";
import { remoteKeySet } from "./remote-keys";

/** The IdP's signing keys from its jwks_uri (see remoteKeySet for the caching). */
export const getIdpKeys: JWTVerifyGetKey = async (header, token) => {
  const { jwks_uri } = await getIdpMetadata();
  if (!jwks_uri) throw new TypeError("The IdP publishes no jwks_uri.");
  return remoteKeySet(jwks_uri)(header, token);
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
