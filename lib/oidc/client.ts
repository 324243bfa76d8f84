import * as oauth from "oauth4webapi";
import { getConfig } from "@/lib/config";
import { clientAuthentication } from "./client-auth";
import { nodeFetch } from "./node-fetch";

/** Every request Lockstep itself sends to the IdP goes over `node:http`, not Next's patched fetch (./node-fetch.ts). */
const idpFetch = nodeFetch();

/**
 * The IdP's discovery document, fetched and validated once per process (oauth4webapi checks that
 * `issuer` equals OIDC_ISSUER exactly). A failed fetch is not cached, so the next call tries again.
 */
let metadata: Promise<oauth.AuthorizationServer> | undefined;

// http issuers are allowed for local development and the demo; production issuers are https.
const requestOptions = (issuer: string) => ({
  [oauth.customFetch]: idpFetch,
  ...(issuer.startsWith("http://") ? { [oauth.allowInsecureRequests]: true } : {}),
});

export function getIdpMetadata(): Promise<oauth.AuthorizationServer> {
  if (!metadata) {
    const issuer = new URL(getConfig().OIDC_ISSUER);
    metadata = oauth
      .discoveryRequest(issuer, { algorithm: "oidc", ...requestOptions(issuer.href) })
      .then((response) => oauth.processDiscoveryResponse(issuer, response));
    metadata.catch(() => {
      metadata = undefined;
    });
  }
  return metadata;
}

/**
 * This client for Lockstep's own requests to the IdP, authenticated as OIDC_CLIENT_AUTH_METHOD says
 * (./client-auth.ts): refresh, revocation, introspection, PAR and the silent re-check's code exchange.
 */
export function getOidcClient() {
  const config = getConfig();
  return {
    client: { client_id: config.OIDC_CLIENT_ID } satisfies oauth.Client,
    clientAuth: clientAuthentication(config),
    options: requestOptions(config.OIDC_ISSUER),
  };
}
