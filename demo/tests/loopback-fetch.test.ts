import { afterEach, describe, expect, it, vi } from "vitest";
import { isLoopbackUrl, loopbackDemoFetch } from "../idp/loopback-fetch";

describe("loopbackDemoFetch (the demo's SSRF exception)", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("only treats literal loopback hosts as loopback", () => {
    for (const url of ["http://localhost:3000/api/backchannel-logout", "http://127.0.0.1:3000/", "http://[::1]:3000/"]) {
      expect(isLoopbackUrl(url)).toBe(true);
    }
    for (const url of [
      "https://app.example.com/",
      "http://localhost.example.com/",
      "http://127.0.0.2/",
      "http://10.0.0.1/",
      "http://[::ffff:127.0.0.1]/",
      "not a url",
    ]) {
      expect(isLoopbackUrl(url)).toBe(false);
    }
  });

  it("keeps oidc-provider's guarded dispatcher for every other host", async () => {
    const fetchSpy = vi.fn(async () => new Response(null, { status: 204 }));
    vi.stubGlobal("fetch", fetchSpy);
    const guard = { guarded: true };

    await loopbackDemoFetch("https://app.example.com/logout", { method: "POST", dispatcher: guard });
    expect(fetchSpy).toHaveBeenLastCalledWith("https://app.example.com/logout", { method: "POST", dispatcher: guard });

    await loopbackDemoFetch("http://localhost:3000/logout", { method: "POST", redirect: "follow", dispatcher: guard });
    expect(fetchSpy).toHaveBeenLastCalledWith("http://localhost:3000/logout", { method: "POST", redirect: "manual" });
  });
});
