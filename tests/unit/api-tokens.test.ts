/**
 * The tokens remote-API calls carry (lib/api/tokens.ts, lib/api/call.ts), with a loopback stand-in
 * for the IdP reached through lib/oidc/client.ts as the app composes it: the refresh on an upstream's
 * 401, a token per audience (RFC 8707) cached with the session and fetched once across concurrent
 * calls, the rotated refresh token written back under the session's lock, a refused grant ending the
 * session, and the client credentials grant.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type http from "node:http";
import { proxyRemote } from "@/lib/api/proxy";
import { endSessions } from "@/lib/revocation/end-sessions";
import { stubIdpSettings } from "../support/loopback";
import { closeUpstreams, harness, recordingUpstream, tokenEndpoint, type TokenRequest } from "./api-harness";

type Issue = NonNullable<Parameters<typeof tokenEndpoint>[0]>["issue"];
let issue: Issue | undefined;
let idp: Awaited<ReturnType<typeof tokenEndpoint>>;

beforeAll(async () => {
  idp = await tokenEndpoint({ issue: (request, n) => (issue ? issue(request, n) : defaultIssue(request, n)) });
  stubIdpSettings(vi.stubEnv, `${idp.url}/`);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await closeUpstreams();
});

function defaultIssue(request: TokenRequest, n: number) {
  const grant = request.params.get("grant_type");
  return {
    body: {
      access_token: `at-${grant}-${request.params.get("resource") ?? "own"}-${n}`,
      token_type: request.dpop ? "DPoP" : "Bearer",
      expires_in: 300,
      ...(grant === "refresh_token" ? { refresh_token: `rt-${n + 1}` } : {}),
    },
  };
}

/** Requests to the stand-in IdP made since `from`. */
const grantsSince = (from: number) => idp.requests.slice(from);

type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;

/** An upstream that refuses the first token it sees with `invalid_token` and takes any other. */
function refusingFirst(): Handler {
  let refused: string | undefined;
  return (req, body, res) => {
    const token = req.headers.authorization;
    refused ??= token;
    if (token === refused) res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token"' }).end("refused");
    else res.writeHead(200, { "content-type": "text/plain" }).end(`ok ${body.toString()}`);
  };
}

async function setup(apis: Parameters<typeof harness>[0]["apis"], handler?: Handler, record?: Parameters<typeof harness>[0]["record"]) {
  const upstream = await recordingUpstream(handler);
  const urls = Object.fromEntries(Object.keys(apis).map((name) => [name, upstream.url]));
  const h = await harness({ apis, urls, idpFromSettings: true, record });
  return { upstream, h };
}

describe("refresh on an upstream 401 (RFC 6750 §3.1)", () => {
  it("makes a GET refused with invalid_token once more with a refreshed token, and keeps the rotated refresh token", async () => {
    const { upstream, h } = await setup({ notes: { token: "user" } }, refusingFirst());
    const from = idp.requests.length;
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items"));
    expect(res.status).toBe(200);
    expect(upstream.seen.map((s) => s.headers.authorization)).toEqual([
      "Bearer at-session-alice",
      expect.stringMatching(/^Bearer at-refresh_token-own-/),
    ]);
    expect(grantsSince(from).map((r) => r.params.get("refresh_token"))).toEqual(["rt-1"]);
    expect((await h.stores.sessions.read(h.sessionId))?.refreshToken).toMatch(/^rt-\d+$/);
    expect((await h.stores.sessions.read(h.sessionId))?.refreshToken).not.toBe("rt-1");
  });

  it("makes a PUT once more with the same body, streamed both times", async () => {
    const { upstream, h } = await setup({ notes: { token: "user" } }, refusingFirst());
    const body = "p".repeat(100_000);
    const res = await proxyRemote(
      h.deps,
      h.request("/api/remote/notes/items/1", { method: "PUT", body, headers: { "content-type": "text/plain" } }),
    );
    expect(res.status).toBe(200);
    expect(upstream.seen).toHaveLength(2);
    expect(upstream.seen.map((s) => s.body.toString())).toEqual([body, body]);
  });

  it("does not make a POST again (its body was streamed): the 401 goes back, and the next call carries a fresh token", async () => {
    const { upstream, h } = await setup({ notes: { token: "user" } }, refusingFirst());
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items", { method: "POST", body: "once" }));
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(upstream.seen).toHaveLength(1);
    await vi.waitFor(async () => expect((await h.stores.sessions.read(h.sessionId))?.accessToken).not.toBe("at-session-alice"));
    const next = await proxyRemote(h.deps, h.request("/api/remote/notes/items", { method: "POST", body: "twice" }));
    expect(next.status).toBe(200);
    expect(upstream.seen[1]?.headers.authorization).not.toBe("Bearer at-session-alice");
  });

  it("does not refresh on a 401 that says nothing of invalid_token, nor more than once", async () => {
    const { upstream, h } = await setup({ notes: { token: "user" } }, (_req, _b, res) =>
      res.writeHead(401, { "www-authenticate": 'Bearer realm="api"' }).end(),
    );
    const from = idp.requests.length;
    expect((await proxyRemote(h.deps, h.request("/api/remote/notes/a"))).status).toBe(401);
    expect(upstream.seen).toHaveLength(1);
    expect(grantsSince(from)).toHaveLength(0);

    const always = await setup({ notes: { token: "user" } }, (_req, _b, res) =>
      res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token"' }).end(),
    );
    const from2 = idp.requests.length;
    expect((await proxyRemote(always.h.deps, always.h.request("/api/remote/notes/a"))).status).toBe(401);
    expect(always.upstream.seen).toHaveLength(2);
    expect(grantsSince(from2)).toHaveLength(1);
  });

  it("ends the session when the IdP refuses the refresh token (RFC 6749 §5.2 invalid_grant): 401 refresh_failed, the cookie cleared", async () => {
    const { upstream, h } = await setup({ notes: { token: "user" } }, refusingFirst());
    issue = () => ({ status: 400, body: { error: "invalid_grant" } });
    try {
      const res = await proxyRemote(h.deps, h.request("/api/remote/notes/items"));
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "unauthorized", reason: "refresh_failed" });
      expect(res.headers.getSetCookie().some((c) => c.startsWith("lockstep.session=;"))).toBe(true);
      expect(upstream.seen).toHaveLength(1);
      expect(await h.stores.sessions.read(h.sessionId)).toBeNull();
      const after = await proxyRemote(h.deps, h.request("/api/remote/notes/items"));
      expect(after.status).toBe(401);
      expect(upstream.seen).toHaveLength(1);
    } finally {
      issue = undefined;
    }
  });
});

describe("a token per audience (RFC 8707)", () => {
  const statements = { token: "user" as const, resource: "https://api.example/statements", scopes: ["statements:read", "statements:list"] };

  it("asks with the refresh token for the API's resource and scopes (RFC 8707 §2.2), sends that token, and caches it with the session", async () => {
    const { upstream, h } = await setup({ statements });
    const from = idp.requests.length;
    expect((await proxyRemote(h.deps, h.request("/api/remote/statements/a"))).status).toBe(200);
    expect((await proxyRemote(h.deps, h.request("/api/remote/statements/b"))).status).toBe(200);
    const grants = grantsSince(from);
    expect(grants).toHaveLength(1);
    expect(grants[0]!.params.get("grant_type")).toBe("refresh_token");
    expect(grants[0]!.params.get("resource")).toBe("https://api.example/statements");
    expect(grants[0]!.params.get("scope")).toBe("statements:read statements:list");
    expect(grants[0]!.authorization).toMatch(/^Basic /);
    const token = upstream.seen[0]!.headers.authorization;
    expect(token).toMatch(/^Bearer at-refresh_token-https:\/\/api.example\/statements-/);
    expect(upstream.seen[1]!.headers.authorization).toBe(token);
    const state = await h.stores.sessions.apiState(h.sessionId);
    expect(`Bearer ${state?.tokens.statements?.accessToken}`).toBe(token);
    // The session's own access token is untouched; its refresh token rotated.
    const record = await h.stores.sessions.read(h.sessionId);
    expect(record?.accessToken).toBe("at-session-alice");
    expect(record?.refreshToken).toMatch(/^rt-\d+$/);
    expect(record?.refreshToken).not.toBe("rt-1");
  });

  it("fetches it once for many concurrent calls (single flight under the session's lock)", async () => {
    const { upstream, h } = await setup({ statements });
    const from = idp.requests.length;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => proxyRemote(h.deps, h.request(`/api/remote/statements/${i}`))));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(grantsSince(from)).toHaveLength(1);
    expect(new Set(upstream.seen.map((s) => s.headers.authorization)).size).toBe(1);
  });

  it("never sends a rotated-out refresh token: audience grants and the session's own refresh share one lock", async () => {
    // A strict IdP: every refresh token works once (rotation), a second use is invalid_grant.
    const used = new Set<string>();
    issue = (request, n) => {
      const rt = request.params.get("refresh_token")!;
      if (used.has(rt)) return { status: 400, body: { error: "invalid_grant" } };
      used.add(rt);
      return defaultIssue(request, n);
    };
    try {
      const { upstream, h } = await setup(
        {
          a: { token: "user", resource: "https://a.example" },
          b: { token: "user", resource: "https://b.example" },
          own: { token: "user" },
        },
        undefined,
        { accessTokenExpiresAt: Date.now() - 1_000, refreshToken: `rt-strict-${Math.random()}` },
      );
      const calls = ["a", "b", "own"].flatMap((api) =>
        Array.from({ length: 4 }, (_, i) => proxyRemote(h.deps, h.request(`/api/remote/${api}/${i}`))),
      );
      const answers = await Promise.all(calls);
      expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
      expect(await h.stores.sessions.read(h.sessionId)).not.toBeNull();
      expect(upstream.seen).toHaveLength(12);
    } finally {
      issue = undefined;
    }
  });

  it("ends the session when the IdP refuses the audience grant's refresh token (invalid_grant): 401 refresh_failed, nothing sent", async () => {
    const { upstream, h } = await setup({ statements });
    issue = () => ({ status: 400, body: { error: "invalid_grant" } });
    try {
      const res = await proxyRemote(h.deps, h.request("/api/remote/statements/a"));
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "unauthorized", reason: "refresh_failed" });
      expect(res.headers.getSetCookie().some((c) => c.startsWith("lockstep.session=;"))).toBe(true);
      expect(upstream.seen).toHaveLength(0);
      expect(await h.stores.sessions.read(h.sessionId)).toBeNull();
      expect(
        (
          await h.stores.revocations.check({
            lsid: h.sessionId,
            iss: h.record.iss,
            sub: h.record.sub,
            sid: h.record.sid,
            createdAt: h.record.createdAt,
          })
        ).active,
      ).toBe(false);
    } finally {
      issue = undefined;
    }
  });

  it("deletes the session's API tokens when the session ends", async () => {
    const { h } = await setup({ statements });
    await proxyRemote(h.deps, h.request("/api/remote/statements/a"));
    expect(await h.stores.sessions.apiState(h.sessionId)).not.toBeNull();
    await endSessions(h.deps.tokens.refresh.ending, [{ kind: "session", id: h.sessionId }], "logout");
    expect(await h.stores.sessions.apiState(h.sessionId)).toBeNull();
  });

  it("answers 502 token_unavailable when the IdP refuses the audience (RFC 8707 §2 invalid_target), and the session stands", async () => {
    const { upstream, h } = await setup({ statements });
    issue = () => ({ status: 400, body: { error: "invalid_target" } });
    try {
      const res = await proxyRemote(h.deps, h.request("/api/remote/statements/a"));
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ error: "token_unavailable" });
      expect(upstream.seen).toHaveLength(0);
      expect(await h.stores.sessions.read(h.sessionId)).not.toBeNull();
      expect(h.logs).toContainEqual(expect.objectContaining({ event: "api.token", outcome: "error", code: "invalid_target" }));
    } finally {
      issue = undefined;
    }
  });

  it("asks again when the cached token nears its expiry (REFRESH_SKEW_SECONDS)", async () => {
    issue = (request, n) => ({ body: { ...defaultIssue(request, n).body, expires_in: 30 } });
    try {
      const { h } = await setup({ statements });
      const from = idp.requests.length;
      await proxyRemote(h.deps, h.request("/api/remote/statements/a"));
      await proxyRemote(h.deps, h.request("/api/remote/statements/b"));
      // 30 s is inside the 60 s skew: every call asks.
      expect(grantsSince(from)).toHaveLength(2);
    } finally {
      issue = undefined;
    }
  });
});

describe("client credentials (RFC 6749 §4.4)", () => {
  const reports = { token: "client" as const, resource: "https://api.example/reports", scopes: ["reports"] };

  it("asks with this app's credentials for the resource and scopes, caches the token per API, once under concurrency", async () => {
    const { upstream, h } = await setup({ reports });
    const from = idp.requests.length;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => proxyRemote(h.deps, h.request(`/api/remote/reports/${i}`))));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    const grants = grantsSince(from);
    expect(grants).toHaveLength(1);
    expect(grants[0]!.params.get("grant_type")).toBe("client_credentials");
    expect(grants[0]!.params.get("resource")).toBe("https://api.example/reports");
    expect(grants[0]!.params.get("scope")).toBe("reports");
    expect(grants[0]!.params.get("refresh_token")).toBeNull();
    expect(new Set(upstream.seen.map((s) => s.headers.authorization))).toEqual(
      new Set([expect.stringMatching(/^Bearer at-client_credentials-/)]),
    );
    expect((await h.stores.sessions.clientApiState("reports"))?.tokens.reports).toBeDefined();
  });

  it("still needs a session: a client API is not open to anyone", async () => {
    const { upstream, h } = await setup({ reports });
    const res = await proxyRemote(h.deps, h.request("/api/remote/reports/x", { cookie: null }));
    expect(res.status).toBe(401);
    expect(upstream.seen).toHaveLength(0);
  });

  it("a refused client grant ends no session: 502 token_unavailable", async () => {
    const { h } = await setup({ reports });
    issue = () => ({ status: 401, body: { error: "invalid_client" } });
    try {
      const res = await proxyRemote(h.deps, h.request("/api/remote/reports/x"));
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ error: "token_unavailable" });
      expect(await h.stores.sessions.read(h.sessionId)).not.toBeNull();
    } finally {
      issue = undefined;
    }
  });

  it("fetches a new token when the upstream refuses the cached one (invalid_token) on a GET", async () => {
    const { upstream, h } = await setup({ reports }, refusingFirst());
    const res = await proxyRemote(h.deps, h.request("/api/remote/reports/x"));
    expect(res.status).toBe(200);
    expect(upstream.seen).toHaveLength(2);
    expect(upstream.seen[0]!.headers.authorization).not.toBe(upstream.seen[1]!.headers.authorization);
  });
});

describe("tokens never leak", () => {
  it("puts no token in an answer body, header or log line, whatever fails", async () => {
    const { h } = await setup({ notes: { token: "user" } }, (_req, _b, res) => res.writeHead(200).end("fine"));
    const secrets = ["at-session-alice", "rt-1", "id-token-of-alice"];
    const res = await proxyRemote(h.deps, h.request("/api/remote/notes/x"));
    const text = JSON.stringify([...res.headers]) + (await res.text()) + JSON.stringify(h.logs);
    for (const s of secrets) expect(text).not.toContain(s);
  });
});
