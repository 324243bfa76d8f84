import { z } from "zod";
import { isForbiddenRequestHeader } from "./headers";

/**
 * The remote APIs the browser may reach through Lockstep (`/api/remote/<name>/<path>`) and server code
 * may call (`fetchApi`). The list itself is `apis.ts` at the repository root, the one file a cloner
 * edits; the upstream URLs may come from the REMOTE_API_URLS setting instead, per deployment.
 */

/**
 * The token an API call carries (the names follow Duende BFF's RequiredTokenType):
 * - `user`: the signed-in user's access token (for `resource`, when given); no session, 401;
 * - `client`: this app's own token, from the client credentials grant (RFC 6749 §4.4);
 * - `user-or-none`: the user's token when signed in, else none;
 * - `none`: no token (a public API behind the same origin and anti-forgery rules).
 */
export const tokenKinds = ["user", "client", "user-or-none", "none"] as const;
export type TokenKind = (typeof tokenKinds)[number];

/** An API's name: a path segment. */
export const apiNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, "lowercase letters, digits and -, starting with a letter");

export type RemoteApiDefinition = {
  /** Base URL of the upstream (https, or http on loopback). REMOTE_API_URLS overrides it per deployment; with neither, the API is off. */
  upstream?: string;
  token: TokenKind;
  /** RFC 8707 resource indicator asked for with the token; the access token's audience. */
  resource?: string;
  /** Scopes asked for with the token (space-joined). */
  scopes?: readonly string[];
  /** RFC 9449: the token is DPoP-bound to a key pair held on the server for the session (or for this app, with `client`). */
  dpop?: boolean;
  /**
   * Request headers sent on besides the proxy's own short list (Accept, Content-Type, conditionals,
   * Range...: lib/api/headers.ts), e.g. `["idempotency-key"]`. Never Cookie, Authorization, Host,
   * Origin, Referer, X-CSRF, DPoP or a hop-by-hop header: resolveApis refuses those.
   */
  forwardHeaders?: readonly string[];
  /** Shown on the signed-in page: a GET of `path` through the proxy, its JSON answer listed under `title`. */
  dashboard?: { title: string; path: string };
};

/** A declared API with its upstream resolved: what the proxy and fetchApi use. */
export type RemoteApi = Omit<RemoteApiDefinition, "upstream"> & { name: string; upstream: URL };

/** Typed identity: checks the shape of `apis.ts` at compile time. */
export function defineApis<const T extends Record<string, RemoteApiDefinition>>(apis: T): T {
  return apis;
}

/** An upstream base URL Lockstep will send tokens to: https, or http to a loopback host (development, the demo). */
export function isAllowedUpstream(url: URL): boolean {
  if (url.username || url.password || url.search || url.hash) return false;
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

/**
 * The APIs that are on in this deployment: those of `definitions` with an upstream, from
 * REMOTE_API_URLS (`overrides`) first, else their own. Throws, naming the API and the setting, for a
 * name that is not a path segment, an override for an undeclared API, or an upstream that is not
 * https (or http on loopback) or carries credentials, a query or a fragment.
 */
export function resolveApis(definitions: Record<string, RemoteApiDefinition>, overrides: Record<string, string>): Map<string, RemoteApi> {
  const apis = new Map<string, RemoteApi>();
  for (const name of Object.keys(overrides)) {
    if (!(name in definitions)) throw new Error(`REMOTE_API_URLS names "${name}", which apis.ts does not declare`);
  }
  for (const [name, definition] of Object.entries(definitions)) {
    if (!apiNameSchema.safeParse(name).success)
      throw new Error(`apis.ts: "${name}" is not a valid API name (lowercase letters, digits and -)`);
    const raw = overrides[name] ?? definition.upstream;
    if (raw === undefined) continue;
    const url = URL.parse(raw);
    if (!url || !isAllowedUpstream(url)) {
      throw new Error(
        `the upstream of API "${name}" (${name in overrides ? "REMOTE_API_URLS" : "apis.ts"}) must be an https URL (http only on loopback) without credentials, query or fragment`,
      );
    }
    const forbidden = definition.forwardHeaders?.find((h) => !/^[a-z0-9-]+$/i.test(h) || isForbiddenRequestHeader(h));
    if (forbidden !== undefined) throw new Error(`apis.ts: API "${name}" may not forward the header "${forbidden}"`);
    // The base always ends in "/": paths are resolved below it, never beside it.
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    const { upstream: _declared, ...rest } = definition;
    void _declared;
    apis.set(name, { ...rest, name, upstream: url });
  }
  return apis;
}
