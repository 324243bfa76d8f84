/**
 * The remote-API proxy (`/api/remote/<name>/<path>`) in the built app, with the demo IdP, against
 * two upstreams: a loopback echo server started here (it records every request it gets, so the test
 * sees exactly what crossed the proxy) and the demo resource server (demo/api/: JWT access tokens for
 * one audience each, RFC 8707 / RFC 9068, and DPoP, RFC 9449, with nonces demanded by it and by the IdP).
 *
 * apis.ts declares `statements` (a user token for its resource) and `portfolio` (the same, DPoP-bound).
 * The Bank's statements point at the echo server; the Brokerage's portfolio at the resource server.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis as IORedis } from "ioredis";
import { HttpSession } from "../support/http-client";
import { bank, signIn, startTestStack } from "../support/lockstep";
import { testRedis } from "../support/test-redis";
import type { AppSpec, Stack } from "../../demo/scripts/stack";
import { appKeys, type Keys } from "@/lib/store/keys";

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };
const seen: Seen[] = [];
/** Set by a test: the next request to /statements/refuse-once is refused with 401 invalid_token (RFC 6750 §3.1). */
let refuseNext = false;
let echo: http.Server;
let echoUrl: string;

const brokerage: AppSpec = {
  appId: "brokerage",
  name: "Lockstep Brokerage",
  clientId: "lockstep-brokerage",
  clientSecret: "brokerage-test-secret-0123",
  remoteApis: { portfolio: "portfolio" },
};

let stack: Stack;
let bankUrl: string;
let brokerageUrl: string;
let redis: IORedis;
let k: Keys;

beforeAll(async () => {
  echo = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      if (req.url?.startsWith("/statements/refuse-once") && refuseNext) {
        refuseNext = false;
        res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token"' }).end();
        return;
      }
      res.setHeader("set-cookie", ["bank.session=planted-by-upstream; Path=/", "tracker=1"]);
      res.setHeader("access-control-allow-origin", "*");
      res.setHeader("connection", "x-hop");
      res.setHeader("x-hop", "1");
      res.setHeader("cache-control", "public, max-age=600");
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ method: req.method, url: req.url, length: body.length }));
    });
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;

  stack = await startTestStack({
    apps: [{ ...bank, env: { REMOTE_API_URLS: JSON.stringify({ statements: `${echoUrl}/statements/` }) } }, brokerage],
    dpopRequireNonce: true,
    resourceServer: { requireDpopNonce: true },
  });
  [bankUrl, brokerageUrl] = stack.apps.map((a) => a.url) as [string, string];
  redis = await testRedis();
  k = appKeys(stack.keyPrefix, bank.appId);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  await new Promise((resolve) => echo?.close(resolve).closeAllConnections());
});

async function signedIn(app = bankUrl): Promise<{ browser: HttpSession; sessionId: string }> {
  const browser = new HttpSession();
  const landed = await signIn(browser, app, "alice", "alice-password");
  expect(new URL(landed.url).pathname).toBe("/account");
  const session = (await (await browser.fetch(`${app}/api/session`)).json()) as { session: { id: string } };
  return { browser, sessionId: session.session.id };
}

const call = (browser: HttpSession, path: string, init: RequestInit = {}, app = bankUrl) =>
  browser.fetch(`${app}/api/remote/${path}`, { ...init, headers: { "x-csrf": "1", ...(init.headers as Record<string, string>) } });

/** A request with the path exactly as written (no URL parser on our side): what curl --path-as-is sends. */
function rawRequest(app: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const url = new URL(app);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: "GET", headers }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("what crosses the proxy", () => {
  it("sends the user's token for the API's audience and nothing of the browser's session: no cookie, no X-CSRF, no Origin", async () => {
    const { browser } = await signedIn();
    const before = seen.length;
    const res = await call(browser, "statements/accounts/7?limit=2&q=a%20b&r=%2B", {
      headers: { origin: bankUrl, accept: "application/json" },
    });
    expect(res.status).toBe(200);
    const upstream = seen.slice(before);
    expect(upstream).toHaveLength(1);
    const got = upstream[0]!;
    // The query as Next hands it to route handlers: re-serialized as a form would be (a space as `+`), the same parameters.
    const sent = new URL(got.url, "http://upstream");
    expect(sent.pathname).toBe("/statements/accounts/7");
    expect([...sent.searchParams]).toEqual([
      ["limit", "2"],
      ["q", "a b"],
      ["r", "+"],
    ]);
    expect(got.headers.cookie).toBeUndefined();
    expect(got.headers["x-csrf"]).toBeUndefined();
    expect(got.headers.origin).toBeUndefined();
    expect(got.headers.referer).toBeUndefined();
    expect(got.headers.accept).toBe("application/json");
    // RFC 8707: a JWT for the statements resource (RFC 9068), not the session's own opaque token.
    const token = /^Bearer (.+)$/.exec(got.headers.authorization ?? "")?.[1];
    expect(token).toBeTruthy();
    const claims = JSON.parse(Buffer.from(token!.split(".")[1]!, "base64url").toString()) as { aud: string; scope: string };
    expect(claims.aud).toBe("https://api.lockstep.example/statements");
    expect(claims.scope).toBe("statements:read");
    // And the browser gets no token, no upstream cookie, no CORS opening, no hop-by-hop header, and no-store.
    expect(res.headers.getSetCookie?.() ?? []).toEqual([]);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("x-hop")).toBeNull();
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).not.toContain(token!);
    expect(browser.cookieHeader(bankUrl)).not.toContain("planted-by-upstream");
  });

  it("streams a request body through to the upstream", async () => {
    const { browser } = await signedIn();
    const before = seen.length;
    const body = JSON.stringify({ memo: "x".repeat(300_000) });
    const res = await call(browser, "statements/transfers", { method: "POST", body, headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { length: number }).length).toBe(body.length);
    expect(seen.slice(before)[0]).toMatchObject({ method: "POST", body });
  });

  it("refuses a body over REMOTE_API_MAX_REQUEST_BYTES with 413, before the upstream", async () => {
    const { browser } = await signedIn();
    const before = seen.length;
    const res = await call(browser, "statements/uploads", { method: "PUT", body: "x".repeat(8 * 1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "body_too_large" });
    expect(seen.length).toBe(before);
  });

  it("refreshes the API's token once when the upstream says invalid_token (RFC 6750 §3.1), and caches the new one in the session", async () => {
    const { browser, sessionId } = await signedIn();
    await call(browser, "statements/warm");
    const before = seen.length;
    refuseNext = true;
    const res = await call(browser, "statements/refuse-once");
    expect(res.status).toBe(200);
    const [first, second] = seen.slice(before);
    expect(second).toBeDefined();
    expect(second!.headers.authorization).not.toBe(first!.headers.authorization);
    const state = JSON.parse((await redis.get(k.apiState(sessionId)))!) as { tokens: { statements: { accessToken: string } } };
    expect(`Bearer ${state.tokens.statements.accessToken}`).toBe(second!.headers.authorization);
  });
});

describe("what never reaches an upstream", () => {
  it("a call without X-CSRF: 1, or from another site (403)", async () => {
    const { browser } = await signedIn();
    const before = seen.length;
    const missing = await browser.fetch(`${bankUrl}/api/remote/statements/x`);
    expect(missing.status).toBe(403);
    expect(await missing.json()).toEqual({ error: "csrf_header_required" });
    const crossSite = await call(browser, "statements/x", { headers: { origin: "https://evil.example" } });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toEqual({ error: "cross_site" });
    expect(seen.length).toBe(before);
  });

  it("an API that is not declared, or not on here (404 unknown_api)", async () => {
    const { browser } = await signedIn();
    const before = seen.length;
    for (const path of ["nope/x", "portfolio/holdings"]) {
      const res = await call(browser, path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: "unknown_api" });
    }
    expect(seen.length).toBe(before);
  });

  it("traversal and host tricks sent as raw bytes: refused, or resolved inside the app; nothing outside the API's base", async () => {
    const { browser } = await signedIn();
    const headers = { "x-csrf": "1", cookie: browser.cookieHeader(bankUrl)! };
    const before = seen.length;
    const answers: Record<string, number> = {};
    for (const path of [
      "/api/remote/statements/..%2f..%2fadmin",
      "/api/remote/statements/a%2F..%2F..%2Fadmin",
      "/api/remote/statements/%2e%2e/%2e%2e/admin",
      "/api/remote/statements/../../admin",
      "/api/remote/statements/..;/admin",
      "/api/remote/statements/%5c..%5cadmin",
      "/api/remote/statements/%252e%252e/admin",
      "/api/remote/statements//evil.example/x",
      "/api/remote/statements/%2f%2fevil.example/x",
      "/api/remote/statements/a%00b",
      "/api/remote/statements/a%0d%0aX-Injected:%201",
    ]) {
      const res = await rawRequest(bankUrl, path, headers);
      answers[path] = res.status;
      expect(res.status, path).toBeLessThan(500);
      expect(res.body, path).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    }
    for (const got of seen.slice(before)) expect(got.url.startsWith("/statements/"), got.url).toBe(true);
    expect(answers["/api/remote/statements/..%2f..%2fadmin"]).toBe(400);
    expect(answers["/api/remote/statements/..;/admin"]).toBe(400);
    expect(answers["/api/remote/statements/%252e%252e/admin"]).toBe(400);
  });

  it("a call without a session (401), and a revoked session's call (401, cookie cleared)", async () => {
    const before = seen.length;
    const anonymous = await fetch(`${bankUrl}/api/remote/statements/x`, { headers: { "x-csrf": "1" } });
    expect(anonymous.status).toBe(401);
    const { browser, sessionId } = await signedIn();
    expect((await call(browser, "statements/x")).status).toBe(200);
    const afterSignIn = seen.length;
    await redis.set(k.revokedSession(sessionId), "revoked", "EX", 60);
    const revoked = await call(browser, "statements/x");
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ error: "unauthorized", reason: "revoked" });
    expect(seen.length).toBe(afterSignIn);
    expect(seen.slice(before).length).toBe(1);
  });

  it("a session ended at the IdP (its admin action, back-channel logout): the next call is refused and reaches no upstream", async () => {
    const { browser, sessionId } = await signedIn();
    await call(browser, "statements/warm");
    expect(await redis.exists(k.apiState(sessionId))).toBe(1);
    await stack.idp.endAllSessions("alice");
    // Ending the session deleted its API tokens with its record.
    await expect.poll(() => redis.exists(k.apiState(sessionId))).toBe(0);
    const before = seen.length;
    const res = await call(browser, "statements/after-idp-logout");
    expect(res.status).toBe(401);
    expect(seen.length).toBe(before);
  });
});

describe("DPoP against the demo resource server (RFC 9449)", () => {
  it("calls the Brokerage's portfolio with a DPoP-bound token and a proof, through the IdP's and the resource server's nonces", async () => {
    const { browser, sessionId } = await signedIn(brokerageUrl);
    const before = stack.resourceServer!.requests.length;
    const res = await call(browser, "portfolio/holdings", {}, brokerageUrl);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    const served = stack.resourceServer!.requests.slice(before);
    expect(served.at(-1)).toMatchObject({ status: 200, scheme: "DPoP", jkt: expect.any(String) });
    expect(served.some((r) => r.code === "use_dpop_nonce")).toBe(true);
    // The key is the session's, in Redis with its tokens; the thumbprint the resource server saw is its own.
    const brokerageKeys = appKeys(stack.keyPrefix, brokerage.appId);
    const state = JSON.parse((await redis.get(brokerageKeys.apiState(sessionId)))!) as { dpopKey: { x: string; y: string } };
    const { calculateJwkThumbprint } = await import("jose");
    expect(await calculateJwkThumbprint({ kty: "EC", crv: "P-256", x: state.dpopKey.x, y: state.dpopKey.y })).toBe(served.at(-1)!.jkt);
    // A second call carries the cached nonce: no refusal.
    const again = stack.resourceServer!.requests.length;
    expect((await call(browser, "portfolio/holdings", {}, brokerageUrl)).status).toBe(200);
    expect(stack.resourceServer!.requests.slice(again).map((r) => r.status)).toEqual([200]);
  });
});
