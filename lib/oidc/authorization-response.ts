import type * as oauth from "oauth4webapi";

/**
 * RFC 9207 (OAuth 2.0 Authorization Server Issuer Identification): an authorization response names
 * its issuer in `iss`, so that a response from another IdP (a mix-up attack) is never taken to
 * this one's token endpoint. Checked by Lockstep on both of its callbacks (Auth.js's sign-in, before
 * Auth.js sees it; the silent re-check), ahead of oauth4webapi's own check of the same rule.
 */

export type IssuerErrorCode = "iss_missing" | "iss_mismatch" | "iss_repeated";

export class IssuerError extends Error {
  readonly spec = "RFC 9207 §2.4";
  constructor(readonly code: IssuerErrorCode) {
    super(`Authorization response refused: ${code} (RFC 9207 §2.4)`);
    this.name = "IssuerError";
  }
}

/**
 * RFC 9207 §2.4: "If the value does not match the expected issuer identifier, clients MUST reject the
 * authorization response" (simple string comparison, RFC 3986 §6.2.1), and clients "MUST reject
 * authorization responses without the iss parameter from authorization servers that do support"
 * it (`authorization_response_iss_parameter_supported`, §3). A repeated `iss` is refused too
 * (RFC 6749 §3.1: parameters MUST NOT be included more than once). Applies to error responses alike.
 */
export function validateIssuerParameter(
  as: Pick<oauth.AuthorizationServer, "issuer" | "authorization_response_iss_parameter_supported">,
  params: URLSearchParams,
): void {
  const values = params.getAll("iss");
  if (values.length > 1) throw new IssuerError("iss_repeated");
  const [iss] = values;
  if (iss === undefined) {
    if (as.authorization_response_iss_parameter_supported === true) throw new IssuerError("iss_missing");
    return;
  }
  if (iss !== as.issuer) throw new IssuerError("iss_mismatch");
}
