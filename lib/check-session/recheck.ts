import { serializeCookie } from "@/lib/http/cookies";
import * as oauth from "oauth4webapi";
import { z } from "zod";
import type { Config } from "@/lib/config";
import { endSessions, type EndDeps } from "@/lib/revocation/end-sessions";
import type { cookieNames } from "@/lib/session/cookies";
import { getIdpMetadata, getOidcClient } from "@/lib/oidc/client";
import { IssuerError, validateIssuerParameter } from "@/lib/oidc/authorization-response";
import { authorizationRequestUrl } from "@/lib/oidc/par";
import { seal, unseal } from "@/lib/session/handle";

/** Registered at the IdP as a second redirect_uri: where the silent re-check comes back. */
export const SESSION_CHECK_CALLBACK_PATH = "/api/session/check/callback";

export type RecheckDeps = { config: Config; cookies: ReturnType<typeof cookieNames>; ending: EndDeps };

const pendingSchema = z.object({ state: z.string(), nonce: z.string(), verifier: z.string(), lsid: z.string() });

/**
 * SM §3.1: after the OP iframe said "changed", re-authenticate with prompt=none in a hidden iframe.
 * No id_token_hint (optional, OpenID Connect Core §3.1.2.1): it would put the ID token in a URL; the
 * answer's sub is compared with the session's instead. Returns the IdP URL to go to and the sealed cookie that binds the answer to
 * this browser and this session (state, nonce, PKCE verifier). With PAR on (OIDC_PAR), the request is
 * pushed like the sign-in's (RFC 9126) and the URL carries only client_id and request_uri; a failed
 * push throws ParError (logged), and the tab's check reports an error, never an ending.
 */
export async function startRecheck(deps: RecheckDeps, sessionId: string): Promise<{ url: URL; cookie: string }> {
  const { config, cookies } = deps;
  const as = await getIdpMetadata();
  const pending = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
    lsid: sessionId,
  };
  const params = new URLSearchParams({
    redirect_uri: new URL(SESSION_CHECK_CALLBACK_PATH, config.AUTH_URL).toString(),
    response_type: "code",
    scope: "openid",
    prompt: "none",
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: "S256",
  });
  const url = await authorizationRequestUrl(as, params, config.OIDC_PAR);
  const sealed = await seal(pending, config.AUTH_SECRET, cookies.sessionCheck, 120);
  const cookie = serializeCookie(cookies.sessionCheck, sealed, { path: SESSION_CHECK_CALLBACK_PATH, maxAge: 120, secure: cookies.secure });
  return { url, cookie };
}

export type RecheckResult =
  | { result: "same"; sessionState?: string }
  | { result: "ended" }
  /** Not a verdict on the session (bad state, IdP trouble): never a logout, never a retry loop. */
  | { result: "error"; code: string };

/**
 * SM §3.1: the prompt=none answer. An ID token for the same user keeps the session (and its new
 * session_state); no ID token (login_required and the like) or another user ends it.
 */
export async function finishRecheck(deps: RecheckDeps, callbackUrl: URL, sealedPending: string | undefined): Promise<RecheckResult> {
  const { config, cookies } = deps;
  const store = deps.ending.sessions;
  const end = () =>
    endSessions(deps.ending, [{ kind: "session", id: pending.lsid }], "idp_session_changed", { detail: { mechanism: "session_iframe" } });
  if (!sealedPending) return { result: "error", code: "no_pending_check" };
  let pending: z.infer<typeof pendingSchema>;
  try {
    pending = pendingSchema.parse(await unseal(sealedPending, config.AUTH_SECRET, cookies.sessionCheck));
  } catch {
    return { result: "error", code: "bad_pending_check" };
  }
  const record = await store.read(pending.lsid);
  if (!record) return { result: "ended" };

  const as = await getIdpMetadata();
  const { client, clientAuth, options } = getOidcClient();
  let params: URLSearchParams;
  try {
    // RFC 9207 §2.4 first, with its own code; oauth4webapi checks the same rule again below.
    validateIssuerParameter(as, callbackUrl.searchParams);
    params = oauth.validateAuthResponse(as, client, callbackUrl, pending.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      const code = error.error;
      // No ID token: the IdP session is gone (or needs the user), so ours ends (SM §3.1).
      if (["login_required", "interaction_required", "consent_required", "account_selection_required"].includes(code)) {
        await end();
        return { result: "ended" };
      }
      return { result: "error", code };
    }
    if (error instanceof IssuerError) return { result: "error", code: error.code };
    return { result: "error", code: "invalid_response" };
  }

  const redirectUri = new URL(SESSION_CHECK_CALLBACK_PATH, config.AUTH_URL).toString();
  const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, pending.verifier, options);
  let tokens: oauth.TokenEndpointResponse;
  try {
    tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
  } catch {
    return { result: "error", code: "token_exchange_failed" };
  }
  const claims = oauth.getValidatedIdTokenClaims(tokens)!;
  if (claims.sub !== record.sub || claims.iss !== record.iss) {
    await end();
    return { result: "ended" };
  }
  const sessionState = callbackUrl.searchParams.get("session_state") ?? undefined;
  await store.update(pending.lsid, { ...record, sessionState, idToken: tokens.id_token ?? record.idToken });
  return { result: "same", sessionState };
}
