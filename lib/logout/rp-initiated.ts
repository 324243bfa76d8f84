import { isSameSecret } from "@/lib/http/constant-time";

/** Registered at the IdP as the post_logout_redirect_uri (AUTH_URL + this path). */
export const LOGOUT_CALLBACK_PATH = "/api/logout/callback";

/**
 * RP-Initiated Logout 1.0 (RPIL §2): the URL that sends the browser to the IdP's
 * end_session_endpoint with id_token_hint, a registered post_logout_redirect_uri and a state.
 * Any query the endpoint already has is kept.
 */
export function endSessionUrl(
  endSessionEndpoint: string,
  params: { idTokenHint: string; postLogoutRedirectUri: string; state: string; clientId: string },
): URL {
  const url = new URL(endSessionEndpoint);
  url.searchParams.set("id_token_hint", params.idTokenHint);
  url.searchParams.set("post_logout_redirect_uri", params.postLogoutRedirectUri);
  url.searchParams.set("state", params.state);
  url.searchParams.set("client_id", params.clientId);
  return url;
}

export function newLogoutState(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

/** RPIL §2 (state), §4: the state that comes back must be the one this browser was given. Missing or different: untrusted. */
export function isExpectedLogoutState(returned: string | null, expected: string | undefined): boolean {
  if (!returned || !expected) return false;
  return isSameSecret(returned, expected);
}
