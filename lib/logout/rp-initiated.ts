import { isSameSecret } from "@/lib/http/constant-time";

/** Registered at the IdP as the post_logout_redirect_uri (AUTH_URL + this path). */
export const LOGOUT_CALLBACK_PATH = "/api/logout/callback";

/**
 * RP-Initiated Logout 1.0 §2: the request that sends the browser to the IdP's end_session_endpoint,
 * with a registered post_logout_redirect_uri, a state and client_id. id_token_hint is only
 * RECOMMENDED there, and in a URL it would sit in the address bar, the history and the IdP's access
 * log, so it is sent only by POST (`idTokenHint` given): the OP must accept POST as well as GET,
 * but a cross-site POST carries no SameSite=Lax cookie of the IdP, which is why it is opt-in
 * (OIDC_END_SESSION_ID_TOKEN_HINT=post). Any query the endpoint already has is kept.
 */
export function endSessionRequest(
  endSessionEndpoint: string,
  params: { idTokenHint?: string; postLogoutRedirectUri: string; state: string; clientId: string },
): { action: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {
    post_logout_redirect_uri: params.postLogoutRedirectUri,
    state: params.state,
    client_id: params.clientId,
  };
  if (params.idTokenHint) fields.id_token_hint = params.idTokenHint;
  return { action: new URL(endSessionEndpoint).toString(), fields };
}

/** The same request as a GET URL, for when no ID token goes with it. */
export function endSessionUrl(request: { action: string; fields: Record<string, string> }): URL {
  if ("id_token_hint" in request.fields) throw new TypeError("An ID token never goes in a URL.");
  const url = new URL(request.action);
  for (const [name, value] of Object.entries(request.fields)) url.searchParams.set(name, value);
  return url;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const SUBMIT_SCRIPT = "document.forms[0].submit()";

/**
 * A page that POSTs a form at once (and offers a button when scripts are off). Its CSP lets only
 * its own script run and the form go only to `action`'s origin.
 */
export async function autoPostPage(request: { action: string; fields: Record<string, string> }, text: string): Promise<Response> {
  const inputs = Object.entries(request.fields)
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join("");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(SUBMIT_SCRIPT));
  const hash = Buffer.from(digest).toString("base64");
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(text)}</title></head><body>` +
    `<form method="post" action="${escape(request.action)}">${inputs}<noscript><p>${escape(text)}</p><button type="submit">Continue</button></noscript></form>` +
    `<script>${SUBMIT_SCRIPT}</script></body></html>`;
  return new Response(html, {
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": `default-src 'none'; script-src 'sha256-${hash}'; form-action ${new URL(request.action).origin}; frame-ancestors 'self'`,
      "Referrer-Policy": "no-referrer",
    },
  });
}

export function newLogoutState(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

/** RPIL §2 (state), §4: the state that comes back must be the one this browser was given. Missing or different: untrusted. */
export function isExpectedLogoutState(returned: string | null, expected: string | undefined): boolean {
  if (!returned || !expected) return false;
  return isSameSecret(returned, expected);
}

/** The logout-state cookie: the state, and whether the sign-out here could not be completed (the store was down). */
export function logoutStateCookie(state: string, incomplete: boolean): string {
  return incomplete ? `${state}.incomplete` : state;
}

export function parseLogoutStateCookie(value: string | undefined): { state?: string; incomplete: boolean } {
  if (!value) return { incomplete: false };
  const [state, flag] = value.split(".");
  return { state, incomplete: flag === "incomplete" };
}
