import * as oauth from "oauth4webapi";
import { getConfig, type Config } from "@/lib/config";
import { securityLog } from "@/lib/log/security-log";
import { ClientAuthError } from "./client-auth";
import { getOidcClient } from "./client";

/**
 * Pushed Authorization Requests (RFC 9126). Every authorization request Lockstep sends a browser
 * with (Auth.js's sign-in, the silent re-check) goes through `authorizationRequestUrl`: with PAR on,
 * its parameters travel to the IdP on a back channel, authenticated as this client, and the browser
 * carries only `client_id` and the `request_uri` the IdP answered (§4). Nothing about the request
 * (state, nonce, PKCE challenge, scope) then shows in the browser's history or can be changed there.
 */

export type ParMode = Config["OIDC_PAR"];

export type ParErrorCode =
  /** OIDC_PAR=require, and the IdP's metadata has no pushed_authorization_request_endpoint (RFC 9126 §5). */
  | "par_unsupported"
  /** The IdP answered the push with an error (RFC 9126 §2.3), e.g. invalid_client or invalid_request. */
  | "par_refused"
  /** No usable answer: network, timeout, a 5xx, a body without request_uri, or this client's key unusable. */
  | "par_failed";

export class ParError extends Error {
  constructor(
    readonly code: ParErrorCode,
    readonly spec: string,
    /** The IdP's `error` (RFC 9126 §2.3), when it sent one. */
    readonly idpError?: string,
  ) {
    super(`Pushed authorization request failed: ${code} (${spec})`);
    this.name = "ParError";
  }
}

/** What the IdP's metadata says about PAR (RFC 9126 §5). */
export type ParMetadata = Pick<
  oauth.AuthorizationServer,
  "pushed_authorization_request_endpoint" | "require_pushed_authorization_requests"
>;

/**
 * Whether an authorization request is pushed. `auto`: when the IdP advertises an endpoint; `off`:
 * never; `require`: always, and without an endpoint the request is refused (ParError, logged)
 * rather than sent with its parameters in the URL.
 */
export function decidePush(as: ParMetadata, mode: ParMode): boolean {
  const advertised = typeof as.pushed_authorization_request_endpoint === "string";
  if (mode === "require" && !advertised) {
    const error = new ParError("par_unsupported", "RFC 9126 §5");
    logParFailure(error);
    throw error;
  }
  return mode !== "off" && advertised;
}

const PUSH_TIMEOUT_MS = 5_000;

/**
 * RFC 9126 §2.1: pushes `params` (everything but client_id, which the client authentication adds)
 * and answers the URL the browser goes to, §4: the authorization endpoint with `client_id` and
 * `request_uri` only. Without PAR (decidePush), the authorization endpoint with `params` and client_id.
 * Throws ParError, logged here once with its code.
 */
export async function authorizationRequestUrl(as: oauth.AuthorizationServer, params: URLSearchParams, mode: ParMode): Promise<URL> {
  if (typeof as.authorization_endpoint !== "string") throw new TypeError("The IdP has no authorization_endpoint.");
  const { client, clientAuth, options } = getOidcClient();
  const url = new URL(as.authorization_endpoint);
  if (!decidePush(as, mode)) {
    url.searchParams.set("client_id", client.client_id);
    // Appended, not set: a parameter may repeat (RFC 8707 §2: one `resource` per resource).
    for (const name of new Set(params.keys())) if (name !== "client_id") url.searchParams.delete(name);
    for (const [name, value] of params) if (name !== "client_id") url.searchParams.append(name, value);
    return url;
  }
  const pushed = new URLSearchParams(params);
  pushed.delete("client_id");
  let requestUri: string;
  try {
    const response = await oauth.pushedAuthorizationRequest(as, client, clientAuth, pushed, {
      ...options,
      signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
    });
    ({ request_uri: requestUri } = await oauth.processPushedAuthorizationResponse(as, client, response));
  } catch (cause) {
    const error = parErrorOf(cause);
    logParFailure(error, cause);
    throw error;
  }
  url.searchParams.set("client_id", client.client_id);
  url.searchParams.set("request_uri", requestUri);
  return url;
}

/** RFC 6749 §5.2: an `error` value is NQSCHAR; anything else from the IdP is not logged as it came. */
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;
const idpErrorOf = (value: unknown) => (typeof value === "string" && ERROR_CODE.test(value) ? value : "unreadable");

function parErrorOf(cause: unknown): ParError {
  // RFC 9126 §2.3: an error response is the token endpoint's (RFC 6749 §5.2): 400, or 401 invalid_client.
  if (cause instanceof oauth.ResponseBodyError) return new ParError("par_refused", "RFC 9126 §2.3", idpErrorOf(cause.error));
  if (cause instanceof oauth.WWWAuthenticateChallengeError) {
    return new ParError("par_refused", "RFC 9126 §2.3", idpErrorOf(cause.cause[0]?.parameters.error ?? "invalid_client"));
  }
  return new ParError("par_failed", "RFC 9126 §2.2");
}

/** The settings to look at when the IdP refuses this client itself (RFC 6749 §5.2 invalid_client, unauthorized_client). */
function clientSettings(): string {
  return getConfig().OIDC_CLIENT_AUTH_METHOD === "private_key_jwt"
    ? "OIDC_CLIENT_ID, OIDC_CLIENT_PRIVATE_KEY"
    : "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET";
}

function logParFailure(error: ParError, cause?: unknown): void {
  const clientRefused = error.idpError === "invalid_client" || error.idpError === "unauthorized_client";
  securityLog({
    event: "oidc.par",
    outcome: "error",
    code: error.code,
    spec: error.spec,
    idp_error: error.idpError,
    ...(error.code === "par_unsupported" ? { setting: "OIDC_PAR" } : {}),
    ...(clientRefused ? { setting: clientSettings() } : {}),
    ...(cause instanceof ClientAuthError ? { cause: cause.code, setting: cause.setting } : {}),
  });
}
