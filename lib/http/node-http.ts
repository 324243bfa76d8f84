import http from "node:http";
import https from "node:https";

/**
 * One HTTP exchange over `node:http` or `node:https` on a keep-alive agent, the body read whole: what
 * the Node runtime's own outgoing requests use instead of the global `fetch` (REST Redis,
 * lib/store/node-requester.ts; the IdP, lib/oidc/node-fetch.ts), for the reasons in
 * docs/decisions/node-http.md. Never imported by the edge middleware, which has no `node:http`.
 */

export type Exchange = {
  method: string;
  headers: Record<string, string | number>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
};

export type Answer = { status: number; statusText: string; rawHeaders: string[]; body: Buffer };

export type Transport = { agent: http.Agent; request: typeof http.request };

/**
 * A transport per protocol. An idle socket is closed after 4 s (as Node's `fetch` does), before a
 * server's own idle timeout is likely to close it (a Node HTTP server's default is 5 s): a request sent
 * on a socket the server is just closing would fail.
 */
export function transportFor(url: URL): Transport {
  if (url.protocol === "http:") return { agent: new http.Agent({ keepAlive: true, timeout: 4_000 }), request: http.request };
  if (url.protocol === "https:") return { agent: new https.Agent({ keepAlive: true, timeout: 4_000 }), request: https.request };
  throw new TypeError("Only http: and https: URLs can be requested.");
}

/** Sends one request and resolves with the whole answer; rejects on a network error or when `signal` aborts. */
export function exchange(transport: Transport, url: URL, options: Exchange): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      { method: options.method, agent: transport.agent, signal: options.signal, headers: options.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? "",
            rawHeaders: response.rawHeaders,
            body: Buffer.concat(chunks),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(options.body);
  });
}
