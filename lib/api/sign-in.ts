import type { RemoteApi } from "./registry";

/**
 * What the sign-in's authorization request must name for the `user` APIs that have a `resource`:
 * each indicator (RFC 8707 §2.1: the `resource` parameter, once per resource) and their scopes.
 * IdPs that implement RFC 8707 as oidc-provider does grant a resource at the token endpoint (the
 * refresh-token grant of lib/api/tokens.ts, RFC 8707 §2.2) only when the authorization request named
 * it; without it the grant is `invalid_target` and the call answers 502 `token_unavailable`.
 */
export function signInResources(apis: Iterable<RemoteApi>): { resources: string[]; scopes: string[] } {
  const resources = new Set<string>();
  const scopes = new Set<string>();
  for (const api of apis) {
    if ((api.token !== "user" && api.token !== "user-or-none") || !api.resource) continue;
    resources.add(api.resource);
    for (const scope of api.scopes ?? []) scopes.add(scope);
  }
  return { resources: [...resources], scopes: [...scopes] };
}

/**
 * An authorization request URL (or PAR body) with the APIs' resource indicators appended and their
 * scopes added to `scope`, each once. For the sign-in's redirect to the IdP, before it is pushed.
 */
export function withSignInResources(params: URLSearchParams, apis: Iterable<RemoteApi>): URLSearchParams {
  const { resources, scopes } = signInResources(apis);
  const out = new URLSearchParams(params);
  const present = new Set(out.getAll("resource"));
  for (const resource of resources) if (!present.has(resource)) out.append("resource", resource);
  if (scopes.length > 0) {
    const scope = new Set((out.get("scope") ?? "").split(" ").filter(Boolean));
    for (const s of scopes) scope.add(s);
    out.set("scope", [...scope].join(" "));
  }
  return out;
}
