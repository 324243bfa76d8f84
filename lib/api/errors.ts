/**
 * Why the remote-API proxy (and fetchApi) answered instead of the upstream: one code per rule, one
 * status per code. The wire shape is `{"error":"<code>"}` with `Cache-Control: no-store`; nothing
 * else (never the upstream's URL, a header or a token). Session refusals keep the gate's own shape
 * (401 `{"error":"unauthorized","reason"}`, lib/http/responses.ts).
 */
export const remoteApiErrors = {
  /** Anti-forgery: the static `X-CSRF: 1` header is missing (a cross-site form cannot send it). */
  csrf_header_required: 403,
  /** Anti-forgery: `Origin` names another origin, or `Sec-Fetch-Site` says same-site or cross-site. */
  cross_site: 403,
  /** No API of that name is declared with an upstream: the proxy is not an open proxy. */
  unknown_api: 404,
  /** The path has a dot segment, an encoded slash or backslash, a control character, double encoding, or resolves outside the API's base URL. */
  invalid_path: 400,
  /** A request header could not be sent on (a value with CR, LF or NUL). */
  invalid_header: 400,
  /** The request body is over REMOTE_API_MAX_REQUEST_BYTES (declared, or once streamed that far). */
  body_too_large: 413,
  /** The upstream declared an answer over REMOTE_API_MAX_RESPONSE_BYTES. */
  response_too_large: 502,
  /** The upstream could not be reached, or broke off before its status and headers. */
  upstream_unreachable: 502,
  /** The upstream did not send its status and headers within REMOTE_API_TIMEOUT_MS, or the exchange passed REMOTE_API_TOTAL_TIMEOUT_MS. */
  upstream_timeout: 504,
  /** The IdP did not issue the token the API needs (it failed, or refused a grant other than by ending the session). */
  token_unavailable: 502,
} as const;

export type RemoteApiErrorCode = keyof typeof remoteApiErrors;

export class RemoteApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: RemoteApiErrorCode,
    /** The spec or rule broken, for the log and the tests (`RFC 9110 §7.6.1`). */
    readonly spec?: string,
  ) {
    super(`Remote API call refused: ${code}${spec ? ` (${spec})` : ""}`);
    this.name = "RemoteApiError";
    this.status = remoteApiErrors[code];
  }
}

/** The answer for a refusal. */
export function remoteApiErrorResponse(code: RemoteApiErrorCode): Response {
  return Response.json({ error: code }, { status: remoteApiErrors[code], headers: { "Cache-Control": "no-store" } });
}
