import * as oauth from "oauth4webapi";
import { getIdpMetadata, getOidcClient } from "./client";

/**
 * Why the IdP's userinfo claims could not be had: the IdP publishes no userinfo endpoint (Discovery 1.0
 * §3 makes it RECOMMENDED, not required), its answer's `sub` is not the session's (Core §5.3.2), or
 * anything else (discovery, network, timeout, an HTTP error, a body that is not claims).
 */
export type UserinfoErrorCode = "no_userinfo_endpoint" | "userinfo_sub_mismatch" | "userinfo_failed";

export class UserinfoError extends Error {
  constructor(
    readonly status?: number,
    readonly code: UserinfoErrorCode = "userinfo_failed",
  ) {
    super("The IdP's userinfo endpoint did not answer with claims.");
    this.name = "UserinfoError";
  }
}

/**
 * OpenID Connect Core §5.3: the IdP's userinfo claims, asked for with a server-held access token.
 * The response's `sub` must be the session's (Core §5.3.2). Throws UserinfoError (with `status` when
 * the IdP answered), also when the IdP has no userinfo endpoint (`no_userinfo_endpoint`, nothing sent).
 * Bounded: 5 s.
 */
export async function fetchUserinfo(accessToken: string, expectedSub: string): Promise<oauth.UserInfoResponse> {
  let as: oauth.AuthorizationServer;
  try {
    as = await getIdpMetadata();
  } catch {
    throw new UserinfoError();
  }
  if (typeof as.userinfo_endpoint !== "string") throw new UserinfoError(undefined, "no_userinfo_endpoint");
  const { client, options } = getOidcClient();
  let response: Response;
  try {
    response = await oauth.userInfoRequest(as, client, accessToken, { ...options, signal: AbortSignal.timeout(5_000) });
  } catch {
    throw new UserinfoError();
  }
  if (!response.ok) throw new UserinfoError(response.status);
  try {
    return await oauth.processUserInfoResponse(as, client, expectedSub, response);
  } catch (error) {
    throw new UserinfoError(response.status, isSubMismatch(error) ? "userinfo_sub_mismatch" : "userinfo_failed");
  }
}

/** oauth4webapi's refusal of an answer whose `sub` is not the expected one (Core §5.3.2). */
function isSubMismatch(error: unknown): boolean {
  return (
    error instanceof oauth.OperationProcessingError &&
    error.code === oauth.JSON_ATTRIBUTE_COMPARISON &&
    (error.cause as { attribute?: unknown } | undefined)?.attribute === "sub"
  );
}
