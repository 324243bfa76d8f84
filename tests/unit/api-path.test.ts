/**
 * lib/api/path.ts: whatever a path holds, the upstream URL has the API's origin and lies under its
 * base path, or the call is refused with `invalid_path`. fetchApi's paths come here as written by
 * server code, so unlike a browser's they have not been through the URL parser first.
 */
import { describe, expect, it } from "vitest";
import { isUnderBase, resolveUpstreamUrl, splitPathAndQuery, MAX_PATH_LENGTH } from "@/lib/api/path";
import { RemoteApiError } from "@/lib/api/errors";
import { parseChallenges, saysInvalidToken, saysUseDpopNonce } from "@/lib/api/challenges";

const base = new URL("https://api.example.com/v1/");

function refused(rawPath: string, search = ""): string | undefined {
  try {
    resolveUpstreamUrl(base, rawPath, search);
    return undefined;
  } catch (error) {
    return error instanceof RemoteApiError ? error.code : "other";
  }
}

describe("the upstream URL of a path", () => {
  it("resolves a plain path below the base and passes the query on as it came", () => {
    expect(resolveUpstreamUrl(base, "items/7", "?q=a%20b&x=1&x=2").href).toBe("https://api.example.com/v1/items/7?q=a%20b&x=1&x=2");
    expect(resolveUpstreamUrl(base, "items/", "").href).toBe("https://api.example.com/v1/items/");
    expect(resolveUpstreamUrl(base, "", "").href).toBe("https://api.example.com/v1/");
    expect(resolveUpstreamUrl(base, "a%3Bb/%C3%A9t%C3%A9", "").pathname).toBe("/v1/a%3Bb/%C3%A9t%C3%A9");
  });

  it("keeps a first segment that looks like a scheme or a host a path segment", () => {
    expect(resolveUpstreamUrl(base, "https:evil.example", "").href).toBe("https://api.example.com/v1/https:evil.example");
    expect(resolveUpstreamUrl(base, "javascript:alert(1)", "").origin).toBe(base.origin);
    expect(resolveUpstreamUrl(base, "@evil.example", "").href).toBe("https://api.example.com/v1/@evil.example");
    expect(resolveUpstreamUrl(base, "user:pass@evil.example/x", "").origin).toBe(base.origin);
  });

  it.each([
    ["..", "a dot-dot segment (RFC 3986 §5.2.4)"],
    [".", "a dot segment"],
    ["items/../../admin", "climbing out of the base"],
    ["items/%2e%2e/admin", "an encoded dot-dot"],
    ["items/%2E%2e", "mixed case"],
    ["items/.%2e/admin", "half encoded"],
    ["items/%2e", "an encoded dot"],
    ["items/..;/admin", "a dot-dot with a ;parameter (read as .. by some servers)"],
    ["items/.;x", "a dot with a ;parameter"],
    ["items/...", "dots only"],
    ["items/%20..", "dots and spaces"],
    ["items%2f..%2fadmin", "an encoded slash"],
    ["items%2F..", "an encoded slash, upper case"],
    ["items%5c..%5cadmin", "an encoded backslash"],
    ["items\\..\\admin", "a backslash (a slash to the URL parser)"],
    ["/evil.example/x", "a leading slash (scheme-relative //evil.example)"],
    ["//evil.example/x", "two leading slashes"],
    ["items//x", "an empty segment"],
    ["items/%00", "NUL"],
    ["items/a%0d%0aX-Injected:%201", "CR LF"],
    ["items/a%09b", "a tab"],
    ["items/a\tb", "a raw tab (the URL parser would drop it silently)"],
    ["items/a\nb", "a raw LF"],
    ["items/%7f", "DEL"],
    ["items/%c2%85", "a C1 control (NEL)"],
    ["items/%252e%252e/admin", "double encoding"],
    ["items/%252f", "a double-encoded slash"],
    ["items/%zz", "a malformed escape"],
    ["items/%e9", "an escape that is not UTF-8"],
    ["items#frag", "a fragment"],
    ["items?x=1", "a query in the path"],
  ])("refuses %j: %s", (rawPath) => {
    expect(refused(rawPath)).toBe("invalid_path");
  });

  it("refuses a path longer than MAX_PATH_LENGTH", () => {
    expect(refused("a".repeat(MAX_PATH_LENGTH + 1))).toBe("invalid_path");
    expect(refused("a".repeat(MAX_PATH_LENGTH - 10))).toBeUndefined();
  });

  it("stays under a base with a deeper path, and never beside it", () => {
    const deep = new URL("http://127.0.0.1:8080/tenants/7/api/");
    expect(resolveUpstreamUrl(deep, "x", "").href).toBe("http://127.0.0.1:8080/tenants/7/api/x");
    expect(() => resolveUpstreamUrl(deep, "../api-admin/x", "")).toThrow(RemoteApiError);
  });
});

describe("the last check: under the base URL", () => {
  it("holds only URLs with the base's origin and a path under the base's", () => {
    const under = (href: string) => isUnderBase(new URL(href), base);
    expect(under("https://api.example.com/v1/items")).toBe(true);
    expect(under("https://api.example.com/v1/")).toBe(true);
    expect(under("https://api.example.com/v10/items")).toBe(false);
    expect(under("https://api.example.com/v1")).toBe(false);
    expect(under("https://api.example.com/admin")).toBe(false);
    expect(under("https://evil.example/v1/items")).toBe(false);
    expect(under("http://api.example.com/v1/items")).toBe(false);
    expect(under("https://api.example.com:8443/v1/items")).toBe(false);
  });
});

describe("fetchApi's path and query", () => {
  it("splits the query off at the first ? and reads a leading / as relative", () => {
    expect(splitPathAndQuery("items/7?expand=1&q=?")).toEqual({ rawPath: "items/7", search: "?expand=1&q=?" });
    expect(splitPathAndQuery("/items")).toEqual({ rawPath: "items", search: "" });
    expect(splitPathAndQuery("//evil.example/x").rawPath).toBe("//evil.example/x");
    expect(refused(splitPathAndQuery("//evil.example/x").rawPath)).toBe("invalid_path");
  });
});

describe("WWW-Authenticate challenges (RFC 9110 §11.6.1)", () => {
  it("reads invalid_token in a Bearer or DPoP challenge (RFC 6750 §3.1, RFC 9449 §7.1)", () => {
    expect(saysInvalidToken(parseChallenges('Bearer realm="api", error="invalid_token", error_description="expired"'))).toBe(true);
    expect(saysInvalidToken(parseChallenges('DPoP algs="ES256", error="invalid_token"'))).toBe(true);
    expect(saysInvalidToken(parseChallenges("Bearer error=invalid_token"))).toBe(true);
    expect(saysInvalidToken(parseChallenges('Basic realm="x", Bearer error="invalid_token"'))).toBe(true);
    expect(saysInvalidToken(parseChallenges('Bearer realm="api"'))).toBe(false);
    expect(saysInvalidToken(parseChallenges('Bearer error="insufficient_scope"'))).toBe(false);
    expect(saysInvalidToken(parseChallenges('Basic error="invalid_token"'))).toBe(false);
    expect(saysInvalidToken(parseChallenges(undefined))).toBe(false);
    expect(saysInvalidToken(parseChallenges('Bearer error="invalid_\\"token"'))).toBe(false);
  });

  it("reads use_dpop_nonce in a DPoP challenge only (RFC 9449 §9)", () => {
    expect(saysUseDpopNonce(parseChallenges('DPoP error="use_dpop_nonce", error_description="Resource server requires nonce"'))).toBe(true);
    expect(saysUseDpopNonce(parseChallenges('Bearer error="use_dpop_nonce"'))).toBe(false);
  });

  it("reads a malformed header as no challenge, without throwing", () => {
    for (const value of ['"', "=,=,", 'Bearer error="', "Negotiate abc==, Bearer error=invalid_token", "\u0000\u0001"]) {
      expect(() => parseChallenges(value)).not.toThrow();
    }
  });
});

describe("the sign-in's resource indicators (RFC 8707 §2.1)", () => {
  it("names each user API's resource once and adds its scopes, leaving client and none APIs out", async () => {
    const { resolveApis } = await import("@/lib/api/registry");
    const { withSignInResources } = await import("@/lib/api/sign-in");
    const apis = resolveApis(
      {
        statements: { token: "user", resource: "https://api.example/statements", scopes: ["statements:read"] },
        again: { token: "user-or-none", resource: "https://api.example/statements", scopes: ["statements:read", "extra"] },
        reports: { token: "client", resource: "https://api.example/reports", scopes: ["reports"] },
        open: { token: "none" },
        own: { token: "user" },
      },
      {
        statements: "https://a.example",
        again: "https://a.example",
        reports: "https://a.example",
        open: "https://a.example",
        own: "https://a.example",
      },
    );
    const out = withSignInResources(new URLSearchParams({ scope: "openid profile email", client_id: "c" }), apis.values());
    expect(out.getAll("resource")).toEqual(["https://api.example/statements"]);
    expect(out.get("scope")).toBe("openid profile email statements:read extra");
    expect(out.get("client_id")).toBe("c");
  });
});
