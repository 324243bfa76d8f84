/**
 * Sign-in failures name their cause (lib/oidc/sign-in-errors.ts): the errors Auth.js hands its
 * logger, built as Auth.js and oauth4webapi build them, each classified with the setting to fix.
 * The start-up checks (lib/startup/check.ts) are here too, with stand-in stores and IdP.
 */
import { describe, expect, it, vi } from "vitest";
import { CallbackRouteError, InvalidCheck } from "@auth/core/errors";
import { ResponseBodyError, WWWAuthenticateChallengeError } from "oauth4webapi";
import { classifySignInError, parseSignInFailureCode } from "@/lib/oidc/sign-in-errors";
import { ConfigError, parseConfig } from "@/lib/config";
import { configErrorLines, runStartupChecks, storeFailures, type StartupDeps } from "@/lib/startup/check";
import { hostOf, storeSetting } from "@/lib/startup/settings";
import { StoreError } from "@/lib/store/errors";

const rest = { OIDC_CLIENT_AUTH_METHOD: "client_secret_basic" as const, REDIS_URL: undefined, REDIS_CLUSTER_NODES: undefined };

/** What Node's fetch throws when nothing listens. */
function fetchFailed(code = "ECONNREFUSED"): TypeError {
  return new TypeError("fetch failed", { cause: Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code }) });
}

/** As Auth.js's callback route wraps what it catches (its types take only a message; its code takes the error). */
const callbackRouteError = (cause: Error) =>
  new (CallbackRouteError as unknown as new (error: Error, data: object) => CallbackRouteError)(cause, { provider: "oidc" });

function tokenEndpointRefused(): ResponseBodyError {
  const body = { error: "invalid_client", error_description: "client authentication failed (secret-bearing detail)" };
  return new ResponseBodyError("server responded with an error in the response body", {
    cause: body,
    response: new Response(JSON.stringify(body), { status: 401 }),
  });
}

describe("sign-in failures name their cause", () => {
  it("an unreachable IdP at the sign-in's discovery request: idp_unreachable, OIDC_ISSUER", () => {
    const failure = classifySignInError(fetchFailed(), rest);
    expect(failure).toMatchObject({ code: "idp_unreachable", setting: "OIDC_ISSUER", type: "TypeError", cause: "ECONNREFUSED" });
  });

  it("an IdP that cannot be resolved, inside Auth.js's callback error: idp_unreachable", () => {
    const error = callbackRouteError(fetchFailed("ENOTFOUND"));
    expect(classifySignInError(error, rest)).toMatchObject({ code: "idp_unreachable", setting: "OIDC_ISSUER", type: "CallbackRouteError" });
  });

  it("a discovery document from another issuer: idp_invalid, OIDC_ISSUER", () => {
    const error = new TypeError("Discovery request responded with an invalid issuer. expected: https://idp.example.com/");
    expect(classifySignInError(error, rest)).toMatchObject({ code: "idp_invalid", setting: "OIDC_ISSUER" });
  });

  it("invalid_client at the token endpoint (RFC 6749 §5.2): client_rejected, the client's id and secret", () => {
    const error = callbackRouteError(tokenEndpointRefused());
    const failure = classifySignInError(error, rest);
    expect(failure).toMatchObject({
      code: "client_rejected",
      setting: "OIDC_CLIENT_ID/OIDC_CLIENT_SECRET",
      oauthError: "invalid_client",
      cause: "OAUTH_RESPONSE_BODY_ERROR",
    });
    expect(JSON.stringify(failure)).not.toContain("secret-bearing");
  });

  it("invalid_client with private_key_jwt names the private key, not a secret", () => {
    const error = callbackRouteError(tokenEndpointRefused());
    expect(classifySignInError(error, { ...rest, OIDC_CLIENT_AUTH_METHOD: "private_key_jwt" }).setting).toBe(
      "OIDC_CLIENT_ID/OIDC_CLIENT_PRIVATE_KEY",
    );
  });

  it("invalid_client in a WWW-Authenticate challenge (RFC 6750 §3): client_rejected", () => {
    const challenge = new WWWAuthenticateChallengeError("server responded with a challenge", {
      cause: [{ scheme: "basic", parameters: { error: "invalid_client" } }],
      response: new Response(null, { status: 401 }),
    });
    expect(classifySignInError(callbackRouteError(challenge), rest).code).toBe("client_rejected");
  });

  it("a state or PKCE cookie that did not come back (another host than AUTH_URL's): host_mismatch, AUTH_URL", () => {
    // Auth.js's parseCookie: the missing cookie, rethrown as "could not be parsed" with it as the cause.
    const error = new InvalidCheck("pkceCodeVerifier value could not be parsed", {
      cause: new InvalidCheck("pkceCodeVerifier cookie was missing"),
    });
    expect(classifySignInError(error, rest)).toMatchObject({ code: "host_mismatch", setting: "AUTH_URL", type: "InvalidCheck" });
  });

  it("a check cookie that is present but does not decode is not called a host mismatch", () => {
    const error = new InvalidCheck("state value could not be parsed", { cause: new Error("Invalid cookie") });
    const failure = classifySignInError(error, rest);
    expect(failure.code).toBe("sign_in_failed");
    expect(failure.setting).toBeUndefined();
  });

  it("a store failure while the session is created: store_unavailable, naming the store's setting", () => {
    const error = callbackRouteError(new StoreError("sessions.create"));
    expect(classifySignInError(error, rest)).toMatchObject({ code: "store_unavailable", setting: "UPSTASH_REDIS_REST_URL" });
    expect(classifySignInError(error, { ...rest, REDIS_URL: "redis://127.0.0.1:6379" }).setting).toBe("REDIS_URL");
    expect(classifySignInError(error, { ...rest, REDIS_CLUSTER_NODES: ["redis://a:7000"] }).setting).toBe("REDIS_CLUSTER_NODES");
  });

  it("anything else: sign_in_failed, with Auth.js's type and no setting", () => {
    expect(classifySignInError(new Error("The ID token has no iss or sub."), rest)).toEqual({ code: "sign_in_failed", type: "Error" });
  });

  it("reads back only known codes from the cookie", () => {
    expect(parseSignInFailureCode("client_rejected")).toBe("client_rejected");
    expect(parseSignInFailureCode("<script>")).toBeUndefined();
    expect(parseSignInFailureCode(undefined)).toBeUndefined();
  });
});

describe("start-up checks", () => {
  const valid = {
    AUTH_SECRET: "s".repeat(40),
    AUTH_URL: "http://localhost:3000",
    OIDC_ISSUER: "https://idp.example.com/",
    OIDC_CLIENT_ID: "client",
    OIDC_CLIENT_SECRET: "super-secret-value-123",
    REDIS_URL: "redis://:redis-password-789@127.0.0.1:6390/0",
    GUARD_RUNTIME: "nodejs",
  };

  function deps(overrides: Partial<StartupDeps> = {}) {
    const lines: string[] = [];
    const exit = vi.fn((code: number) => {
      throw new Error(`exit ${code}`);
    }) as unknown as StartupDeps["exit"] & ReturnType<typeof vi.fn>;
    const all: StartupDeps = {
      config: () => parseConfig(valid),
      probes: () => [{ setting: "REDIS_URL", host: "127.0.0.1:6390", read: async () => 0 }],
      discover: async () => ({}),
      print: (line) => lines.push(line),
      exit,
      timeoutMs: 50,
      ...overrides,
    };
    return { all, lines, exit };
  }

  it("a missing AUTH_SECRET stops the start with one line naming it, and no value", async () => {
    const missing: Record<string, string> = { ...valid };
    delete missing.AUTH_SECRET;
    const { all, lines, exit } = deps({ config: () => parseConfig({ ...missing, OIDC_CLIENT_SECRET: "" }) });
    await expect(runStartupChecks(all)).rejects.toThrow("exit 1");
    expect(exit).toHaveBeenCalledWith(1);
    expect(lines).toEqual([
      "Lockstep cannot start: AUTH_SECRET: is required",
      expect.stringMatching(/^Lockstep cannot start: OIDC_CLIENT_SECRET: /),
    ]);
    expect(lines.join("\n")).not.toContain("redis-password-789");
  });

  it("one line per bad key of a ConfigError", () => {
    const error = new ConfigError(["A", "B"], ["A: is required", "B: must be a URL"]);
    expect(configErrorLines(error)).toEqual(["Lockstep cannot start: A: is required", "Lockstep cannot start: B: must be a URL"]);
  });

  it("a store that refuses the read stops the start, naming the setting and host, never the password", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED redis-password-789"), { code: "ECONNREFUSED" });
    const { all, lines } = deps({
      probes: (config) => [{ setting: storeSetting(config), host: hostOf(config.REDIS_URL), read: () => Promise.reject(refused) }],
    });
    await expect(runStartupChecks(all)).rejects.toThrow("exit 1");
    expect(lines).toEqual([
      expect.stringMatching(/^Lockstep cannot start: REDIS_URL: the store at 127\.0\.0\.1:6390 did not answer a read \(ECONNREFUSED\)/),
    ]);
    expect(lines[0]).not.toContain("redis-password-789");
  });

  it("a store that does not answer within the timeout stops the start", async () => {
    const lines = await storeFailures(
      [{ setting: "UPSTASH_REDIS_REST_URL", host: "kv.example.com:443", read: () => new Promise(() => {}) }],
      20,
    );
    expect(lines).toEqual([
      expect.stringContaining("UPSTASH_REDIS_REST_URL: the store at kv.example.com:443 did not answer a read (timeout after 20 ms)"),
    ]);
  });

  it("an IdP that cannot be read only warns, naming OIDC_ISSUER", async () => {
    const { all, lines, exit } = deps({ discover: () => Promise.reject(fetchFailed()) });
    await runStartupChecks(all);
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    expect(lines[0]).toMatch(/^Lockstep warning: OIDC_ISSUER: .*\(ECONNREFUSED\)/);
    expect(exit).not.toHaveBeenCalled();
  });

  it("hostOf keeps host and port only", () => {
    expect(hostOf("rediss://user:pw@cache.example.com/2")).toBe("cache.example.com:6379");
    expect(hostOf("https://kv.example.com")).toBe("kv.example.com:443");
    expect(hostOf("not a url")).toBe("?");
  });
});
