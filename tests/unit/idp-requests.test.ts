/**
 * Lockstep's own requests to the IdP (lib/oidc/client.ts) go over node:http (lib/oidc/node-fetch.ts),
 * never through the global fetch that Next patches in route handlers. A loopback HTTP server stands
 * in for the IdP here; the integration tier makes the same requests to the real oidc-provider.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { closeServers, serve, stubIdpSettings } from "../support/loopback";

afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await closeServers();
});

describe("requests to the IdP", () => {
  let seen: { method?: string; url?: string; authorization?: string; body: string }[];
  let issuer: string;

  beforeEach(async () => {
    seen = [];
    issuer = await serve((req, body, res) => {
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body });
      const self = `http://${req.headers.host}`;
      if (req.url === "/.well-known/openid-configuration") {
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ issuer: `${self}/`, token_endpoint: `${self}/token`, revocation_endpoint: `${self}/revoke` }));
      } else res.writeHead(200).end();
    });
    stubIdpSettings(vi.stubEnv, `${issuer}/`);
  });

  it("discovers the IdP and revokes a refresh token (RFC 7009) over node:http, not the global fetch", async () => {
    const globalFetch = vi.spyOn(globalThis, "fetch");
    const { revokeRefreshToken } = await import("@/lib/oidc/revoke");
    expect(await revokeRefreshToken("r-t0ken")).toBe(true);
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(["GET /.well-known/openid-configuration", "POST /revoke"]);
    const revocation = new URLSearchParams(seen[1]?.body);
    expect(revocation.get("token")).toBe("r-t0ken");
    expect(revocation.get("token_type_hint")).toBe("refresh_token");
    expect(seen[1]?.authorization).toMatch(/^Basic /);
    expect(globalFetch).not.toHaveBeenCalled();
  });
});
