import type { RemoteApi } from "./registry";
import { validateAntiForgery } from "./anti-forgery";
import { callApi, type CallDeps } from "./call";
import { RemoteApiError, remoteApiErrorResponse } from "./errors";
import { upstreamRequestHeaders } from "./headers";
import { resolveUpstreamUrl, splitPathAndQuery } from "./path";
import { currentSession, requireSession, sessionCookie, type CurrentSessionDeps } from "@/lib/session/current";
import { SessionEndedError } from "@/lib/session/refresh";
import { openHandle } from "@/lib/session/handle";
import { usesSessionApiState } from "./tokens";
import type { ApiState } from "./state";
import { noteSeen } from "@/lib/session/last-seen";
import { StoreError } from "@/lib/store/errors";
import { clearCookie, unauthorizedJson, unavailable } from "@/lib/http/responses";
import type { SecurityEvent } from "@/lib/log/security-log";

export type RemoteApiDeps = CallDeps & {
  /** The APIs on in this deployment (lib/api/registry.ts resolveApis). */
  apis: ReadonlyMap<string, RemoteApi>;
  /** The route handlers' gate: the revocation check and the session record. */
  gate: CurrentSessionDeps;
  appUrl: string;
  log: (event: SecurityEvent) => void;
};

/** Where the proxy is mounted: `/api/remote/<name>/<path>`. */
export const REMOTE_PREFIX = "/api/remote/";

/**
 * `/api/remote/<name>/<path>` from the browser (every method), in this order, so that nothing
 * reaches an upstream before every rule has passed:
 * 1. anti-forgery (`X-CSRF: 1`, not cross-site: lib/api/anti-forgery.ts);
 * 2. a declared API with an upstream, else 404 `unknown_api`;
 * 3. the path (lib/api/path.ts), else 400 `invalid_path`;
 * 4. the session gate: the revocation list and the record (requireSession) for `user` and `client`
 *    APIs; for `user-or-none` and `none`, a cookie that names a session is checked the same way (a
 *    revoked session reaches no upstream, whatever the API), and no cookie means no session;
 * 5. the call (lib/api/call.ts).
 */
export async function proxyRemote(deps: RemoteApiDeps, request: Request): Promise<Response> {
  const url = new URL(request.url);
  let apiName: string | undefined;
  try {
    validateAntiForgery(request, deps.appUrl);
    const rest = url.pathname.startsWith(REMOTE_PREFIX) ? url.pathname.slice(REMOTE_PREFIX.length) : "";
    const slash = rest.indexOf("/");
    const name = slash === -1 ? rest : rest.slice(0, slash);
    const api = deps.apis.get(name);
    if (!api) throw new RemoteApiError("unknown_api");
    apiName = api.name;
    const target = resolveUpstreamUrl(api.upstream, slash === -1 ? "" : rest.slice(slash + 1), url.search);
    const headers = upstreamRequestHeaders(request.headers, api.forwardHeaders);

    // The session's API tokens are read while the gate checks the session, and used only once it has passed, for that session.
    const prefetch = usesSessionApiState(api) ? prefetchApiState(deps, sessionCookie(deps.gate, request)) : undefined;
    const gate = await gateFor(deps, api, request);
    if ("response" in gate) return gate.response;
    const sessionId = gate.sessionId;
    return await callApi(deps, {
      api,
      url: target,
      method: request.method,
      headers,
      body: request.body,
      sessionId,
      prefetched: prefetch?.then((p) => (p && p.id === sessionId ? p.state : undefined)),
      signal: request.signal,
    });
  } catch (error) {
    return refusal(deps, error, apiName, true);
  }
}

/**
 * The API state of the session a cookie names (its sealed handle opened, the session not yet checked
 * against the revocation list): undefined on any failure, so that the regular read answers instead.
 */
function prefetchApiState(
  deps: RemoteApiDeps,
  sealed: string | undefined,
): Promise<{ id: string; state: ApiState | null } | undefined> | undefined {
  if (!sealed) return undefined;
  return openHandle(sealed, deps.gate.config.AUTH_SECRET, deps.gate.cookies.session)
    .then(async (handle) => ({ id: handle.lsid, state: await deps.tokens.refresh.ending.sessions.apiState(handle.lsid) }))
    .catch(() => undefined);
}

async function gateFor(
  deps: RemoteApiDeps,
  api: RemoteApi,
  request: Request,
): Promise<{ sessionId: string | null } | { response: Response }> {
  if (api.token === "user" || api.token === "client") {
    const gate = await requireSession(deps.gate, request);
    return "response" in gate ? gate : { sessionId: gate.session.id };
  }
  if (sessionCookie(deps.gate, request) === undefined) return { sessionId: null };
  const gate = await requireSession(deps.gate, request);
  return "response" in gate ? gate : { sessionId: gate.session.id };
}

/** Init for fetchApi: what a `fetch` takes, minus what Lockstep decides (the URL, credentials, redirects). */
export type FetchApiInit = {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  signal?: AbortSignal;
};

/**
 * fetchApi's work (lib/api/fetch-api.ts), given the session cookie's value: the same gate, path
 * rules, headers and token logic as the proxy, without anti-forgery (the caller is server code, not
 * a browser). Answers as the proxy would, refusals included.
 */
export async function callFromServer(
  deps: RemoteApiDeps,
  sealed: string | undefined,
  name: string,
  path: string,
  init: FetchApiInit = {},
): Promise<Response> {
  try {
    const api = deps.apis.get(name);
    if (!api) throw new RemoteApiError("unknown_api");
    const { rawPath, search } = splitPathAndQuery(path);
    const target = resolveUpstreamUrl(api.upstream, rawPath, search);
    const method = (init.method ?? "GET").toUpperCase();
    // The platform's Request turns any BodyInit into a stream, and names its content type (a form's boundary).
    const shaped = new Request(target, { method, headers: init.headers, body: init.body ?? null, duplex: "half" } as RequestInit);
    const headers = upstreamRequestHeaders(shaped.headers, api.forwardHeaders);

    let sessionId: string | null = null;
    if (api.token !== "none" || sealed !== undefined) {
      let current;
      try {
        current = await currentSession(deps.gate, sealed);
      } catch {
        return unavailable(true);
      }
      if (current.state === "ended") return unauthorizedJson(current.reason);
      if (current.state === "active") {
        noteSeen(deps.gate.sessions, current.id);
        sessionId = current.id;
      } else if (api.token === "user" || api.token === "client") return unauthorizedJson("no_session");
    }
    return await callApi(deps, { api, url: target, method, headers, body: shaped.body, sessionId, signal: init.signal });
  } catch (error) {
    return refusal(deps, error, name, false);
  }
}

/** Maps a failure to its answer and logs it: codes and hashed ids only, never a token, a URL or a header. */
function refusal(deps: RemoteApiDeps, error: unknown, api: string | undefined, browser: boolean): Response {
  if (error instanceof RemoteApiError) {
    deps.log({ event: "api.call", outcome: error.status < 500 ? "rejected" : "error", code: error.code, spec: error.spec, api });
    return remoteApiErrorResponse(error.code);
  }
  if (error instanceof SessionEndedError) {
    deps.log({ event: "api.call", outcome: "rejected", code: "refresh_failed", api });
    // As /api/userinfo: the session ended here, so its cookie goes (a server component cannot set cookies; the guard clears it next time).
    return unauthorizedJson("refresh_failed", browser ? clearCookie(deps.gate.cookies.session, deps.gate.cookies.secure) : undefined);
  }
  if (error instanceof StoreError) return unavailable(true);
  deps.log({ event: "api.call", outcome: "error", code: "internal", api, error: error instanceof Error ? error.name : "unknown" });
  return remoteApiErrorResponse("upstream_unreachable");
}
