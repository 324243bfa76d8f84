/**
 * The fetch Lockstep gives oauth4webapi for its requests to the IdP (lib/oidc/node-fetch.ts), against
 * a real HTTP server on loopback that stands in for the IdP. The integration tier runs it against the
 * real oidc-provider (refresh, userinfo, revocation).
 */
import * as oauth from "oauth4webapi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { nodeFetch } from "@/lib/oidc/node-fetch";
import { closeServers, serve } from "../support/loopback";

afterEach(async () => {
  vi.restoreAllMocks();
  await closeServers();
});

describe("the IdP fetch over node:http", () => {
  it("sends a GET with its headers and answers a Response with the status, every header and the body", async () => {
    const seen: Record<string, unknown>[] = [];
    const url = await serve((req, _body, res) => {
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
      res.writeHead(200, [
        ["content-type", "application/json"],
        ["link", "<a>"],
        ["link", "<b>"],
      ]);
      res.end('{"sub":"alice"}');
    });
    const globalFetch = vi.spyOn(globalThis, "fetch");
    const response = await nodeFetch()(`${url}/me?x=1`, { method: "GET", headers: { authorization: "Bearer at" }, redirect: "manual" });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("link")).toBe("<a>, <b>");
    expect(await response.json()).toEqual({ sub: "alice" });
    expect(seen).toEqual([{ method: "GET", url: "/me?x=1", authorization: "Bearer at" }]);
    expect(globalFetch).not.toHaveBeenCalled();
  });

  it("posts a form body with its length", async () => {
    const seen: Record<string, unknown>[] = [];
    const url = await serve((req, body, res) => {
      seen.push({ type: req.headers["content-type"], length: req.headers["content-length"], body });
      res.writeHead(200).end();
    });
    const body = new URLSearchParams({ token: "r-t0ken", token_type_hint: "refresh_token" });
    const response = await nodeFetch()(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" },
      body,
    });
    expect(response.status).toBe(200);
    expect(seen).toEqual([
      { type: "application/x-www-form-urlencoded;charset=UTF-8", length: String(body.toString().length), body: body.toString() },
    ]);
  });

  it("answers a redirect as it came, without following it, and a 204 without a body", async () => {
    let requests = 0;
    const url = await serve((req, _body, res) => {
      requests += 1;
      if (req.url === "/moved") res.writeHead(302, { location: "/elsewhere" }).end();
      else res.writeHead(204).end();
    });
    const fetch = nodeFetch();
    const moved = await fetch(`${url}/moved`, { method: "GET", headers: {}, redirect: "manual" });
    expect(moved.status).toBe(302);
    expect(moved.headers.get("location")).toBe("/elsewhere");
    expect(requests).toBe(1);
    const empty = await fetch(`${url}/empty`, { method: "POST", headers: {}, body: "x" });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  it("rejects with the signal's reason when it aborts, and with a TypeError when nothing answers", async () => {
    const url = await serve(() => {
      // Never answers: an IdP that hangs.
    });
    await expect(nodeFetch()(url, { method: "GET", headers: {}, signal: AbortSignal.timeout(50) })).rejects.toMatchObject({
      name: "TimeoutError",
    });
    const closed = await serve((_req, _body, res) => res.end());
    await closeServers();
    await expect(nodeFetch()(closed, { method: "GET", headers: {} })).rejects.toThrow(TypeError);
  });

  it("refuses a streamed request body and a URL that is not http: or https:", async () => {
    const url = await serve((_req, _body, res) => res.end());
    await expect(nodeFetch()(url, { method: "POST", headers: {}, body: new ReadableStream() })).rejects.toThrow(TypeError);
    await expect(nodeFetch()("file:///etc/passwd", { method: "GET", headers: {} })).rejects.toThrow(TypeError);
  });

  it("is what oauth4webapi accepts as its fetch: discovery through it yields the IdP's metadata", async () => {
    const issuer = await serve((req, _body, res) => {
      const self = `http://${req.headers.host}`;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ issuer: self, token_endpoint: `${self}/token` }));
    });
    const response = await oauth.discoveryRequest(new URL(issuer), {
      algorithm: "oidc",
      [oauth.customFetch]: nodeFetch(),
      [oauth.allowInsecureRequests]: true,
    });
    expect(await oauth.processDiscoveryResponse(new URL(issuer), response)).toMatchObject({ issuer, token_endpoint: `${issuer}/token` });
  });
});
