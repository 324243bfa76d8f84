/**
 * DPoP (RFC 9449) for APIs declared with `dpop: true` (lib/api/dpop.ts, tokens.ts, call.ts): a key
 * pair per session kept in the store, proofs on token requests and on every call, the IdP's and the
 * resource server's nonces, each answered with one retry.
 */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { calculateJwkThumbprint, importJWK, jwtVerify, type JWK } from "jose";
import { proxyRemote } from "@/lib/api/proxy";
import { endSessions } from "@/lib/revocation/end-sessions";
import { closeUpstreams, harness, proofOf, recordingUpstream, tokenEndpoint, tokenUrlOf } from "./api-harness";

afterEach(closeUpstreams);

const portfolio = { token: "user" as const, resource: "https://api.example/portfolio", scopes: ["portfolio:read"], dpop: true };

async function verifyProof(proof: string) {
  const { header } = proofOf(proof);
  const { payload } = await jwtVerify(proof, await importJWK(header.jwk as JWK, "ES256"), { typ: "dpop+jwt", algorithms: ["ES256"] });
  return { header, payload };
}

async function setup(
  handler?: Parameters<typeof recordingUpstream>[0],
  idpOptions: Parameters<typeof tokenEndpoint>[0] = {},
  apis: Parameters<typeof harness>[0]["apis"] = { portfolio },
) {
  const idp = await tokenEndpoint(idpOptions);
  const upstream = await recordingUpstream(handler);
  const urls = Object.fromEntries(Object.keys(apis).map((n) => [n, `${upstream.url}/api/`]));
  const h = await harness({ apis, urls, tokenUrl: tokenUrlOf(idp) });
  return { idp, upstream, h };
}

describe("DPoP-bound tokens (RFC 9449)", () => {
  it("asks for the token with a proof (§5) and calls with `Authorization: DPoP` and a proof of its own (§7): htm, htu without query, ath, iat, jti", async () => {
    const { idp, upstream, h } = await setup();
    const before = Math.floor(Date.now() / 1000);
    const res = await proxyRemote(h.deps, h.request("/api/remote/portfolio/holdings?currency=EUR"));
    expect(res.status).toBe(200);

    const grant = idp.requests[0]!;
    expect(grant.params.get("resource")).toBe("https://api.example/portfolio");
    const tokenProof = await verifyProof(grant.dpop!);
    expect(tokenProof.header).toMatchObject({ typ: "dpop+jwt", alg: "ES256" });
    expect(tokenProof.header.jwk).not.toHaveProperty("d");
    expect(tokenProof.payload).toMatchObject({ htm: "POST", htu: tokenUrlOf(idp) });

    const call = upstream.seen[0]!;
    const token = /^DPoP (.+)$/.exec(call.headers.authorization ?? "")?.[1];
    expect(token).toMatch(/^at-refresh_token-/);
    const { header, payload } = await verifyProof(call.headers.dpop as string);
    expect(payload.htm).toBe("GET");
    expect(payload.htu).toBe(`${new URL(upstream.url).origin}/api/holdings`);
    expect(payload.ath).toBe(createHash("sha256").update(token!).digest("base64url"));
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(typeof payload.jti).toBe("string");
    // The same key made both proofs.
    expect(await calculateJwkThumbprint(header.jwk as JWK)).toBe(await calculateJwkThumbprint(tokenProof.header.jwk as JWK));
  });

  it("signs a fresh proof for every call (a new jti), with the method of each", async () => {
    const { upstream, h } = await setup();
    await proxyRemote(h.deps, h.request("/api/remote/portfolio/a"));
    await proxyRemote(h.deps, h.request("/api/remote/portfolio/a", { method: "DELETE" }));
    const proofs = upstream.seen.map((s) => proofOf(s.headers.dpop as string).claims);
    expect(proofs.map((p) => p.htm)).toEqual(["GET", "DELETE"]);
    expect(proofs[0]!.jti).not.toBe(proofs[1]!.jti);
  });

  it("keeps one key per session in the store (never in the answer), for every DPoP API, and deletes it when the session ends", async () => {
    const second = { ...portfolio, resource: "https://api.example/orders" };
    const { idp, upstream, h } = await setup(undefined, {}, { portfolio, orders: second });
    const res = await proxyRemote(h.deps, h.request("/api/remote/portfolio/a"));
    await proxyRemote(h.deps, h.request("/api/remote/orders/a"));
    const state = await h.stores.sessions.apiState(h.sessionId);
    expect(state?.dpopKey?.d).toBeTruthy();
    const thumbprints = await Promise.all(idp.requests.map((r) => calculateJwkThumbprint(proofOf(r.dpop!).header.jwk as JWK)));
    expect(new Set(thumbprints).size).toBe(1);
    expect(thumbprints[0]).toBe(await calculateJwkThumbprint({ kty: "EC", crv: "P-256", x: state!.dpopKey!.x, y: state!.dpopKey!.y }));
    const answer = JSON.stringify([...res.headers]) + (await res.text());
    expect(answer).not.toContain(state!.dpopKey!.d);
    expect(upstream.seen.every((s) => !JSON.stringify(s.headers).includes(state!.dpopKey!.d))).toBe(true);

    const other = await harness({ apis: { portfolio }, urls: { portfolio: upstream.url }, tokenUrl: tokenUrlOf(idp) });
    await proxyRemote(other.deps, other.request("/api/remote/portfolio/a"));
    expect((await other.stores.sessions.apiState(other.sessionId))?.dpopKey?.x).not.toBe(state!.dpopKey!.x);

    await endSessions(h.deps.tokens.refresh.ending, [{ kind: "session", id: h.sessionId }], "logout");
    expect(await h.stores.sessions.apiState(h.sessionId)).toBeNull();
  });

  it("answers the IdP's use_dpop_nonce with one retry carrying its nonce (§8)", async () => {
    const { idp, upstream, h } = await setup(undefined, { requireNonce: "idp-nonce-1" });
    const res = await proxyRemote(h.deps, h.request("/api/remote/portfolio/a"));
    expect(res.status).toBe(200);
    expect(idp.requests.map((r) => proofOf(r.dpop!).claims.nonce)).toEqual([undefined, "idp-nonce-1"]);
    expect(idp.requests[0]!.params.get("refresh_token")).toBe(idp.requests[1]!.params.get("refresh_token"));
    expect(upstream.seen).toHaveLength(1);
  });

  it("answers the resource server's use_dpop_nonce with one retry carrying its nonce (§9), and sends it from then on", async () => {
    const nonce = "rs-nonce-7";
    const { upstream, h } = await setup((req, _b, res) => {
      if (proofOf(req.headers.dpop as string).claims.nonce !== nonce)
        res.writeHead(401, { "www-authenticate": 'DPoP error="use_dpop_nonce"', "dpop-nonce": nonce }).end();
      else res.writeHead(200, { "content-type": "application/json", "dpop-nonce": nonce }).end("{}");
    });
    const first = await proxyRemote(h.deps, h.request("/api/remote/portfolio/a"));
    expect(first.status).toBe(200);
    expect(first.headers.get("dpop-nonce")).toBeNull();
    expect(upstream.seen.map((s) => proofOf(s.headers.dpop as string).claims.nonce)).toEqual([undefined, nonce]);
    const second = await proxyRemote(h.deps, h.request("/api/remote/portfolio/b"));
    expect(second.status).toBe(200);
    expect(upstream.seen).toHaveLength(3);
    expect(proofOf(upstream.seen[2]!.headers.dpop as string).claims.nonce).toBe(nonce);
  });

  it("does not make a POST again for a nonce (its body was streamed), but its next call carries the nonce", async () => {
    const nonce = "rs-nonce-post";
    const { upstream, h } = await setup((req, _b, res) => {
      if (proofOf(req.headers.dpop as string).claims.nonce !== nonce)
        res.writeHead(401, { "www-authenticate": 'DPoP error="use_dpop_nonce"', "dpop-nonce": nonce }).end();
      else res.writeHead(201).end();
    });
    expect((await proxyRemote(h.deps, h.request("/api/remote/portfolio/orders", { method: "POST", body: "{}" }))).status).toBe(401);
    expect((await proxyRemote(h.deps, h.request("/api/remote/portfolio/orders", { method: "POST", body: "{}" }))).status).toBe(201);
    expect(upstream.seen).toHaveLength(2);
  });

  it("sends a token the IdP did not bind (token_type Bearer) as Bearer, without a proof, and logs it", async () => {
    const { upstream, h } = await setup(undefined, {
      issue: (_r, n) => ({ body: { access_token: `at-bearer-${n}`, token_type: "Bearer", expires_in: 300, refresh_token: `rt-${n + 1}` } }),
    });
    await proxyRemote(h.deps, h.request("/api/remote/portfolio/a"));
    expect(upstream.seen[0]!.headers.authorization).toMatch(/^Bearer at-bearer-/);
    expect(upstream.seen[0]!.headers.dpop).toBeUndefined();
    expect(h.logs).toContainEqual(expect.objectContaining({ event: "api.token", code: "dpop_not_bound" }));
  });

  it("binds a client credentials token to a key of the app's, kept with the token", async () => {
    const reports = { token: "client" as const, resource: "https://api.example/reports", dpop: true };
    const { idp, upstream, h } = await setup(undefined, {}, { reports });
    await proxyRemote(h.deps, h.request("/api/remote/reports/a"));
    expect(idp.requests[0]!.params.get("grant_type")).toBe("client_credentials");
    expect(idp.requests[0]!.dpop).toBeTruthy();
    expect(upstream.seen[0]!.headers.authorization).toMatch(/^DPoP /);
    expect((await h.stores.sessions.clientApiState("reports"))?.dpopKey?.d).toBeTruthy();
    expect(await h.stores.sessions.apiState(h.sessionId)).toBeNull();
  });
});
