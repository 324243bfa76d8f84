import * as oauth from "oauth4webapi";
import type { RemoteApi } from "./registry";
import { emptyApiState, type ApiState, type ApiToken, type DpopPrivateJwk } from "./state";
import { generateDpopKey, type DpopKey, type DpopKeys } from "./dpop";
import { RemoteApiError } from "./errors";
import { getAccessToken, SessionEndedError, type RefreshDeps } from "@/lib/session/refresh";
import { endSessions } from "@/lib/revocation/end-sessions";
import type { SessionRecord } from "@/lib/session/record";
import { hashId, type SecurityEvent } from "@/lib/log/security-log";
import { StoreError } from "@/lib/store/errors";
import { GRANT_TIMEOUT_MS, singleFlight } from "@/lib/session/single-flight";

/** What token requests need of the IdP: its metadata and this app's client (lib/oidc/client.ts). */
export type IdpClient = {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  options: Pick<oauth.TokenEndpointRequestOptions, typeof oauth.customFetch | typeof oauth.allowInsecureRequests>;
};

export type TokenDeps = {
  /** The session store, the revocation list (a refused grant ends the session), the skew and the clock. */
  refresh: RefreshDeps;
  idp: () => Promise<IdpClient>;
  dpop: DpopKeys;
  log: (event: SecurityEvent) => void;
};

/** What a call carries: the token, its scheme, and the key to sign DPoP proofs with (RFC 9449 §7.1: scheme `DPoP`). */
export type Credential = { accessToken: string; scheme: "Bearer" | "DPoP"; key?: DpopKey };

/** When the token endpoint gives no expires_in (RFC 6749 §5.1 makes it RECOMMENDED only), a token is kept this long. */
const DEFAULT_LIFETIME_S = 300;

/**
 * The credential a call to `api` carries, or null for none:
 * - `none`, and `user-or-none` without a session: none;
 * - `user` (and `user-or-none` with a session) without `resource` or `dpop`: the session's own access
 *   token (getAccessToken: refreshed when near expiry);
 * - `user` with `resource` (RFC 8707) or `dpop` (RFC 9449): a token of the API's own, obtained with the
 *   session's refresh token and cached with the session (sessionApiToken);
 * - `client`: this app's token from the client credentials grant, cached per API (clientApiToken).
 *
 * `refused` is a token the API has just refused (RFC 6750 §3.1 `invalid_token`): it is not given again.
 * `prefetched` is the session's API state, read while the gate checked the session (one round trip
 * of waiting instead of two); when it is undefined the state is read here.
 */
export async function credentialFor(
  deps: TokenDeps,
  api: RemoteApi,
  sessionId: string | null,
  refused?: string,
  prefetched?: Promise<ApiState | null | undefined>,
): Promise<Credential | null> {
  if (api.token === "none") return null;
  if (api.token === "client") return clientApiToken(deps, api, refused);
  if (sessionId === null) {
    if (api.token === "user-or-none") return null;
    throw new SessionEndedError("A user token needs a session.");
  }
  if (!api.resource && !api.dpop) return { accessToken: await sessionAccessToken(deps, sessionId, refused), scheme: "Bearer" };
  return sessionApiToken(deps, api, sessionId, refused, prefetched);
}

/** Whether calls to `api` use a token cached with the session (not the session's own, nor the app's). */
export function usesSessionApiState(api: RemoteApi): boolean {
  return (api.token === "user" || api.token === "user-or-none") && Boolean(api.resource || api.dpop);
}

/** The session's own token (lib/session/refresh.ts); an IdP that fails otherwise than by refusing is `token_unavailable`. */
async function sessionAccessToken(deps: TokenDeps, sessionId: string, refused: string | undefined): Promise<string> {
  try {
    return await getAccessToken(deps.refresh, sessionId, refused);
  } catch (error) {
    if (error instanceof SessionEndedError || error instanceof StoreError) throw error;
    deps.log({ event: "api.token", outcome: "error", code: "idp_unavailable", grant: "refresh_token", session: hashId(sessionId) });
    throw new RemoteApiError("token_unavailable", "RFC 6749 §6");
  }
}

function usable(deps: TokenDeps, token: ApiToken | undefined, refused: string | undefined): token is ApiToken {
  const now = (deps.refresh.now ?? Date.now)();
  return token !== undefined && token.accessToken !== refused && token.expiresAt - deps.refresh.skewSeconds * 1000 > now;
}

async function credential(deps: TokenDeps, token: ApiToken, key: DpopPrivateJwk | undefined): Promise<Credential> {
  // RFC 9449 §7.1: a DPoP-bound token goes with the DPoP scheme and a proof; a bearer one (the IdP did not bind it) as Bearer.
  if (token.tokenType === "dpop" && key) return { accessToken: token.accessToken, scheme: "DPoP", key: await deps.dpop.get(key) };
  return { accessToken: token.accessToken, scheme: "Bearer" };
}

/**
 * A token for one API for a session: from the session's cache while it is fresh, else from the
 * refresh-token grant (RFC 6749 §6) with the API's `resource` (RFC 8707 §2.2) and scopes, under the
 * session's refresh lock so that, across instances, one request asks while the others wait for what
 * it stores. The grant may rotate the refresh token: the new one is written to the session record
 * under the same lock, before the API token is stored. A refused grant (`invalid_grant`) ends the
 * session, as a refused refresh does.
 */
async function sessionApiToken(
  deps: TokenDeps,
  api: RemoteApi,
  sessionId: string,
  refused: string | undefined,
  prefetched?: Promise<ApiState | null | undefined>,
): Promise<Credential> {
  const store = deps.refresh.ending.sessions;
  const now = deps.refresh.now ?? Date.now;
  const cached = async (read?: Promise<ApiState | null | undefined>): Promise<Credential | undefined> => {
    const early = read ? await read : undefined;
    const state = early !== undefined ? early : await store.apiState(sessionId);
    const token = state?.tokens[api.name];
    return usable(deps, token, refused) ? credential(deps, token, state?.dpopKey) : undefined;
  };
  const hit = await cached(prefetched);
  if (hit) return hit;

  // The session's lock, the one getAccessToken takes: any grant with the refresh token may rotate it.
  return singleFlight({
    lock: (owner, ttlMs) => store.lock(sessionId, owner, ttlMs),
    unlock: (owner) => store.unlock(sessionId, owner),
    underLock: async () => {
      // Someone may have fetched it between our read and our lock.
      const state = (await store.apiState(sessionId)) ?? emptyApiState();
      const token = state.tokens[api.name];
      if (usable(deps, token, refused)) return credential(deps, token, state.dpopKey);
      const record = await store.read(sessionId);
      if (!record) throw new SessionEndedError("The session is over.");
      if (!record.refreshToken) throw new RemoteApiError("token_unavailable", "no refresh token");
      return grantForSession(deps, api, sessionId, record, state);
    },
    whileWaiting: () => cached(),
    timedOut: () => new RemoteApiError("token_unavailable", "refresh lock"),
    now,
  });
}

/** What kind of failure a grant met, for the log: oauth4webapi's stable code or the error's class, never its message (which may quote a response). */
function failureName(error: unknown): string {
  if (error instanceof oauth.ResponseBodyError) return `status_${error.status}`;
  if (error instanceof oauth.OperationProcessingError) return error.code ?? "processing";
  return error instanceof Error ? error.name : "unknown";
}

/** The grant's parameters: RFC 8707 §2.2 `resource`, RFC 6749 §3.3 `scope`. */
function grantParameters(api: RemoteApi): URLSearchParams {
  const parameters = new URLSearchParams();
  if (api.resource) parameters.set("resource", api.resource);
  if (api.scopes?.length) parameters.set("scope", api.scopes.join(" "));
  return parameters;
}

/** Runs a grant, once more with the IdP's nonce when it asks for one (RFC 9449 §8: `use_dpop_nonce`, the handle keeps the nonce). */
async function withNonceRetry(run: () => Promise<oauth.TokenEndpointResponse>, dpop: boolean): Promise<oauth.TokenEndpointResponse> {
  try {
    return await run();
  } catch (error) {
    if (dpop && oauth.isDPoPNonceError(error)) return run();
    throw error;
  }
}

function apiTokenOf(result: oauth.TokenEndpointResponse, now: number): ApiToken {
  return {
    accessToken: result.access_token,
    tokenType: result.token_type === "dpop" ? "dpop" : "bearer",
    expiresAt: now + (result.expires_in ?? DEFAULT_LIFETIME_S) * 1000,
  };
}

async function grantForSession(
  deps: TokenDeps,
  api: RemoteApi,
  sessionId: string,
  record: SessionRecord,
  state: ApiState,
): Promise<Credential> {
  const store = deps.refresh.ending.sessions;
  const idp = await deps.idp().catch(() => {
    throw new RemoteApiError("token_unavailable", "IdP metadata");
  });
  // RFC 9449 §5: one key for every DPoP token of the session, so that an IdP binding the refresh token (public clients) sees the same key each time.
  const dpopKey = api.dpop ? (state.dpopKey ?? (await generateDpopKey())) : state.dpopKey;
  const key = api.dpop && dpopKey ? await deps.dpop.get(dpopKey) : undefined;
  const log = (outcome: SecurityEvent["outcome"], code: string, failure?: string) =>
    deps.log({ event: "api.token", outcome, code, api: api.name, grant: "refresh_token", session: hashId(sessionId), failure });

  let result: oauth.TokenEndpointResponse;
  try {
    result = await withNonceRetry(async () => {
      const response = await oauth.refreshTokenGrantRequest(idp.as, idp.client, idp.clientAuth, record.refreshToken!, {
        ...idp.options,
        additionalParameters: grantParameters(api),
        DPoP: key?.handle,
        signal: AbortSignal.timeout(GRANT_TIMEOUT_MS),
      });
      return oauth.processRefreshTokenResponse(idp.as, idp.client, response);
    }, key !== undefined);
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && error.error === "invalid_grant") {
      // RFC 6749 §5.2: the refresh token is no longer good (revoked, or its grant ended): so is the session.
      log("rejected", "invalid_grant");
      await endSessions(deps.refresh.ending, [{ kind: "session", id: sessionId, record }], "refresh_failed", {
        detail: { mechanism: "token_refresh" },
      });
      throw new SessionEndedError("The IdP refused the refresh token.");
    }
    // invalid_target (RFC 8707 §2), invalid_scope, a DPoP refusal, or the IdP unreachable: no token, the session stands.
    log("error", error instanceof oauth.ResponseBodyError ? error.error : "idp_unavailable", failureName(error));
    throw new RemoteApiError("token_unavailable", "RFC 8707 §2.2");
  }

  // A rotated refresh token goes to the record first: the old one may already be refused.
  if (result.refresh_token && result.refresh_token !== record.refreshToken) {
    if (!(await store.update(sessionId, { ...record, refreshToken: result.refresh_token })))
      throw new SessionEndedError("The session ended during the grant.");
  }
  const token = apiTokenOf(result, (deps.refresh.now ?? Date.now)());
  if (api.dpop && token.tokenType !== "dpop") log("ok", "dpop_not_bound");
  else log("ok", "issued");
  const next: ApiState = { ...state, tokens: { ...state.tokens, [api.name]: token }, ...(dpopKey ? { dpopKey } : {}) };
  if (!(await store.setApiState(sessionId, next, record.expiresAt))) throw new SessionEndedError("The session ended during the grant.");
  return credential(deps, token, dpopKey);
}

/**
 * This app's token for a `client` API: the client credentials grant (RFC 6749 §4.4) with its
 * `resource` and scopes, kept per API in the store until `skewSeconds` before it expires, fetched by
 * one request across instances (the API's lock) while others wait. With `dpop`, bound to a key of
 * the app's, kept with the token. Nothing ends when the IdP refuses: `token_unavailable`.
 */
async function clientApiToken(deps: TokenDeps, api: RemoteApi, refused: string | undefined): Promise<Credential> {
  const store = deps.refresh.ending.sessions;
  const now = deps.refresh.now ?? Date.now;
  const cached = async (): Promise<Credential | undefined> => {
    const state = await store.clientApiState(api.name);
    const token = state?.tokens[api.name];
    return usable(deps, token, refused) ? credential(deps, token, state?.dpopKey) : undefined;
  };
  const hit = await cached();
  if (hit) return hit;

  return singleFlight({
    lock: (owner, ttlMs) => store.lockClientApi(api.name, owner, ttlMs),
    unlock: (owner) => store.unlockClientApi(api.name, owner),
    underLock: async () => (await cached()) ?? clientGrant(deps, api, (await store.clientApiState(api.name)) ?? emptyApiState()),
    whileWaiting: () => cached(),
    timedOut: () => new RemoteApiError("token_unavailable", "client lock"),
    now,
  });
}

async function clientGrant(deps: TokenDeps, api: RemoteApi, state: ApiState): Promise<Credential> {
  const idp = await deps.idp().catch(() => {
    throw new RemoteApiError("token_unavailable", "IdP metadata");
  });
  const dpopKey = api.dpop ? (state.dpopKey ?? (await generateDpopKey())) : undefined;
  const key = dpopKey ? await deps.dpop.get(dpopKey) : undefined;
  const log = (outcome: SecurityEvent["outcome"], code: string, failure?: string) =>
    deps.log({ event: "api.token", outcome, code, api: api.name, grant: "client_credentials", failure });
  let result: oauth.TokenEndpointResponse;
  try {
    result = await withNonceRetry(async () => {
      const response = await oauth.clientCredentialsGrantRequest(idp.as, idp.client, idp.clientAuth, grantParameters(api), {
        ...idp.options,
        DPoP: key?.handle,
        signal: AbortSignal.timeout(GRANT_TIMEOUT_MS),
      });
      return oauth.processClientCredentialsResponse(idp.as, idp.client, response);
    }, key !== undefined);
  } catch (error) {
    log("error", error instanceof oauth.ResponseBodyError ? error.error : "idp_unavailable", failureName(error));
    throw new RemoteApiError("token_unavailable", "RFC 6749 §4.4");
  }
  const now = (deps.refresh.now ?? Date.now)();
  const token = apiTokenOf(result, now);
  log("ok", api.dpop && token.tokenType !== "dpop" ? "dpop_not_bound" : "issued");
  const ttlMs = token.expiresAt - deps.refresh.skewSeconds * 1000 - now;
  // A token that would be stale at once is used for this call and not kept.
  if (ttlMs > 0)
    await deps.refresh.ending.sessions.setClientApiState(
      api.name,
      { tokens: { [api.name]: token }, ...(dpopKey ? { dpopKey } : {}) },
      ttlMs,
    );
  return credential(deps, token, dpopKey);
}
