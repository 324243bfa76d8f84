/**
 * The proxy's limits (lib/api/upstream.ts, lib/api/body.ts): body sizes each way, the time to an
 * answer and for the whole exchange, and an upstream that is down or breaks off. Each failure is its
 * documented JSON status (413, 502, 504), never a 500, never a token.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { proxyRemote } from "@/lib/api/proxy";
import { freePort } from "../support/processes";
import { closeUpstreams, harness, recordingUpstream } from "./api-harness";

afterEach(closeUpstreams);

const LIMITS = { maxRequestBytes: 64 * 1024, maxResponseBytes: 64 * 1024, timeoutMs: 300, totalTimeoutMs: 1_000 };

async function withUpstream(handler?: Parameters<typeof recordingUpstream>[0], apis = { notes: { token: "user" as const } }) {
  const upstream = await recordingUpstream(handler);
  const h = await harness({ apis, urls: Object.fromEntries(Object.keys(apis).map((n) => [n, upstream.url])), limits: LIMITS });
  return { upstream, h };
}

/** A server that hands each raw request to `handler` without reading its body (to answer early, hang, or cut). */
async function rawUpstream(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const sockets = new Set<import("node:net").Socket>();
  const server = http.createServer(handler);
  server.on("connection", (s) => sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const h = await harness({ apis: { notes: { token: "user" } }, urls: { notes: url }, limits: LIMITS });
  return {
    h,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A request body that streams `chunks` chunks of `size` bytes, one per tick, with no Content-Length. */
function chunked(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent === chunks) return controller.close();
      sent += 1;
      await new Promise((r) => setTimeout(r, 1));
      controller.enqueue(new Uint8Array(size).fill(120));
    },
  });
}

describe("request body size (REMOTE_API_MAX_REQUEST_BYTES)", () => {
  it("refuses a declared Content-Length over the limit with 413 body_too_large before calling the upstream", async () => {
    const { upstream, h } = await withUpstream();
    const res = await proxyRemote(
      h.deps,
      h.request("/api/remote/notes/x", { method: "POST", body: "x".repeat(LIMITS.maxRequestBytes + 1) }),
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "body_too_large" });
    expect(upstream.seen).toHaveLength(0);
  });

  it("refuses a declared Content-Length over the limit at once, without reading the body", async () => {
    const { upstream, h } = await withUpstream();
    const never = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => undefined) });
    const started = Date.now();
    const res = await proxyRemote(
      h.deps,
      h.request("/api/remote/notes/x", { method: "POST", body: never, headers: { "content-length": String(LIMITS.maxRequestBytes + 1) } }),
    );
    expect(res.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(LIMITS.timeoutMs);
    expect(upstream.seen).toHaveLength(0);
  });

  it("refuses a streamed body (no Content-Length) once it passes the limit: 413, and the upstream never gets a complete request", async () => {
    const { upstream, h } = await withUpstream();
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x", { method: "POST", body: chunked(40, 4096) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "body_too_large" });
    expect(upstream.seen).toHaveLength(0);
  });

  it("passes a body just under the limit", async () => {
    const { upstream, h } = await withUpstream();
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x", { method: "POST", body: chunked(15, 4096) }));
    expect(res.status).toBe(200);
    expect(upstream.seen[0]?.body.length).toBe(15 * 4096);
  });
});

describe("answer body size (REMOTE_API_MAX_RESPONSE_BYTES)", () => {
  it("answers 502 response_too_large when the upstream declares a body over the limit", async () => {
    const { h } = await withUpstream((_req, _b, res) =>
      res.writeHead(200, { "content-length": String(LIMITS.maxResponseBytes + 1) }).end("x".repeat(LIMITS.maxResponseBytes + 1)),
    );
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x"));
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: "response_too_large" });
  });

  it("cuts a streamed answer once it passes the limit (the status has gone out: the body errors)", async () => {
    const { h } = await withUpstream((_req, _b, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      for (let i = 0; i < 40; i++) res.write(Buffer.alloc(4096, 1));
      res.end();
    });
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x"));
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toMatchObject({ code: "response_too_large" });
  });

  it("passes HEAD and 204/304 answers with no body, whatever Content-Length they declare", async () => {
    const { h } = await withUpstream((req, _b, res) => {
      if (req.method === "HEAD") res.writeHead(200, { "content-length": String(10 * LIMITS.maxResponseBytes) }).end();
      else res.writeHead(304, { etag: '"v"' }).end();
    });
    const head = await proxyRemote(h.deps, h.request("/api/remote/notes/x", { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    const notModified = await proxyRemote(h.deps, h.request("/api/remote/notes/x", { headers: { "if-none-match": '"v"' } }));
    expect(notModified.status).toBe(304);
  });
});

describe("time limits", () => {
  it("answers 504 upstream_timeout when the upstream sends no status within REMOTE_API_TIMEOUT_MS", async () => {
    const { h, close } = await rawUpstream(() => {
      /* never answers */
    });
    const started = Date.now();
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x"));
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ error: "upstream_timeout" });
    expect(Date.now() - started).toBeLessThan(LIMITS.totalTimeoutMs);
    await close();
  });

  it("answers 504 when the request body is still uploading at REMOTE_API_TOTAL_TIMEOUT_MS", async () => {
    const { h, close } = await rawUpstream(() => {
      /* reads nothing, answers nothing */
    });
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 100));
        controller.enqueue(new Uint8Array(10));
      },
    });
    const started = Date.now();
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x", { method: "POST", body: slow }));
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(LIMITS.totalTimeoutMs - 50);
    await close();
  });

  it("cuts an answer whose body is still streaming at REMOTE_API_TOTAL_TIMEOUT_MS", async () => {
    const { h, close } = await rawUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const tick = setInterval(() => res.write("."), 50);
      res.on("close", () => clearInterval(tick));
    });
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x"));
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toMatchObject({ code: "upstream_timeout" });
    await close();
  });
});

describe("an upstream that is down or breaks off", () => {
  it("answers 502 upstream_unreachable when nothing listens", async () => {
    const port = await freePort();
    const h = await harness({ apis: { notes: { token: "user" } }, urls: { notes: `http://127.0.0.1:${port}/` }, limits: LIMITS });
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x"));
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: "upstream_unreachable" });
  });

  it("answers 502 when the upstream closes the connection before answering", async () => {
    const { h, close } = await rawUpstream((req) => req.socket.destroy());
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x"));
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: "upstream_unreachable" });
    await close();
  });

  it("passes an upstream's own 5xx on as it came (it is the upstream's answer, not Lockstep's)", async () => {
    const { h } = await withUpstream((_req, _b, res) => res.writeHead(503, { "retry-after": "3" }).end("busy"));
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await res.text()).toBe("busy");
  });

  it("stops the upstream exchange when the browser goes away", async () => {
    let closed = false;
    const { h, close } = await rawUpstream((req, res) => {
      res.on("close", () => (closed = true));
    });
    const abort = new AbortController();
    const pending = proxyRemote(h.deps, h.request("/api/remote/notes/x", { signal: abort.signal }));
    await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    const res = await pending;
    expect(res.status).toBe(502);
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(true);
    await close();
  });
});
