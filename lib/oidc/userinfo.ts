import * as oauth from "oauth4webapi";
import { getIdpMetadata, getOidcClient } from "./client";

export class UserinfoError extends Error {
  readonly code = "userinfo_failed";
  constructor(readonly status?: number) {
    super("The IdP's userinfo endpoint did not answer with claims.");
    this.name = "UserinfoError";
  }
}

/**
 * OpenID Connect Core §5.3: the IdP's userinfo claims, asked for with a server-held access token.
 * The response's `sub` must be the session's (Core §5.3.2). Throws UserinfoError.
 */
export async function fetchUserinfo(accessToken: string, expectedSub: string): Promise<oauth.UserInfoResponse> {
  const as = await getIdpMetadata();
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
  } catch {
    throw new UserinfoError(response.status);
  }
}
