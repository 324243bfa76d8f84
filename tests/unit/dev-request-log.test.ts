import { afterEach, describe, expect, it, vi } from "vitest";
import { logRequests } from "next/dist/server/dev/log-requests.js";
import nextConfig from "../../next.config";

describe("next dev's request log (next.config.ts `logging`)", () => {
  afterEach(() => vi.restoreAllMocks());

  /** What `next dev` writes for one request, through Next's own request logger with this app's config. */
  function printed(url: string): string {
    const written: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const request = { url, method: "GET" } as unknown as Parameters<typeof logRequests>[0];
    const response = { statusCode: 302 } as unknown as Parameters<typeof logRequests>[1];
    logRequests(request, response, nextConfig.logging || {}, 0n, 1_000_000n, undefined, undefined, undefined, undefined);
    vi.restoreAllMocks();
    return written.join("");
  }

  it("prints no sign-in or sign-out callback, nor front-channel logout, with its code, state or sid", () => {
    for (const url of [
      "/api/auth/callback/oidc?code=Xy7secret&state=st4te&iss=http%3A%2F%2Flocalhost%3A4000&session_state=a.b",
      "/api/auth/callback/oidc?iss=http%3A%2F%2Flocalhost%3A4000&code=Xy7secret",
      "/api/logout/callback?state=st4te",
      "/api/session/check/callback?code=Xy7secret&state=st4te",
      "/api/frontchannel-logout?iss=http%3A%2F%2Flocalhost%3A4000&sid=s1d",
    ]) {
      expect(printed(url)).toBe("");
    }
  });

  it("still prints the other requests", () => {
    expect(printed("/account")).toContain("GET /account 302");
    expect(printed("/signed-out?error=Configuration")).toContain("GET /signed-out?error=Configuration");
  });
});
