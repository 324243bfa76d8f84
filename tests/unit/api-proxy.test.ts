/**
 * The remote-API proxy (lib/api/proxy.ts) against loopback upstreams that record what reaches them,
 * on the in-memory stores: anti-forgery, no open proxy, the session gate, the headers each way, the
 * user's token and the refresh on an upstream's 401.
 */
import { afterEach, describe, expect, it } from "vitest";
import { proxyRemote } from "@/lib/api/proxy";
import { StoreError } from "@/lib/store/errors";
import { closeUpstreams, harness, recordingUpstream, APP_URL } from "./api-harness";

afterEach(closeUpstreams);

async function userApi(handler?: Parameters<typeof recordingUpstream>[0]) {
  const upstream = await recordingUpstream(handler);
  const h = await harness({ apis: { notes: { token: "user" } }, urls: { notes: `${upstream.url}/v1/` } });
  return { upstream, h };
}

describe("anti-forgery", () => {
  it("refuses a call without X-CSRF: 1 with 403 csrf_header_required, and nothing reaches the upstream", async () => {
    const { upstream, h } = await userApi();
    for (const csrf of [null, "0", "true", ""]) {
      const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items", { csrf }));
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: "csrf_header_required" });
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    expect(upstream.seen).toHaveLength(0);
  });

  it("refuses a CORS preflight (OPTIONS without X-CSRF) and answers no Access-Control-* header", async () => {
    const { upstream, h } = await userApi();
    const res = await proxyRemote(
      h.deps,
      h.request("/api/remote/notes/items", {
        method: "OPTIONS",
        csrf: null,
        cookie: null,
        headers: { origin: "https://evil.example", "access-control-request-method": "GET", "access-control-request-headers": "x-csrf" },
      }),
    );
    expect(res.status).toBe(403);
    expect([...res.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    expect(upstream.seen).toHaveLength(0);
  });

  it("refuses a cross-site Origin even with X-CSRF (RFC 6454 §7)", async () => {
    const { upstream, h } = await userApi();
    for (const origin of ["https://evil.example", "http://localhost:3001", "null"]) {
      const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items", { headers: { origin } }));
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: "cross_site" });
    }
    expect(upstream.seen).toHaveLength(0);
  });

  it("refuses Sec-Fetch-Site cross-site and same-site (Fetch Metadata §2.1), accepts same-origin and none", async () => {
    const { upstream, h } = await userApi();
    for (const site of ["cross-site", "same-site"]) {
      const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items", { headers: { "sec-fetch-site": site } }));
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: "cross_site" });
    }
    expect(upstream.seen).toHaveLength(0);
    for (const site of ["same-origin", "none"]) {
      const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items", { headers: { "sec-fetch-site": site, origin: APP_URL } }));
      expect(res.status).toBe(200);
    }
    expect(upstream.seen).toHaveLength(2);
  });
});

describe("no open proxy", () => {
  it("answers 404 unknown_api for an API that is not declared, or declared without an upstream", async () => {
    const upstream = await recordingUpstream();
    const h = await harness({ apis: { notes: { token: "user" }, off: { token: "user" } }, urls: { notes: upstream.url } });
    for (const path of ["/api/remote/other/items", "/api/remote/off/items", "/api/remote/NOTES/items", "/api/remote/no%74es/items"]) {
      const res = await proxyRemote(h.deps, h.request(path));
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: "unknown_api" });
    }
    expect(upstream.seen).toHaveLength(0);
  });

  it("sends the path below the base URL and the query as it came", async () => {
    const { upstream, h } = await userApi();
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items/7/a%3Bb?q=a%20b&x=1&x=2"));
    expect(res.status).toBe(200);
    expect(upstream.seen[0]?.url).toBe("/v1/items/7/a%3Bb?q=a%20b&x=1&x=2");
  });

  it("refuses traversal and encoded separators with 400 invalid_path, and none reaches the upstream", async () => {
    const { upstream, h } = await userApi();
    for (const path of [
      "items/..%2fadmin",
      "items%2F..%2F..%2Fadmin",
      "items/%5c..%5cadmin",
      "items/..;/admin",
      "items/.%2e;x/admin",
      "items/%252e%252e/admin",
      "items/%00",
      "items/a%0d%0aX-Injected:%201",
      "items/%zz",
      "/%2fevil.example/x",
    ]) {
      const res = await proxyRemote(h.deps, h.request(`/api/remote/notes/${path}`));
      expect(res.status, path).toBe(400);
      expect(await res.json()).toEqual({ error: "invalid_path" });
    }
    expect(upstream.seen).toHaveLength(0);
  });

  it("dot segments the URL parser resolves before the proxy sees them (%2e%2e) stay in Lockstep's own path space: nothing leaves the base URL", async () => {
    const { upstream, h } = await userApi();
    for (const path of ["items/%2e%2e/admin", "items/%2E%2e/%2e%2E/secret", "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "items/%2e/x"]) {
      const res = await proxyRemote(h.deps, h.request(`/api/remote/notes/${path}`));
      expect([200, 404], path).toContain(res.status);
    }
    expect(upstream.seen.length).toBeGreaterThan(0);
    for (const seen of upstream.seen) expect(seen.url.startsWith("/v1/")).toBe(true);
  });
});

describe("the session gate", () => {
  it("answers 401 without a session for a user API, and nothing reaches the upstream", async () => {
    const { upstream, h } = await userApi();
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items", { cookie: null }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "unauthorized", reason: "no_session" });
    expect(upstream.seen).toHaveLength(0);
  });

  it("never lets a revoked session reach the upstream: 401 with its reason, the cookie cleared", async () => {
    const upstream = await recordingUpstream();
    const h = await harness({
      apis: { notes: { token: "user" }, open: { token: "none" }, maybe: { token: "user-or-none" } },
      urls: { notes: upstream.url, open: upstream.url, maybe: upstream.url },
    });
    await h.stores.revocations.revoke({ targets: [], sessionIds: [h.sessionId], reason: "logout", now: Date.now() });
    for (const api of ["notes", "open", "maybe"]) {
      const res = await proxyRemote(h.deps, h.request(`/api/remote/${api}/items`));
      expect(res.status, api).toBe(401);
      expect(await res.json()).toEqual({ error: "unauthorized", reason: "logout" });
      expect(res.headers.getSetCookie().some((c) => c.startsWith(`lockstep.session=;`))).toBe(true);
    }
    expect(upstream.seen).toHaveLength(0);
  });

  it("reads the session's API token while the gate checks the session, and never uses it for a revoked session", async () => {
    const upstream = await recordingUpstream();
    const h = await harness({
      apis: { statements: { token: "user", resource: "https://api.example/s" } },
      urls: { statements: upstream.url },
    });
    await h.stores.sessions.setApiState(
      h.sessionId,
      { tokens: { statements: { accessToken: "at-cached-statements", tokenType: "bearer", expiresAt: Date.now() + 600_000 } } },
      h.record.expiresAt,
    );
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const check = h.deps.gate.revocations.check;
    h.deps.gate.revocations = {
      check: async (handle) => {
        order.push("check");
        await held;
        return check(handle);
      },
    };
    const apiState = h.stores.sessions.apiState;
    h.stores.sessions.apiState = (id) => {
      order.push("api state");
      return apiState(id);
    };
    const pending = proxyRemote(h.deps, h.request("/api/remote/statements/x"));
    await new Promise((r) => setTimeout(r, 10));
    expect([...order].sort()).toEqual(["api state", "check"]);
    release();
    expect((await pending).status).toBe(200);
    expect(upstream.seen[0]?.headers.authorization).toBe("Bearer at-cached-statements");

    await h.stores.revocations.revoke({ targets: [], sessionIds: [h.sessionId], reason: "revoked", now: Date.now() });
    const refused = await proxyRemote(h.deps, h.request("/api/remote/statements/x"));
    expect(refused.status).toBe(401);
    expect(upstream.seen).toHaveLength(1);
  });

  it("answers 503 when the store cannot say whether the session lives, and nothing reaches the upstream", async () => {
    const { upstream, h } = await userApi();
    h.deps.gate.revocations = { check: () => Promise.reject(new StoreError("revocation.check")) };
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items"));
    expect(res.status).toBe(503);
    expect(upstream.seen).toHaveLength(0);
  });

  it("calls a `none` API and a `user-or-none` API without a session (but still with X-CSRF), with no token", async () => {
    const upstream = await recordingUpstream();
    const h = await harness({
      apis: { open: { token: "none" }, maybe: { token: "user-or-none" } },
      urls: { open: upstream.url, maybe: upstream.url },
    });
    for (const api of ["open", "maybe"]) {
      expect((await proxyRemote(h.deps, h.request(`/api/remote/${api}/x`, { cookie: null }))).status).toBe(200);
      expect((await proxyRemote(h.deps, h.request(`/api/remote/${api}/x`, { cookie: null, csrf: null }))).status).toBe(403);
    }
    expect(upstream.seen).toHaveLength(2);
    for (const seen of upstream.seen) expect(seen.headers.authorization).toBeUndefined();
  });

  it("sends the user's token to a `user-or-none` API when signed in, none to a `none` API", async () => {
    const upstream = await recordingUpstream();
    const h = await harness({
      apis: { open: { token: "none" }, maybe: { token: "user-or-none" } },
      urls: { open: upstream.url, maybe: upstream.url },
    });
    await proxyRemote(h.deps, h.request("/api/remote/maybe/x"));
    await proxyRemote(h.deps, h.request("/api/remote/open/x"));
    expect(upstream.seen.map((s) => s.headers.authorization)).toEqual(["Bearer at-session-alice", undefined]);
  });
});

describe("headers", () => {
  it("sends the user's access token as Bearer, and none of the browser's cookie, CSRF header, Authorization, Origin, Referer or Host", async () => {
    const { upstream, h } = await userApi();
    const res = await proxyRemote(
      h.deps,
      h.request("/api/remote/notes/items", {
        headers: {
          authorization: "Bearer from-the-browser",
          origin: APP_URL,
          referer: `${APP_URL}/account`,
          accept: "application/json",
          "accept-language": "fr",
          "if-none-match": '"v1"',
          "x-forwarded-for": "10.0.0.1",
          forwarded: "for=10.0.0.1",
          dpop: "a.b.c",
          "x-custom": "not on the list",
        },
      }),
    );
    expect(res.status).toBe(200);
    const seen = upstream.seen[0]!;
    expect(seen.headers.authorization).toBe("Bearer at-session-alice");
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers["x-csrf"]).toBeUndefined();
    expect(seen.headers.origin).toBeUndefined();
    expect(seen.headers.referer).toBeUndefined();
    expect(seen.headers.dpop).toBeUndefined();
    expect(seen.headers["x-forwarded-for"]).toBeUndefined();
    expect(seen.headers.forwarded).toBeUndefined();
    expect(seen.headers["x-custom"]).toBeUndefined();
    expect(seen.headers.host).toBe(new URL(upstream.url).host);
    expect(seen.headers.accept).toBe("application/json");
    expect(seen.headers["accept-language"]).toBe("fr");
    expect(seen.headers["if-none-match"]).toBe('"v1"');
  });

  it("strips hop-by-hop request headers (RFC 9110 §7.6.1), and what Connection names even when listed", async () => {
    const upstream = await recordingUpstream();
    const h = await harness({ apis: { notes: { token: "user", forwardHeaders: ["x-trace"] } }, urls: { notes: upstream.url } });
    await proxyRemote(
      h.deps,
      h.request("/api/remote/notes/items", {
        headers: {
          connection: "x-trace",
          "keep-alive": "timeout=5",
          te: "trailers",
          upgrade: "websocket",
          "proxy-authorization": "Basic eA==",
          trailer: "x",
        },
      }),
    );
    await proxyRemote(h.deps, h.request("/api/remote/notes/items", { headers: { "x-trace": "t-1" } }));
    const [first, second] = upstream.seen;
    expect(first!.headers["x-trace"]).toBeUndefined();
    for (const name of ["keep-alive", "te", "upgrade", "proxy-authorization", "trailer"])
      expect(first!.headers[name], name).toBeUndefined();
    expect(second!.headers["x-trace"]).toBe("t-1");
  });

  it("refuses to declare forwardHeaders that may never go (cookie, authorization, hop-by-hop, x-csrf)", async () => {
    for (const name of ["cookie", "Authorization", "connection", "x-csrf", "host", "proxy-foo", "x-forwarded-host", "bad header"]) {
      await expect(
        harness({ apis: { notes: { token: "user", forwardHeaders: [name] } }, urls: { notes: "http://127.0.0.1:9" } }),
      ).rejects.toThrow(/may not forward/);
    }
  });

  it("never passes Set-Cookie, hop-by-hop headers, CORS headers or authentication challenges back, and marks the answer no-store", async () => {
    const { h } = await userApi((_req, _body, res) => {
      res.setHeader("set-cookie", ["lockstep.session=stolen; Path=/", "other=1"]);
      res.setHeader("connection", "keep-alive, x-hop");
      res.setHeader("x-hop", "named by connection");
      res.setHeader("keep-alive", "timeout=5");
      res.setHeader("proxy-authenticate", "Basic");
      res.setHeader("access-control-allow-origin", "*");
      res.setHeader("access-control-allow-credentials", "true");
      res.setHeader("www-authenticate", 'Basic realm="upstream"');
      res.setHeader("strict-transport-security", "max-age=31536000");
      res.setHeader("clear-site-data", '"*"');
      res.setHeader("cache-control", "public, max-age=3600");
      res.setHeader("etag", '"v2"');
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items"));
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
    for (const name of [
      "x-hop",
      "keep-alive",
      "proxy-authenticate",
      "access-control-allow-origin",
      "access-control-allow-credentials",
      "www-authenticate",
      "strict-transport-security",
      "clear-site-data",
    ])
      expect(res.headers.get(name), name).toBeNull();
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("etag")).toBe('"v2"');
    expect(await res.json()).toEqual({});
  });

  it("keeps the upstream's Cache-Control when no token was sent", async () => {
    const upstream = await recordingUpstream((_req, _body, res) => res.writeHead(200, { "cache-control": "public, max-age=60" }).end("x"));
    const h = await harness({ apis: { open: { token: "none" } }, urls: { open: upstream.url } });
    const res = await proxyRemote(h.deps, h.request("/api/remote/open/x", { cookie: null }));
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
  });

  it("refuses a header value with CR or LF (400 invalid_header), and it reaches no upstream", async () => {
    const { upstream, h } = await userApi();
    const request = h.request("/api/remote/notes/items");
    // The platform's Headers refuses CR/LF itself; a value it let through would still be refused here.
    const forged = new Proxy(request, {
      get(target, key) {
        if (key === "headers") {
          const headers = new Headers(target.headers);
          return {
            get: (n: string) => headers.get(n),
            *[Symbol.iterator]() {
              yield* headers;
              yield ["accept", "text/html\r\nX-Injected: 1"];
            },
          };
        }
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const res = await proxyRemote(h.deps, forged);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_header" });
    expect(upstream.seen).toHaveLength(0);
  });
});

describe("bodies", () => {
  it("frames a body of unknown length as chunked for every method: a DELETE body written as a request is never read as a second one", async () => {
    const { upstream, h } = await userApi();
    const smuggled = `GET /admin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    for (const method of ["DELETE", "OPTIONS", "POST"]) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(smuggled));
          controller.close();
        },
      });
      const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items/1", { method, body }));
      expect(res.status, method).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(upstream.seen.map((s) => `${s.method} ${s.url}`)).toEqual(["DELETE /v1/items/1", "OPTIONS /v1/items/1", "POST /v1/items/1"]);
    for (const seen of upstream.seen) expect(seen.body.toString()).toBe(smuggled);
  });

  it("streams a request body through and the answer's body back", async () => {
    const { upstream, h } = await userApi((req, body, res) =>
      res.writeHead(201, { "content-type": "text/plain" }).end(`got ${body.length}`),
    );
    const payload = "x".repeat(200_000);
    const res = await proxyRemote(
      h.deps,
      h.request("/api/remote/notes/items", { method: "POST", body: payload, headers: { "content-type": "text/plain" } }),
    );
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("got 200000");
    expect(upstream.seen[0]?.body.toString()).toBe(payload);
    expect(upstream.seen[0]?.headers["content-type"]).toBe("text/plain");
  });
});
