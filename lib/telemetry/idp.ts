import { SpanKind, type Attributes } from "@opentelemetry/api";
import { errorType, instruments, telemetryOn } from "./state";
import { instrumented } from "./traced";

/**
 * Lockstep's own requests to the IdP (lib/oidc/node-fetch.ts): a span `lockstep.idp <endpoint>`,
 * timed in `lockstep.idp.duration`, and `lockstep.idp.errors` for those that got no answer or a 429
 * or 5xx. The endpoint is named by the discovery document's own key (`token`, `userinfo`,
 * `introspection`, `revocation`, `pushed_authorization_request`...), never by its URL, and the request's
 * query, headers and body are never recorded (they hold tokens and client credentials); the only
 * thing read from a body is a token request's `grant_type`.
 */

const DISCOVERY = "/.well-known/openid-configuration";
const ENDPOINT = "lockstep.idp.endpoint";

/** Endpoint URL (origin and path) → its discovery key without `_endpoint`, learnt from each discovery document fetched through here. */
const endpoints = new Map<string, string>();

const withoutQuery = (url: URL) => `${url.origin}${url.pathname}`;

function endpointOf(url: URL): string {
  if (url.pathname.endsWith(DISCOVERY)) return "discovery";
  return endpoints.get(withoutQuery(url)) ?? "other";
}

/** Reads the endpoint URLs of a discovery document as it passes (a copy of the answer; the caller's is untouched). */
async function learn(response: Response): Promise<void> {
  try {
    const document = (await response.clone().json()) as Record<string, unknown>;
    for (const [key, value] of Object.entries(document)) {
      if ((key.endsWith("_endpoint") || key === "jwks_uri") && typeof value === "string" && URL.canParse(value)) {
        endpoints.set(withoutQuery(new URL(value)), key === "jwks_uri" ? "jwks" : key.slice(0, -"_endpoint".length));
      }
    }
  } catch {
    // Not JSON: oauth4webapi will say so to its caller.
  }
}

type Init = { method: string; body?: unknown };

function grantTypeOf(body: unknown): string | undefined {
  const form = typeof body === "string" ? new URLSearchParams(body) : body instanceof URLSearchParams ? body : undefined;
  const grant = form?.get("grant_type");
  if (!grant) return undefined;
  // Registered grant types are short names or URNs; a made-up one is not worth a series of its own.
  return /^[A-Za-z0-9_:.-]{1,80}$/.test(grant) ? grant : "other";
}

function requestAttributes(url: string, init: Init): Attributes {
  const target = new URL(url);
  const endpoint = endpointOf(target);
  const grant = endpoint === "token" ? grantTypeOf(init.body) : undefined;
  return {
    [ENDPOINT]: endpoint,
    "http.request.method": init.method,
    "server.address": target.hostname,
    ...(grant ? { "oauth.grant_type": grant } : {}),
  };
}

/** A 429 or 5xx is the IdP's failure; other answers (a 400 invalid_grant, a 401) are answers. */
function answerAttributes(response: Response): Attributes {
  const failed = response.status === 429 || response.status >= 500;
  return { "http.response.status_code": response.status, ...(failed ? { "error.type": String(response.status) } : {}) };
}

/**
 * A fetch for the IdP reported as above. With telemetry off (checked per request), the fetch itself.
 */
export function tracedIdpFetch<I extends Init>(
  fetch: (url: string, init: I) => Promise<Response>,
): (url: string, init: I) => Promise<Response> {
  const spanned = instrumented(fetch, {
    name: (url) => `lockstep.idp ${endpointOf(new URL(url))}`,
    kind: SpanKind.CLIENT,
    before: requestAttributes,
    after: answerAttributes,
    failed: (error, [, init]) => ({
      "error.type": (init as { signal?: AbortSignal }).signal?.aborted
        ? "timeout"
        : errorType((error as { cause?: unknown }).cause ?? error),
    }),
    record: (attributes, seconds) => {
      const m = instruments();
      const where: Attributes = { [ENDPOINT]: attributes[ENDPOINT] };
      if (attributes["http.response.status_code"] !== undefined)
        where["http.response.status_code"] = attributes["http.response.status_code"];
      if (attributes["error.type"] !== undefined) where["error.type"] = attributes["error.type"];
      m.idpDuration.record(seconds, where);
      if (attributes["error.type"] !== undefined)
        m.idpErrors.add(1, { [ENDPOINT]: attributes[ENDPOINT], "error.type": attributes["error.type"] });
    },
  });
  return async (url, init) => {
    if (!telemetryOn()) return fetch(url, init);
    const response = await spanned(url, init);
    if (response.ok && new URL(url).pathname.endsWith(DISCOVERY)) await learn(response);
    return response;
  };
}
