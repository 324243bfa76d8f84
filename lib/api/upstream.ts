import http from "node:http";
import https from "node:https";
import type { OutgoingBody } from "./body";
import { RemoteApiError } from "./errors";

/**
 * One exchange with an upstream API over `node:http`/`node:https` on a keep-alive agent per origin,
 * both bodies streamed: the request body as the upstream takes it (with back-pressure), the answer's
 * as the browser takes it. Not Next's patched `fetch` (see lib/http/node-http.ts): measured on this
 * machine, `http.request` costs less per call (demo/scripts/bench-proxy.ts prints both), and it
 * follows no redirect (an upstream's 3xx is passed back as it came).
 *
 * Limits: `timeoutMs` to connect, and again from the last request byte to the answer's status and
 * headers (then `upstream_timeout`, 504); `totalTimeoutMs` for the whole exchange, bodies included
 * (before the answer: 504; while its body streams: the stream is cut, since the status has gone
 * out); `maxResponseBytes` for the answer's body (declared larger: `response_too_large`, 502; longer
 * while streaming: cut). A network error before the answer is `upstream_unreachable` (502).
 */
export type UpstreamLimits = {
  maxResponseBytes: number;
  timeoutMs: number;
  totalTimeoutMs: number;
};

export type UpstreamRequest = {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: OutgoingBody;
  /** The browser went away: the exchange stops. */
  signal?: AbortSignal;
};

export type UpstreamAnswer = {
  status: number;
  /** Node's rawHeaders: name and value in turn, as received. */
  rawHeaders: string[];
  /** One header's value (lowercase name), joined with ", " when repeated. */
  header(name: string): string | undefined;
  /** The body, streamed; null for HEAD and bodiless statuses. */
  body: ReadableStream<Uint8Array> | null;
  /** Drops this answer (its body unread): before a retry. */
  discard(): void;
};

/** Statuses whose answer has no body (RFC 9110 §6.4.1, §15.3.5, §15.4.5). */
const NO_BODY = new Set([204, 205, 304]);

export type Agents = Map<string, http.Agent>;

function agentFor(agents: Agents, url: URL): http.Agent {
  let agent = agents.get(url.origin);
  if (!agent) {
    // An idle socket goes after 4 s, before a server's own idle timeout (Node's default: 5 s) is likely to close it under a request.
    agent =
      url.protocol === "https:"
        ? new https.Agent({ keepAlive: true, timeout: 4_000 })
        : new http.Agent({ keepAlive: true, timeout: 4_000 });
    agents.set(url.origin, agent);
  }
  return agent;
}

export function sendUpstream(agents: Agents, request: UpstreamRequest, limits: UpstreamLimits): Promise<UpstreamAnswer> {
  const { url, method, headers, body, signal } = request;
  const send = url.protocol === "https:" ? https.request : http.request;
  return new Promise<UpstreamAnswer>((resolve, reject) => {
    let answered = false;
    let finished = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const after = (ms: number, run: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        run();
      }, ms);
      timers.add(t);
      return t;
    };
    const clearAll = () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      signal?.removeEventListener("abort", onAbort);
    };

    // A body of unknown length is framed as chunked whatever the method: Node frames DELETE and OPTIONS
    // bodies by nothing otherwise, and the upstream would read the bytes as another request (smuggling).
    const framed = body && headers["content-length"] === undefined ? { ...headers, "transfer-encoding": "chunked" } : headers;
    const outgoing = send(url, { method, headers: framed, agent: agentFor(agents, url) });
    const fail = (error: RemoteApiError) => {
      if (finished) return;
      if (!answered) {
        finished = true;
        clearAll();
        reject(error);
      }
      outgoing.destroy(error);
    };
    const onAbort = () => fail(new RemoteApiError("upstream_unreachable", "client went away"));
    if (signal?.aborted) {
      queueMicrotask(onAbort);
    } else signal?.addEventListener("abort", onAbort, { once: true });

    after(limits.totalTimeoutMs, () => fail(new RemoteApiError("upstream_timeout", "REMOTE_API_TOTAL_TIMEOUT_MS")));
    outgoing.on("socket", (socket) => {
      // A socket from the pool is connected already; a new one has REMOTE_API_TIMEOUT_MS to connect.
      if (!socket.connecting) return;
      const connecting = after(limits.timeoutMs, () => fail(new RemoteApiError("upstream_timeout", "connect")));
      socket.once("connect", () => {
        clearTimeout(connecting);
        timers.delete(connecting);
      });
    });
    outgoing.on("finish", () => {
      if (!answered) timer = after(limits.timeoutMs, () => fail(new RemoteApiError("upstream_timeout", "REMOTE_API_TIMEOUT_MS")));
    });
    outgoing.on("error", (error) => {
      if (error instanceof RemoteApiError) fail(error);
      else fail(new RemoteApiError("upstream_unreachable"));
    });

    outgoing.on("response", (incoming) => {
      if (finished) {
        incoming.destroy();
        return;
      }
      answered = true;
      if (timer) clearTimeout(timer);
      const status = incoming.statusCode ?? 502;
      const header = (name: string) => {
        const value = incoming.headers[name];
        return Array.isArray(value) ? value.join(", ") : value;
      };
      const bodiless = method === "HEAD" || NO_BODY.has(status);
      const declared = Number(header("content-length"));
      if (!bodiless && Number.isFinite(declared) && declared > limits.maxResponseBytes) {
        finished = true;
        clearAll();
        incoming.destroy();
        outgoing.destroy();
        reject(new RemoteApiError("response_too_large", "REMOTE_API_MAX_RESPONSE_BYTES"));
        return;
      }
      const done = () => {
        finished = true;
        clearAll();
      };
      if (bodiless) {
        incoming.resume();
        incoming.once("end", done);
        resolve({ status, rawHeaders: incoming.rawHeaders, header, body: null, discard: () => incoming.destroy() });
        return;
      }
      let received = 0;
      let closed = false;
      let control: ReadableStreamDefaultController<Uint8Array> | undefined;
      const cut = (error: RemoteApiError) => {
        if (closed) return;
        closed = true;
        done();
        incoming.destroy();
        outgoing.destroy();
        control?.error(error);
      };
      // From here the status has gone out: a limit cuts the stream instead of answering.
      for (const t of timers) clearTimeout(t);
      timers.clear();
      after(Math.max(1, limits.totalTimeoutMs), () => cut(new RemoteApiError("upstream_timeout", "REMOTE_API_TOTAL_TIMEOUT_MS")));
      const stream = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            control = controller;
            incoming.on("data", (chunk: Buffer) => {
              if (closed) return;
              received += chunk.byteLength;
              if (received > limits.maxResponseBytes) {
                cut(new RemoteApiError("response_too_large", "REMOTE_API_MAX_RESPONSE_BYTES"));
                return;
              }
              controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
              if ((controller.desiredSize ?? 1) <= 0) incoming.pause();
            });
            incoming.once("end", () => {
              if (closed) return;
              closed = true;
              done();
              controller.close();
            });
            incoming.once("error", () => cut(new RemoteApiError("upstream_unreachable", "answer broke off")));
            incoming.once("aborted", () => cut(new RemoteApiError("upstream_unreachable", "answer broke off")));
          },
          pull() {
            incoming.resume();
          },
          cancel() {
            closed = true;
            done();
            incoming.destroy();
            outgoing.destroy();
          },
        },
        { highWaterMark: 4 },
      );
      resolve({
        status,
        rawHeaders: incoming.rawHeaders,
        header,
        body: stream,
        discard: () => {
          done();
          incoming.destroy();
        },
      });
    });

    if (!body) {
      outgoing.end();
      return;
    }
    void (async () => {
      try {
        for await (const chunk of body.chunks()) {
          if (outgoing.destroyed) return;
          if (!outgoing.write(chunk)) await new Promise<void>((r) => outgoing.once("drain", r).once("close", r));
        }
        if (!outgoing.destroyed) outgoing.end();
      } catch (error) {
        fail(error instanceof RemoteApiError ? error : new RemoteApiError("upstream_unreachable", "request body broke off"));
      }
    })();
  });
}
