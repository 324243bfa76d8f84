import { describe, expect, it } from "vitest";
import { isApi, isPublic, isUnguarded } from "@/lib/guard/routes";
import { autoPostPage, endSessionRequest, endSessionUrl, isExpectedLogoutState, newLogoutState } from "@/lib/logout/rp-initiated";
import { isSameOriginRequest } from "@/lib/http/same-origin";

describe("guarded routes", () => {
  it("needs a session for the account page and the user APIs", () => {
    expect(isPublic("/account")).toBe(false);
    expect(isPublic("/api/session")).toBe(false);
    expect(isPublic("/api/userinfo")).toBe(false);
  });

  it("leaves the signal receivers and sign-in public", () => {
    for (const path of [
      "/",
      "/signed-out",
      "/api/backchannel-logout",
      "/api/frontchannel-logout",
      "/api/ssf/events",
      "/api/auth/signin/oidc",
    ]) {
      expect(isPublic(path), path).toBe(true);
    }
  });

  it("does not treat a look-alike path as public", () => {
    expect(isPublic("/api/backchannel-logout-admin")).toBe(false);
    expect(isPublic("/api/sessions")).toBe(false);
  });

  it("tells APIs from pages", () => {
    expect(isApi("/api/session")).toBe(true);
    expect(isApi("/apiary")).toBe(false);
  });

  it("never blocks sign-in or logout for a stale cookie", () => {
    expect(isUnguarded("/api/auth/callback/oidc")).toBe(true);
    expect(isUnguarded("/api/logout")).toBe(true);
    expect(isUnguarded("/api/frontchannel-logout")).toBe(true);
    expect(isUnguarded("/api/backchannel-logout")).toBe(true);
    expect(isUnguarded("/api/session")).toBe(false);
  });
});

describe("RP-initiated logout (RPIL)", () => {
  it("sends id_token_hint, post_logout_redirect_uri, state and client_id in a POST body, keeping the endpoint's own query (RPIL §2)", async () => {
    const request = endSessionRequest("https://idp.example.com/logout?tenant=7", {
      idTokenHint: "eyJ.a.b",
      postLogoutRedirectUri: "http://localhost:3000/api/logout/callback",
      state: "st",
      clientId: "c",
    });
    expect(new URL(request.action).searchParams.get("tenant")).toBe("7");
    expect(new URL(request.action).searchParams.get("id_token_hint")).toBeNull();
    expect(request.fields).toEqual({
      id_token_hint: "eyJ.a.b",
      post_logout_redirect_uri: "http://localhost:3000/api/logout/callback",
      state: "st",
      client_id: "c",
    });
    const page = await autoPostPage(request, "Signing out");
    const html = await page.text();
    expect(html).toContain('<form method="post" action="https://idp.example.com/logout?tenant=7">');
    expect(html).toContain('name="id_token_hint" value="eyJ.a.b"');
    expect(page.headers.get("content-security-policy")).toContain("form-action https://idp.example.com");
    expect(page.headers.get("cache-control")).toBe("no-store");
  });

  it("names the client instead when there is no ID token to hint with (RPIL §2)", () => {
    const request = endSessionRequest("https://idp.example.com/logout", {
      postLogoutRedirectUri: "http://localhost:3000/cb",
      state: "st",
      clientId: "c",
    });
    expect(request.fields.id_token_hint).toBeUndefined();
    expect(request.fields.client_id).toBe("c");
  });

  it("puts the request in a URL only without an ID token", () => {
    const bare = endSessionRequest("https://idp.example.com/logout?tenant=7", {
      postLogoutRedirectUri: "http://localhost:3000/cb",
      state: "st",
      clientId: "c",
    });
    const url = endSessionUrl(bare);
    expect(url.searchParams.get("tenant")).toBe("7");
    expect(url.searchParams.get("client_id")).toBe("c");
    expect(url.searchParams.get("id_token_hint")).toBeNull();
    const hinted = endSessionRequest("https://idp.example.com/logout", {
      idTokenHint: "eyJ.a.b",
      postLogoutRedirectUri: "http://localhost:3000/cb",
      state: "st",
      clientId: "c",
    });
    expect(() => endSessionUrl(hinted)).toThrow();
  });

  it("escapes the form's values", async () => {
    const html = await (await autoPostPage({ action: "https://idp.example.com/x", fields: { state: '"><script>x</script>' } }, "t")).text();
    expect(html).not.toContain("<script>x</script>");
  });

  it("makes state unguessable (RPIL §2 (state), §4)", () => {
    const a = newLogoutState();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newLogoutState()).not.toEqual(a);
  });

  it("trusts the callback only when state matches the browser's (RPIL §2 (state), §4)", () => {
    expect(isExpectedLogoutState("abc", "abc")).toBe(true);
    expect(isExpectedLogoutState("abc_INVALID", "abc")).toBe(false);
    expect(isExpectedLogoutState(null, "abc")).toBe(false);
    expect(isExpectedLogoutState("abc", undefined)).toBe(false);
  });
});

describe("cross-site request defence", () => {
  const post = (headers: Record<string, string>) => new Request("http://localhost:3000/api/logout", { method: "POST", headers });
  it("accepts our own origin", () => {
    expect(isSameOriginRequest(post({ origin: "http://localhost:3000" }), "http://localhost:3000")).toBe(true);
  });
  it("refuses another origin, even another port of the same host", () => {
    expect(isSameOriginRequest(post({ origin: "http://localhost:3001" }), "http://localhost:3000")).toBe(false);
    expect(isSameOriginRequest(post({ origin: "null" }), "http://localhost:3000")).toBe(false);
  });
  it("falls back to Sec-Fetch-Site, and refuses when neither header is sent", () => {
    expect(isSameOriginRequest(post({ "sec-fetch-site": "same-origin" }), "http://localhost:3000")).toBe(true);
    expect(isSameOriginRequest(post({ "sec-fetch-site": "same-site" }), "http://localhost:3000")).toBe(false);
    expect(isSameOriginRequest(post({}), "http://localhost:3000")).toBe(false);
  });
});
