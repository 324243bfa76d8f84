import type { RemoteApi } from "./registry";
import { OutgoingBody } from "./body";
import { parseChallenges, saysInvalidToken, saysUseDpopNonce } from "./challenges";
import { resourceProof, type NonceCache } from "./dpop";
import { RemoteApiError } from "./errors";
import { downstreamResponseHeaders } from "./headers";
import { credentialFor, type Credential, type TokenDeps } from "./tokens";
import { sendUpstream, type Agents, type UpstreamAnswer, type UpstreamLimits } from "./upstream";
import type { ApiState } from "./state";
import { hashId } from "@/lib/log/security-log";

export type CallDeps = {
  tokens: TokenDeps;
  agents: Agents;
  /** The resource servers' DPoP nonces (RFC 9449 §9). */
  nonces: NonceCache;
  limits: UpstreamLimits & { maxRequestBytes: number };
};

/** One call, its URL already resolved and checked (lib/api/path.ts), its headers already filtered (lib/api/headers.ts). */
export type ApiCall = {
  api: RemoteApi;
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: ReadableStream<Uint8Array> | null;
  /** The session the call is made for; null for none (APIs of kind `none`, `user-or-none` signed out). */
  sessionId: string | null;
  /** That session's API state, read while the gate checked it (lib/api/proxy.ts). */
  prefetched?: Promise<ApiState | null | undefined>;
  signal?: AbortSignal;
};

/**
 * Methods whose call may be made twice (RFC 9110 §9.2.2), after a refreshed token or a DPoP nonce:
 * their body, if any, is kept while it streams (at most the request limit) so that the second
 * attempt sends the same bytes. POST and PATCH are not: their body is streamed once, and an upstream
 * refusal goes back to the browser (the next call then gets the refreshed token).
 */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Makes one API call with the token the API needs, and answers with the upstream's answer (streamed,
 * headers filtered, `no-store` when a token went). When the upstream refuses the token (401 with
 * `error="invalid_token"`, RFC 6750 §3.1), an idempotent call is made once more with a fresh one;
 * when a DPoP upstream asks for its nonce (401 `use_dpop_nonce` with `DPoP-Nonce`, RFC 9449 §9),
 * once more with it. Throws RemoteApiError, SessionEndedError (a refused refresh ended the session)
 * or StoreError; never with a token in it.
 */
export async function callApi(deps: CallDeps, call: ApiCall): Promise<Response> {
  const { api, method } = call;
  const declared = call.headers["content-length"];
  if (declared !== undefined && !(Number(declared) <= deps.limits.maxRequestBytes))
    throw new RemoteApiError("body_too_large", "REMOTE_API_MAX_REQUEST_BYTES");
  const retryable = IDEMPOTENT.has(method);
  const body = call.body ? new OutgoingBody(call.body, deps.limits.maxRequestBytes, retryable) : undefined;
  try {
    let refused: string | undefined;
    let nonceRetried = false;
    for (;;) {
      const first = refused === undefined && !nonceRetried;
      const credential = await credentialFor(deps.tokens, api, call.sessionId, refused, first ? call.prefetched : undefined);
      const answer = await send(deps, call, credential, body);
      if (answer.status !== 401 || !credential) return respond(answer, credential !== null);

      const challenges = parseChallenges(answer.header("www-authenticate"));
      const again = retryable && (!body || body.canReplay);
      if (credential.key && saysUseDpopNonce(challenges) && answer.header("dpop-nonce") && !nonceRetried && again) {
        nonceRetried = true;
        answer.discard();
        continue;
      }
      if (!saysInvalidToken(challenges)) return respond(answer, true);
      if (refused === undefined && again) {
        refused = credential.accessToken;
        answer.discard();
        continue;
      }
      // Not made again (POST, PATCH, or refused twice): the next call must not get the refused token.
      if (refused === undefined) dropRefused(deps, call, credential.accessToken);
      return respond(answer, true);
    }
  } catch (error) {
    body?.cancel();
    throw error;
  }
}

async function send(deps: CallDeps, call: ApiCall, credential: Credential | null, body: OutgoingBody | undefined): Promise<UpstreamAnswer> {
  const headers = { ...call.headers };
  if (credential) {
    headers.authorization = `${credential.scheme} ${credential.accessToken}`;
    if (credential.key) {
      headers.dpop = resourceProof(credential.key, call.method, call.url, credential.accessToken, deps.nonces.get(call.url.origin));
    }
  }
  const answer = await sendUpstream(deps.agents, { url: call.url, method: call.method, headers, body, signal: call.signal }, deps.limits);
  const nonce = answer.header("dpop-nonce");
  if (nonce && credential?.key) deps.nonces.set(call.url.origin, nonce);
  return answer;
}

function respond(answer: UpstreamAnswer, tokenSent: boolean): Response {
  // The Fetch standard's Response takes 200–599 only; anything else from an upstream is no answer to pass on.
  if (answer.status < 200 || answer.status > 599) {
    answer.discard();
    throw new RemoteApiError("upstream_unreachable", "RFC 9110 §15");
  }
  return new Response(answer.body, { status: answer.status, headers: downstreamResponseHeaders(answer.rawHeaders, tokenSent) });
}

/** Fetches a fresh token in the background after a refusal that was not retried, so that the refused one is not given again. */
function dropRefused(deps: CallDeps, call: ApiCall, refused: string): void {
  credentialFor(deps.tokens, call.api, call.sessionId, refused).catch((error: unknown) =>
    deps.tokens.log({
      event: "api.token",
      outcome: "error",
      code: error instanceof RemoteApiError ? error.code : "refresh_after_refusal",
      api: call.api.name,
      session: hashId(call.sessionId ?? undefined),
    }),
  );
}
