import { getConfig } from "@/lib/config";
import { securityLog } from "@/lib/log/security-log";
import { IssuerError, validateIssuerParameter, type IssuerErrorCode } from "./authorization-response";
import { getIdpMetadata } from "./client";
import { authorizationRequestUrl, decidePush, ParError, type ParErrorCode } from "./par";

/**
 * Lockstep's part of Auth.js's sign-in, around what Auth.js does itself (app/api/auth/[...nextauth],
 * and the server action `signIn` in auth.ts): the authorization request pushed (RFC 9126) on the way
 * out, the response's issuer checked (RFC 9207) on the way back.
 */

export type SignInErrorCode = ParErrorCode | IssuerErrorCode;

/** Where a sign-in that failed on Lockstep's side is answered (app/api/auth/sign-in-error): a page that names the code, no details. */
export function signInErrorPath(code: SignInErrorCode): string {
  return `/api/auth/sign-in-error?${new URLSearchParams({ code })}`;
}

/**
 * What the app adds to Auth.js's authorization request before it leaves (Auth.js sets one value per
 * parameter): e.g. the remote APIs' resource indicators and scopes (lib/api/sign-in.ts), so that the
 * tokens asked for them later are within the grant (RFC 8707 §2, RFC 6749 §6).
 */
export type CompleteRequest = (params: URLSearchParams) => URLSearchParams;

const asBuilt: CompleteRequest = (params) => params;

/**
 * The redirect Auth.js built for the browser, completed (`complete`) and pushed when PAR is on: the
 * same parameters (state, nonce, PKCE challenge, redirect_uri, scope and whatever else Auth.js put
 * there) go to the IdP's PAR endpoint, and the browser goes to
 * `authorization_endpoint?client_id=…&request_uri=…` (RFC 9126 §4). Without PAR the completed request
 * stays in the URL. A redirect anywhere else (Auth.js's error page) is left as it is. Throws ParError.
 */
export async function pushSignInLocation(location: string, complete: CompleteRequest = asBuilt): Promise<string> {
  const { OIDC_PAR } = getConfig();
  let as;
  try {
    as = await getIdpMetadata();
  } catch {
    // Without PAR, Auth.js's request goes as it is. With it, Auth.js has just read the same document:
    // a second read failing says the IdP is not answering.
    if (OIDC_PAR === "off") return location;
    securityLog({
      event: "oidc.par",
      outcome: "error",
      code: "par_failed",
      spec: "RFC 9126 §2",
      cause: "discovery_unavailable",
      setting: "OIDC_ISSUER",
    });
    throw new ParError("par_failed", "RFC 9126 §2");
  }
  const target = URL.parse(location);
  const endpoint = typeof as.authorization_endpoint === "string" ? URL.parse(as.authorization_endpoint) : null;
  if (!target || !endpoint || target.origin !== endpoint.origin || target.pathname !== endpoint.pathname) return location;
  const built = new URLSearchParams(target.search);
  // The endpoint's own query (RFC 6749 §3.1 allows one) stays in the URL; only the request is pushed.
  for (const [name, value] of endpoint.searchParams) built.delete(name, value);
  const params = complete(built);
  if (!decidePush(as, OIDC_PAR) && params.toString() === built.toString()) return location;
  return (await authorizationRequestUrl(as, params, OIDC_PAR)).href;
}

/**
 * Auth.js's answer to the sign-in POST with its redirect completed and pushed (pushSignInLocation): a 302 with
 * Location, or `{ url }` for a request sent with X-Auth-Return-Redirect (next-auth/react). Every
 * other header, Auth.js's state, nonce and PKCE cookies included, is kept as it is. A failed push
 * answers a redirect to the sign-in error page instead, without those cookies.
 */
export async function pushSignInResponse(request: Request, response: Response, complete: CompleteRequest = asBuilt): Promise<Response> {
  const asJson = request.headers.has("x-auth-return-redirect");
  const location = asJson ? await jsonUrlOf(response) : response.headers.get("location");
  if (!location) return response;
  let pushed: string;
  try {
    pushed = await pushSignInLocation(location, complete);
  } catch (error) {
    if (!(error instanceof ParError)) throw error;
    const url = new URL(signInErrorPath(error.code), getConfig().AUTH_URL).href;
    return asJson ? Response.json({ url }, { headers: { "cache-control": "no-store" } }) : redirect303(url);
  }
  if (pushed === location) return response;
  const headers = new Headers(response.headers);
  if (!asJson) {
    headers.set("location", pushed);
    return new Response(null, { status: response.status, headers });
  }
  headers.delete("content-length");
  return Response.json({ url: pushed }, { status: response.status, headers });
}

async function jsonUrlOf(response: Response): Promise<string | null> {
  if (!response.headers.get("content-type")?.includes("application/json")) return null;
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => null);
  return typeof body === "object" && body !== null && "url" in body && typeof body.url === "string" ? body.url : null;
}

function redirect303(url: string): Response {
  return new Response(null, { status: 303, headers: { location: url, "cache-control": "no-store" } });
}

/**
 * RFC 9207 §2.4 on the sign-in callback, before Auth.js exchanges its code: the code of a refused
 * response (logged), or undefined. When the IdP's metadata cannot be read here, Auth.js, which reads
 * it itself and checks the same rule, decides.
 */
export async function callbackIssuerProblem(params: URLSearchParams): Promise<IssuerErrorCode | undefined> {
  let as;
  try {
    as = await getIdpMetadata();
  } catch {
    return undefined;
  }
  try {
    validateIssuerParameter(as, params);
    return undefined;
  } catch (error) {
    if (!(error instanceof IssuerError)) throw error;
    securityLog({ event: "sign_in.callback", outcome: "rejected", code: error.code, spec: error.spec });
    return error.code;
  }
}
