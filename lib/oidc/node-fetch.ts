import { exchange, transportFor, type Transport } from "@/lib/http/node-http";
import { tracedIdpFetch } from "@/lib/telemetry/idp";

/**
 * The `fetch` that oauth4webapi uses for Lockstep's own requests to the IdP (discovery, token
 * refresh, userinfo, refresh-token revocation, the code exchange of a session re-check): the same
 * request over `node:http` or `node:https` on a keep-alive agent per origin (lib/http/node-http.ts),
 * answered as a `Response` (why not the global `fetch`: docs/decisions/node-http.md).
 *
 * It does what oauth4webapi asks of a fetch (`customFetch`): GET or POST with a string,
 * URLSearchParams or byte body, headers as a record, `redirect: "manual"` (a redirect is answered
 * as it came, never followed; `node:http` follows none), an AbortSignal for the timeout. Streamed
 * request bodies are refused: oauth4webapi sends none.
 */
export type IdpFetch = (url: string, init: IdpFetchInit) => Promise<Response>;

export type IdpFetchInit = {
  method: string;
  headers: Record<string, string>;
  body?: string | URLSearchParams | Uint8Array | ArrayBuffer | ReadableStream | null;
  redirect?: "manual";
  signal?: AbortSignal;
};

/** Statuses whose Response has no body (the Fetch standard's "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function bodyOf(body: IdpFetchInit["body"]): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError("This fetch does not stream request bodies.");
}

export function nodeFetch(): IdpFetch {
  const transports = new Map<string, Transport>();
  return tracedIdpFetch(async (url, init) => {
    const target = new URL(url);
    let transport = transports.get(target.origin);
    if (!transport) {
      transport = transportFor(target);
      transports.set(target.origin, transport);
    }
    const body = bodyOf(init.body);
    const headers: Record<string, string | number> = { ...init.headers };
    if (body !== undefined) headers["content-length"] = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
    let answer;
    try {
      answer = await exchange(transport, target, { method: init.method, headers, body, signal: init.signal });
    } catch (error) {
      // As fetch does: an abort rejects with the signal's reason, a network error with a TypeError (no URL, no header).
      if (init.signal?.aborted) throw init.signal.reason;
      throw new TypeError("fetch failed", { cause: error });
    }
    const responseHeaders = new Headers();
    for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) responseHeaders.append(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
    return new Response(NULL_BODY.has(answer.status) || init.method === "HEAD" ? null : new Uint8Array(answer.body), {
      status: answer.status,
      statusText: answer.statusText,
      headers: responseHeaders,
    });
  });
}
