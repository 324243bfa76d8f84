import * as oauth from "oauth4webapi";
import { getIdpMetadata, getOidcClient } from "./client";

/**
 * RFC 7009: asks the IdP to revoke a refresh token. Returns false when the IdP offers no
 * revocation endpoint. Throws when the IdP refuses or cannot be reached.
 */
export async function revokeRefreshToken(token: string): Promise<boolean> {
  const as = await getIdpMetadata();
  if (!as.revocation_endpoint) return false;
  const { client, clientAuth, options } = getOidcClient();
  const response = await oauth.revocationRequest(as, client, clientAuth, token, {
    ...options,
    additionalParameters: { token_type_hint: "refresh_token" },
    signal: AbortSignal.timeout(3_000),
  });
  await oauth.processRevocationResponse(response);
  return true;
}
