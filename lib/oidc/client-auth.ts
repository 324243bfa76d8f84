import { importJWK } from "jose";
import * as oauth from "oauth4webapi";
import type { Config } from "@/lib/config";
import { validateClientPrivateJwk } from "@/lib/config/client-key";
import { securityLog } from "@/lib/log/security-log";

/**
 * How this client authenticates at the IdP's token, revocation, introspection and PAR endpoints
 * (OIDC_CLIENT_AUTH_METHOD): `client_secret_basic` (RFC 6749 §2.3.1), `client_secret_post` (the
 * same, in the body), or `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9: a JWT with
 * iss = sub = client_id, aud, jti and exp, signed with OIDC_CLIENT_PRIVATE_KEY). One choice for
 * every request: Auth.js's code exchange (authjsClientOptions) and Lockstep's own (clientAuthentication).
 */

export type ClientAuthErrorCode = "client_key_unusable" | "client_secret_missing";

/** The configured credential cannot be used. Names the setting, never its value. */
export class ClientAuthError extends Error {
  constructor(
    readonly code: ClientAuthErrorCode,
    readonly setting: "OIDC_CLIENT_PRIVATE_KEY" | "OIDC_CLIENT_SECRET",
  ) {
    super(`${setting} cannot be used (${code}).`);
    this.name = "ClientAuthError";
  }
}

let imported: { text: string; key: Promise<oauth.PrivateKey> } | undefined;

/**
 * OIDC_CLIENT_PRIVATE_KEY imported once per process (non-extractable, for signing only). Its shape
 * was checked with the configuration; WebCrypto can still refuse its numbers (a point off its curve),
 * which is logged once and refuses every request that needs it.
 */
export function clientPrivateKey(config: Pick<Config, "OIDC_CLIENT_PRIVATE_KEY">): Promise<oauth.PrivateKey> {
  const text = config.OIDC_CLIENT_PRIVATE_KEY;
  if (text === undefined) return Promise.reject(new ClientAuthError("client_key_unusable", "OIDC_CLIENT_PRIVATE_KEY"));
  if (imported?.text !== text) {
    const key = (async () => {
      const jwk = validateClientPrivateJwk(text);
      const cryptoKey = await importJWK(jwk, jwk.alg, { extractable: false });
      if (!(cryptoKey instanceof CryptoKey) || cryptoKey.type !== "private") throw new TypeError("not a private CryptoKey");
      return { key: cryptoKey, kid: jwk.kid };
    })().catch(() => {
      securityLog({ event: "oidc.client_key", outcome: "error", code: "client_key_unusable", setting: "OIDC_CLIENT_PRIVATE_KEY" });
      throw new ClientAuthError("client_key_unusable", "OIDC_CLIENT_PRIVATE_KEY");
    });
    // Rejections are handled by whoever awaits it; this keeps an unawaited one from being unhandled.
    key.catch(() => {});
    imported = { text, key };
  }
  return imported.key;
}

function clientSecret(config: Pick<Config, "OIDC_CLIENT_SECRET">): string {
  // The configuration requires it for these methods (lib/config/schema.ts).
  if (config.OIDC_CLIENT_SECRET === undefined) throw new ClientAuthError("client_secret_missing", "OIDC_CLIENT_SECRET");
  return config.OIDC_CLIENT_SECRET;
}

type ClientAuthConfig = Pick<Config, "OIDC_CLIENT_AUTH_METHOD" | "OIDC_CLIENT_SECRET" | "OIDC_CLIENT_PRIVATE_KEY">;

/**
 * oauth4webapi's client authentication for every request Lockstep sends itself. A private_key_jwt
 * assertion is made per request (a fresh jti, exp 60 s ahead) with aud = the issuer identifier alone,
 * the value RFC 7523bis and FAPI 2.0 settle on and every IdP accepts.
 */
export function clientAuthentication(config: ClientAuthConfig): oauth.ClientAuth {
  switch (config.OIDC_CLIENT_AUTH_METHOD) {
    case "client_secret_basic":
      return oauth.ClientSecretBasic(clientSecret(config));
    case "client_secret_post":
      return oauth.ClientSecretPost(clientSecret(config));
    case "private_key_jwt":
      return async (as, client, body, headers) => oauth.PrivateKeyJwt(await clientPrivateKey(config))(as, client, body, headers);
  }
}

/**
 * The same choice in the shape Auth.js's OIDC provider reads for its code exchange
 * (@auth/core lib/actions/callback/oauth/callback.js): `client.token_endpoint_auth_method`, the
 * secret, and for private_key_jwt `token.clientPrivateKey` (read by its code, absent from its types
 * in 5.0.0-beta.32). Auth.js signs that assertion with aud = [issuer, token_endpoint]: oidc-provider
 * accepts an array that holds either; an IdP that insists on the issuer alone (FAPI 2.0) does not.
 */
export async function authjsClientOptions(config: ClientAuthConfig): Promise<{
  clientSecret?: string;
  client: { token_endpoint_auth_method: Config["OIDC_CLIENT_AUTH_METHOD"] };
  token?: { clientPrivateKey: oauth.PrivateKey };
}> {
  const client = { token_endpoint_auth_method: config.OIDC_CLIENT_AUTH_METHOD };
  if (config.OIDC_CLIENT_AUTH_METHOD === "private_key_jwt") return { client, token: { clientPrivateKey: await clientPrivateKey(config) } };
  return { client, clientSecret: clientSecret(config) };
}
