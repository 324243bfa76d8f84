/**
 * fetchApi's work (lib/api/proxy.ts callFromServer; lib/api/fetch-api.ts only reads the cookie with
 * next/headers): the proxy's gate, path rules, headers and tokens for server code, without the
 * anti-forgery header.
 */
import { afterEach, describe, expect, it } from "vitest";
import { callFromServer } from "@/lib/api/proxy";
import { closeUpstreams, harness, recordingUpstream } from "./api-harness";

afterEach(closeUpstreams);

async function setup(handler?: Parameters<typeof recordingUpstream>[0]) {
  const upstream = await recordingUpstream(handler);
  const h = await harness({
    apis: { notes: { token: "user" }, open: { token: "none" } },
    urls: { notes: `${upstream.url}/v1/`, open: upstream.url },
  });
  return { upstream, h };
}

describe("fetchApi", () => {
  it("calls as the signed-in user without X-CSRF, with the path and query below the base URL", async () => {
    const { upstream, h } = await setup();
    const res = await callFromServer(h.deps, h.cookie, "notes", "/items/7?expand=1");
    expect(res.status).toBe(200);
    expect(upstream.seen[0]).toMatchObject({ method: "GET", url: "/v1/items/7?expand=1" });
    expect(upstream.seen[0]!.headers.authorization).toBe("Bearer at-session-alice");
  });

  it("answers 401 no_session without a session, and 401 with the reason for a revoked one; nothing reaches the upstream", async () => {
    const { upstream, h } = await setup();
    const none = await callFromServer(h.deps, undefined, "notes", "items");
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: "unauthorized", reason: "no_session" });
    await h.stores.revocations.revoke({ targets: [], sessionIds: [h.sessionId], reason: "revoked", now: Date.now() });
    const revoked = await callFromServer(h.deps, h.cookie, "notes", "items");
    expect(await revoked.json()).toEqual({ error: "unauthorized", reason: "revoked" });
    const open = await callFromServer(h.deps, h.cookie, "open", "items");
    expect(open.status).toBe(401);
    expect(upstream.seen).toHaveLength(0);
  });

  it("applies the proxy's path rules: traversal, encoded slashes and host tricks are 400 invalid_path", async () => {
    const { upstream, h } = await setup();
    for (const path of ["../admin", "items/%2e%2e/%2e%2e/admin", "//evil.example/x", "items%2fx", "items\\..\\x", "items/%0d%0a"]) {
      const res = await callFromServer(h.deps, h.cookie, "notes", path);
      expect(res.status, path).toBe(400);
    }
    expect((await callFromServer(h.deps, h.cookie, "nope", "x")).status).toBe(404);
    expect(upstream.seen).toHaveLength(0);
  });

  it("sends a JSON, form or URLSearchParams body with its content type, and never the caller's Authorization or Cookie", async () => {
    const { upstream, h } = await setup((req, body, res) => res.writeHead(201, { "content-type": "text/plain" }).end(body));
    const json = await callFromServer(h.deps, h.cookie, "notes", "items", {
      method: "post",
      headers: { "content-type": "application/json", authorization: "Bearer forged", cookie: "a=b" },
      body: JSON.stringify({ a: 1 }),
    });
    expect(json.status).toBe(201);
    expect(await json.text()).toBe('{"a":1}');
    await callFromServer(h.deps, h.cookie, "notes", "items", { method: "POST", body: new URLSearchParams({ q: "x y" }) });
    const form = new FormData();
    form.set("field", "value");
    await callFromServer(h.deps, h.cookie, "notes", "items", { method: "POST", body: form });
    expect(upstream.seen.map((s) => s.headers["content-type"])).toEqual([
      "application/json",
      "application/x-www-form-urlencoded;charset=UTF-8",
      expect.stringMatching(/^multipart\/form-data; boundary=/),
    ]);
    expect(upstream.seen[0]!.headers.authorization).toBe("Bearer at-session-alice");
    expect(upstream.seen[0]!.headers.cookie).toBeUndefined();
    expect(upstream.seen[1]!.body.toString()).toBe("q=x+y");
  });

  it("calls a `none` API without a session", async () => {
    const { upstream, h } = await setup();
    expect((await callFromServer(h.deps, undefined, "open", "x")).status).toBe(200);
    expect(upstream.seen[0]!.headers.authorization).toBeUndefined();
  });
});
