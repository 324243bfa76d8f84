/**
 * Each liveness method (lib/liveness/check.ts) against the IdP's possible answers. A loopback HTTP
 * server stands in for the IdP so that every answer, including the failures oidc-provider cannot be
 * made to give (503 with Retry-After, 429, a refused client), can be given on purpose; the
 * integration tier (tests/integration/liveness.test.ts) runs the same checks against the real demo IdP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { closeServers, serve, stubIdpSettings } from "../support/loopback";
import { memoryStores } from "@/lib/store/memory";
import type { Stores } from "@/lib/store/ports";
import type { EndAs } from "@/lib/session/refresh";
import type { CheckDeps } from "@/lib/liveness/check";
import { signInTo } from "../support/sessions";

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
let answers: Record<string, Answer>;
let seen: { url?: string; authorization?: string; body: string }[];
let issuer: string;
let stores: Stores;
const endAs: EndAs = { reason: "idp_refused", detail: { mechanism: "liveness_check" } };

beforeAll(async () => {
  issuer = await serve((req, body, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization, body });
    const self = `http://${req.headers.host}`;
    if (req.url === "/.well-known/openid-configuration") {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          issuer: self,
          token_endpoint: `${self}/token`,
          userinfo_endpoint: `${self}/me`,
          introspection_endpoint: `${self}/introspect`,
        }),
      );
      return;
    }
    const answer = answers[req.url ?? ""] ?? { status: 404 };
    res
      .writeHead(answer.status, { "content-type": "application/json", ...answer.headers })
      .end(answer.body === undefined ? "" : JSON.stringify(answer.body));
  });
  stubIdpSettings(vi.stubEnv, issuer);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await closeServers();
});

beforeEach(() => {
  answers = {};
  seen = [];
  stores = memoryStores({ ttlSeconds: 3600 });
});

function deps(): CheckDeps {
  const ending = { sessions: stores.sessions, revocations: stores.revocations, now: Date.now };
  return { refresh: { ending, skewSeconds: 60 }, now: Date.now };
}

const tokens = { refreshToken: "refresh-0", accessToken: "access-0", accessTokenExpiresAt: Date.now() + 600_000 };

async function checked(method: "introspection" | "refresh" | "userinfo", fields: object = tokens) {
  const { checkWith } = await import("@/lib/liveness/check");
  const session = await signInTo(stores, issuer, Date.now(), { sub: "alice", ...fields });
  const record = (await stores.sessions.read(session.id))!;
  const outcome = await checkWith(deps(), method, session.id, record, endAs);
  return { outcome, session, active: (await stores.revocations.check(session.handle)).active };
}

describe("introspection (RFC 7662)", () => {
  it("asks about the refresh token, with the client's credentials, and finds an active one live (RFC 7662 §2.1)", async () => {
    answers["/introspect"] = { status: 200, body: { active: true } };
    const { outcome } = await checked("introspection");
    expect(outcome).toEqual({ kind: "live", method: "introspection" });
    const request = seen.find((r) => r.url === "/introspect")!;
    const form = new URLSearchParams(request.body);
    expect(form.get("token")).toBe("refresh-0");
    expect(form.get("token_type_hint")).toBe("refresh_token");
    expect(request.authorization).toMatch(/^Basic /);
  });

  it("takes active: false as a refusal (RFC 7662 §2.2)", async () => {
    answers["/introspect"] = { status: 200, body: { active: false } };
    expect((await checked("introspection")).outcome).toEqual({ kind: "refused", method: "introspection", code: "inactive", ended: false });
  });

  it("takes 401 as this client not being allowed to introspect, not as a refusal", async () => {
    answers["/introspect"] = { status: 401, body: { error: "invalid_client" } };
    expect((await checked("introspection")).outcome).toMatchObject({ kind: "unusable", method: "introspection" });
  });

  it("takes a 503 as the IdP unavailable, with its Retry-After (RFC 9110 §10.2.3)", async () => {
    answers["/introspect"] = { status: 503, headers: { "retry-after": "7" } };
    expect((await checked("introspection")).outcome).toEqual({
      kind: "unavailable",
      method: "introspection",
      code: "server_error",
      retryAfterMs: 7000,
    });
  });

  it("takes a 429 as rate limiting, not a refusal", async () => {
    answers["/introspect"] = { status: 429 };
    expect((await checked("introspection")).outcome).toMatchObject({ kind: "unavailable", code: "rate_limited" });
  });

  it("does not ask about an expired access token (its inactivity would prove nothing)", async () => {
    const { outcome } = await checked("introspection", { accessToken: "access-0", accessTokenExpiresAt: Date.now() - 1000 });
    expect(outcome).toMatchObject({ kind: "unusable", code: "no_token" });
    expect(seen.some((r) => r.url === "/introspect")).toBe(false);
  });
});

describe("refresh-token grant (RFC 6749 §6)", () => {
  it("finds the session live when the IdP issues new tokens, and keeps them", async () => {
    answers["/token"] = {
      status: 200,
      body: { access_token: "access-1", token_type: "Bearer", expires_in: 600, refresh_token: "refresh-1" },
    };
    const { outcome, session } = await checked("refresh");
    expect(outcome).toEqual({ kind: "live", method: "refresh" });
    expect((await stores.sessions.read(session.id))?.refreshToken).toBe("refresh-1");
  });

  it("ends the session on invalid_grant (RFC 6749 §5.2), as idp_refused carried by liveness_check", async () => {
    answers["/token"] = { status: 400, body: { error: "invalid_grant" } };
    const { outcome, session, active } = await checked("refresh");
    expect(outcome).toEqual({ kind: "refused", method: "refresh", code: "invalid_grant", ended: true });
    expect(active).toBe(false);
    expect(await stores.revocations.check(session.handle)).toEqual({ active: false, reason: "idp_refused" });
  });

  it("ends nothing when the IdP refuses the client (invalid_client): that is a configuration fault, not the session's", async () => {
    answers["/token"] = { status: 401, body: { error: "invalid_client" } };
    const { outcome, active } = await checked("refresh");
    expect(outcome).toEqual({ kind: "unavailable", method: "refresh", code: "client_rejected" });
    expect(active).toBe(true);
  });

  it("ends nothing when the token endpoint answers 500", async () => {
    answers["/token"] = { status: 500, body: { error: "server_error" } };
    const { outcome, active } = await checked("refresh");
    expect(outcome).toMatchObject({ kind: "unavailable", code: "server_error" });
    expect(active).toBe(true);
  });
});

describe("userinfo (OpenID Connect Core §5.3)", () => {
  it("finds the session live when userinfo answers for its subject", async () => {
    answers["/me"] = { status: 200, body: { sub: "alice" } };
    expect((await checked("userinfo")).outcome).toEqual({ kind: "live", method: "userinfo" });
  });

  it("refreshes once after a 401 and refuses after a second 401 with the new token (RFC 6750 §3.1)", async () => {
    answers["/me"] = { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } };
    answers["/token"] = { status: 200, body: { access_token: "access-1", token_type: "Bearer", expires_in: 600 } };
    const { outcome } = await checked("userinfo");
    expect(outcome).toEqual({ kind: "refused", method: "userinfo", code: "invalid_token", ended: false });
    expect(seen.filter((r) => r.url === "/me")).toHaveLength(2);
    expect(seen.filter((r) => r.url === "/token")).toHaveLength(1);
  });

  it("ends nothing when userinfo answers 503", async () => {
    answers["/me"] = { status: 503 };
    const { outcome, active } = await checked("userinfo");
    expect(outcome).toMatchObject({ kind: "unavailable", code: "server_error" });
    expect(active).toBe(true);
  });
});

describe("an IdP that does not answer at all", () => {
  it("is unavailable (network), for every method, and ends nothing", async () => {
    const { checkWith } = await import("@/lib/liveness/check");
    const { closeServers: close } = await import("../support/loopback");
    const session = await signInTo(stores, issuer, Date.now(), { sub: "alice", ...tokens });
    const record = (await stores.sessions.read(session.id))!;
    // The discovery document is cached from the tests above; the IdP then goes away.
    await close();
    for (const method of ["introspection", "refresh", "userinfo"] as const) {
      expect(await checkWith(deps(), method, session.id, record, endAs)).toMatchObject({ kind: "unavailable", code: "network" });
    }
    expect((await stores.revocations.check(session.handle)).active).toBe(true);
  });
});
