import http from "node:http";
import https from "node:https";
import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";
import type { RestPolicy } from "./upstash-client";

/**
 * The Node runtime's way of sending @upstash/redis's REST requests: `node:http` (or `node:https`)
 * on a keep-alive agent, in place of the global `fetch`. Route handlers run where Next has patched
 * `fetch` (for its data cache and tracing, neither of which a Redis call wants), and Node 20's `fetch`
 * costs about three times the CPU of `http.request` per request (README, "Measured"); a signal
 * receiver makes several such requests per signal. Never imported by the edge middleware, which has
 * no `node:http` and keeps the global `fetch`.
 *
 * It speaks what HttpClient in @upstash/redis 1.39 speaks, for what Lockstep sends: POST of the
 * command (or of a list of them to /pipeline or /multi-exec) as JSON with the bearer token, results
 * as JSON without base64 (Lockstep stores only UTF-8 text), retries of network errors only, and one
 * deadline for the whole call, retries included. It differs in what a failure says: an error carries
 * the status and Redis's reply, never the command (HttpClient quotes every argument, tokens and
 * session ids included). Streams (SUBSCRIBE) are not supported; Lockstep does not use them.
 */
export function nodeRequester(settings: { url: string; token: string }, policy: RestPolicy): Requester {
  const base = new URL(settings.url.replace(/\/$/, ""));
  if (base.protocol !== "http:" && base.protocol !== "https:") throw new TypeError("A REST Redis URL must be http: or https:.");
  const transport = base.protocol === "https:" ? https : http;
  // An idle socket is closed after 4 s (as Node's `fetch` does), before a server's own idle timeout
  // is likely to close it (a Node HTTP server's default is 5 s; the gateway's is 30 s): a request sent
  // on a socket the server is just closing would fail, and the guard makes one attempt only.
  const agent = new transport.Agent({ keepAlive: true, timeout: 4_000 });
  const authorization = `Bearer ${settings.token}`;

  function send(path: string, body: string, signal: AbortSignal): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const request = transport.request(
        new URL(base.pathname.replace(/\/$/, "") + path, base),
        {
          method: "POST",
          agent,
          signal,
          headers: { authorization, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          response.on("error", reject);
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  }

  return {
    readYourWrites: false,
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      if (req.onMessage) throw new TypeError("This requester does not stream (SUBSCRIBE is not used by Lockstep).");
      const path = (req.path ?? []).map((part) => `/${part}`).join("");
      const body = JSON.stringify(req.body);
      const signal = AbortSignal.timeout(policy.timeoutMs);
      let answer: { status: number; text: string } | undefined;
      for (let attempt = 0; !answer; attempt++) {
        try {
          answer = await send(path, body, signal);
        } catch (error) {
          // The deadline covers every attempt; a refused or reset connection is tried again.
          if (signal.aborted || attempt >= policy.retries) throw error;
          await new Promise((resolve) => setTimeout(resolve, policy.backoff(attempt)));
        }
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(answer.text);
      } catch {
        throw new Error(`The REST Redis endpoint answered ${answer.status} with a body that is not JSON.`);
      }
      if (answer.status < 200 || answer.status > 299) {
        const reply = (parsed as { error?: unknown } | null)?.error;
        throw new Error(`The REST Redis endpoint answered ${answer.status}: ${typeof reply === "string" ? reply : "no error given"}`);
      }
      return parsed as UpstashResponse<TResult>;
    },
  };
}
