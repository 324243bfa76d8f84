import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";

const keySets = new Map<string, JWTVerifyGetKey>();

/**
 * The one remote key set of a jwks_uri per process (the IdP's for logout tokens, the SSF
 * transmitter's for SETs): cached for 10 minutes, fetched again on an unknown `kid` at most once
 * every 30 seconds (jose's remote key set), never on every request.
 */
export function remoteKeySet(jwksUri: string): JWTVerifyGetKey {
  let keys = keySets.get(jwksUri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(jwksUri), { cacheMaxAge: 600_000, cooldownDuration: 30_000, timeoutDuration: 3_000 });
    keySets.set(jwksUri, keys);
  }
  return keys;
}
