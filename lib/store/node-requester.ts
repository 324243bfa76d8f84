import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";
import { exchange, transportFor } from "@/lib/http/node-http";
import type { RestPolicy } from "./upstash-client";

/**
 * The Node runtime's way of sending @upstash/redis's REST requests: `node:http` (or `node:https`)
 * on a keep-alive agent (lib/http/node-http.ts), in place of the global `fetch`, which Next patches
 * in route handlers; a signal receiver makes several such requests per signal. Never imported by the
 * edge middleware, which has no `node:http` and keeps the global `fetch`.
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
  const transport = transportFor(base);
  const authorization = `Bearer ${settings.token}`;

  async function send(path: string, body: string, signal: AbortSignal): Promise<{ status: number; text: string }> {
    const answer = await exchange(transport, new URL(base.pathname.replace(/\/$/, "") + path, base), {
      method: "POST",
      signal,
      headers: { authorization, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      body,
    });
    return { status: answer.status, text: answer.body.toString("utf8") };
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
