import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";

const valid = {
  AUTH_SECRET: "s".repeat(40),
  AUTH_URL: "http://localhost:3000/",
  OIDC_ISSUER: "https://idp.example.com/",
  OIDC_CLIENT_ID: "client",
  OIDC_CLIENT_SECRET: "super-secret-value-123",
  UPSTASH_REDIS_REST_URL: "https://redis.example.com",
  UPSTASH_REDIS_REST_TOKEN: "token-value-456",
};

describe("configuration", () => {
  it("reads a valid environment with safe defaults", () => {
    const config = parseConfig(valid);
    expect(config.AUTH_URL).toBe("http://localhost:3000");
    expect(config.GUARD_FAIL_OPEN).toBe(false);
    expect(config.LOCKSTEP_KEY_PREFIX).toBe("ls:");
  });

  it("keeps the issuer exactly as given, trailing slash included (it is compared to iss)", () => {
    expect(parseConfig(valid).OIDC_ISSUER).toBe("https://idp.example.com/");
  });

  it("accepts Vercel's KV_REST_API_* names for the Upstash settings", () => {
    const { UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, ...rest } = valid;
    const config = parseConfig({ ...rest, KV_REST_API_URL: UPSTASH_REDIS_REST_URL, KV_REST_API_TOKEN: UPSTASH_REDIS_REST_TOKEN });
    expect(config.UPSTASH_REDIS_REST_URL).toBe("https://redis.example.com");
  });

  it("names every bad key in one error and never prints a value", () => {
    const env = {
      ...valid,
      AUTH_SECRET: "short-secret-xyz",
      OIDC_CLIENT_SECRET: "",
      UPSTASH_REDIS_REST_URL: "not a url ftp",
      GUARD_FAIL_OPEN: "maybe",
    };
    let error: unknown;
    try {
      parseConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.keys.sort()).toEqual(["AUTH_SECRET", "GUARD_FAIL_OPEN", "OIDC_CLIENT_SECRET", "UPSTASH_REDIS_REST_URL"]);
    for (const value of ["short-secret-xyz", "not a url ftp", "maybe", valid.UPSTASH_REDIS_REST_TOKEN]) {
      expect(configError.message).not.toContain(value);
    }
  });

  it("says a missing key is required", () => {
    const rest: Record<string, string | undefined> = { ...valid };
    delete rest.OIDC_ISSUER;
    expect(() => parseConfig(rest)).toThrow(/OIDC_ISSUER: is required/);
  });

  it("fails closed unless failing open is asked for explicitly", () => {
    expect(parseConfig({ ...valid, GUARD_FAIL_OPEN: "true" }).GUARD_FAIL_OPEN).toBe(true);
    expect(parseConfig({ ...valid, GUARD_FAIL_OPEN: "false" }).GUARD_FAIL_OPEN).toBe(false);
  });

  describe("Redis settings: REDIS_URL for the Node runtime, UPSTASH_* for the edge guard", () => {
    const noRest: Record<string, string> = { ...valid };
    delete noRest.UPSTASH_REDIS_REST_URL;
    delete noRest.UPSTASH_REDIS_REST_TOKEN;
    const errorOf = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("expected a ConfigError");
    };

    it("accepts a redis:// or rediss:// REDIS_URL next to the REST settings, and leaves it unset by default", () => {
      expect(parseConfig(valid).REDIS_URL).toBeUndefined();
      expect(parseConfig({ ...valid, REDIS_URL: "redis://127.0.0.1:6379" }).REDIS_URL).toBe("redis://127.0.0.1:6379");
      expect(parseConfig({ ...valid, REDIS_URL: "rediss://default:pw@redis.example.com:6380/0" }).REDIS_URL).toBe(
        "rediss://default:pw@redis.example.com:6380/0",
      );
      expect(parseConfig({ ...valid, REDIS_URL: "" }).REDIS_URL).toBeUndefined();
    });

    it("refuses another scheme, without printing the URL (it may hold a password)", () => {
      const error = errorOf({ ...valid, REDIS_URL: "http://user:hunter2-secret@redis.example.com" });
      expect(error.keys).toEqual(["REDIS_URL"]);
      expect(error.message).toContain("redis:// or rediss://");
      expect(error.message).not.toContain("hunter2-secret");
    });

    it("accepts a Redis Cluster as REDIS_CLUSTER_NODES (redis:// URLs, comma-separated), not with REDIS_URL", () => {
      expect(parseConfig(valid).REDIS_CLUSTER_NODES).toBeUndefined();
      expect(parseConfig({ ...valid, REDIS_CLUSTER_NODES: "redis://10.0.0.1:7000, redis://10.0.0.2:7000," }).REDIS_CLUSTER_NODES).toEqual([
        "redis://10.0.0.1:7000",
        "redis://10.0.0.2:7000",
      ]);
      expect(errorOf({ ...valid, REDIS_CLUSTER_NODES: "redis://10.0.0.1:7000", REDIS_URL: "redis://127.0.0.1:6379" }).keys).toEqual([
        "REDIS_CLUSTER_NODES",
      ]);
    });

    it("refuses cluster nodes that disagree on scheme or credentials, name a database, or are not redis URLs, without printing them", () => {
      const mixed = errorOf({
        ...valid,
        REDIS_CLUSTER_NODES: "redis://:hunter2-secret@10.0.0.1:7000,rediss://:hunter2-secret@10.0.0.2:7000",
      });
      expect(mixed.keys).toEqual(["REDIS_CLUSTER_NODES"]);
      expect(mixed.message).toContain("same scheme and credentials");
      expect(mixed.message).not.toContain("hunter2-secret");
      expect(errorOf({ ...valid, REDIS_CLUSTER_NODES: "redis://10.0.0.1:7000/2" }).message).toContain("only database 0");
      expect(errorOf({ ...valid, REDIS_CLUSTER_NODES: "10.0.0.1:7000" }).keys).toEqual(["REDIS_CLUSTER_NODES"]);
      expect(errorOf({ ...valid, REDIS_CLUSTER_NODES: " , " }).keys).toEqual(["REDIS_CLUSTER_NODES"]);
    });

    it("names each missing REST setting, and says the edge guard needs them even with REDIS_URL", () => {
      expect(errorOf(noRest).keys).toEqual(["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"]);
      const withNative = errorOf({ ...noRest, UPSTASH_REDIS_REST_URL: valid.UPSTASH_REDIS_REST_URL, REDIS_URL: "redis://127.0.0.1:6379" });
      expect(withNative.keys).toEqual(["UPSTASH_REDIS_REST_TOKEN"]);
      expect(withNative.message).toMatch(
        /UPSTASH_REDIS_REST_TOKEN: is required even with REDIS_URL or REDIS_CLUSTER_NODES while the guard runs on the edge/,
      );
    });

    it("needs no REST setting when the guard runs in the Node runtime on REDIS_URL, and still needs one without REDIS_URL", () => {
      const node = parseConfig({ ...noRest, GUARD_RUNTIME: "nodejs", REDIS_URL: "redis://127.0.0.1:6379" });
      expect(node.GUARD_RUNTIME).toBe("nodejs");
      expect(node.UPSTASH_REDIS_REST_URL).toBeUndefined();
      expect(errorOf({ ...noRest, GUARD_RUNTIME: "nodejs" }).keys).toEqual(["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"]);
      expect(parseConfig({ ...noRest, GUARD_RUNTIME: "nodejs", REDIS_CLUSTER_NODES: "redis://10.0.0.1:7000" }).REDIS_CLUSTER_NODES).toEqual(
        ["redis://10.0.0.1:7000"],
      );
      expect(errorOf({ ...noRest, REDIS_CLUSTER_NODES: "redis://10.0.0.1:7000" }).keys).toEqual([
        "UPSTASH_REDIS_REST_URL",
        "UPSTASH_REDIS_REST_TOKEN",
      ]);
      expect(parseConfig(valid).GUARD_RUNTIME).toBe("edge");
      expect(errorOf({ ...valid, GUARD_RUNTIME: "bun" }).keys).toEqual(["GUARD_RUNTIME"]);
    });
  });

  describe("Shared Signals settings, checked once at start-up", () => {
    const ssf = { ...valid, SSF_ISSUER: "https://ssf.example.com", SSF_MANAGEMENT_TOKEN: "management-token" };
    const keysOf = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (e) {
        return (e as ConfigError).keys;
      }
      return [];
    };

    it("parses SSF_POLICY into the policy overrides and SSF_ALGORITHMS into a list", () => {
      const config = parseConfig({ ...ssf, SSF_POLICY: '{"session-revoked":"ignore"}', SSF_ALGORITHMS: "RS256, ES256" });
      expect(config.SSF_POLICY).toEqual({ "session-revoked": "ignore" });
      expect(config.SSF_ALGORITHMS).toEqual(["RS256", "ES256"]);
      expect(parseConfig(ssf).SSF_POLICY).toEqual({});
    });

    it("stops on an SSF_POLICY that is not JSON, names an unknown action, or uses a full URI as key", () => {
      expect(keysOf({ ...ssf, SSF_POLICY: "{session-revoked:ignore}" })).toEqual(["SSF_POLICY"]);
      expect(keysOf({ ...ssf, SSF_POLICY: '{"session-revoked":"end_session"}' })).toEqual(["SSF_POLICY"]);
      expect(keysOf({ ...ssf, SSF_POLICY: '{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":"ignore"}' })).toEqual([
        "SSF_POLICY",
      ]);
    });

    it("refuses none and shared-secret algorithms for SETs (SSF §4.1.4)", () => {
      expect(keysOf({ ...ssf, SSF_ALGORITHMS: "none" })).toEqual(["SSF_ALGORITHMS"]);
      expect(keysOf({ ...ssf, SSF_ALGORITHMS: "RS256,HS256" })).toEqual(["SSF_ALGORITHMS"]);
      expect(keysOf({ ...ssf, SSF_ALGORITHMS: " , " })).toEqual(["SSF_ALGORITHMS"]);
    });

    it("requires SSF_MANAGEMENT_TOKEN once SSF_ISSUER is set", () => {
      expect(keysOf({ ...valid, SSF_ISSUER: "https://ssf.example.com" })).toEqual(["SSF_MANAGEMENT_TOKEN"]);
    });
  });

  describe("client authentication and PAR (OIDC_CLIENT_AUTH_METHOD, OIDC_CLIENT_PRIVATE_KEY, OIDC_PAR)", () => {
    const ecKey = { ...generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }), kid: "k1", alg: "ES256" };
    const rsaKey = { ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }), kid: "r1", alg: "PS256" };
    const edKey = { ...generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }), kid: "e1", alg: "Ed25519" };
    const noSecret: Record<string, string> = { ...valid };
    delete noSecret.OIDC_CLIENT_SECRET;
    const withKey = (jwk: unknown) => ({
      ...noSecret,
      OIDC_CLIENT_AUTH_METHOD: "private_key_jwt",
      OIDC_CLIENT_PRIVATE_KEY: JSON.stringify(jwk),
    });
    const errorOf = (env: Record<string, string | undefined>) => {
      try {
        parseConfig(env);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("expected a ConfigError");
    };

    it("defaults to client_secret_basic and to pushing authorization requests where the IdP offers it", () => {
      const config = parseConfig(valid);
      expect(config.OIDC_CLIENT_AUTH_METHOD).toBe("client_secret_basic");
      expect(config.OIDC_PAR).toBe("auto");
    });

    it("accepts private_key_jwt with an EC, RSA or Ed25519 private JWK and no client secret (RFC 7523 §2.2)", () => {
      for (const jwk of [ecKey, rsaKey, edKey]) {
        expect(parseConfig(withKey(jwk)).OIDC_CLIENT_AUTH_METHOD).toBe("private_key_jwt");
      }
    });

    it("requires the private key with private_key_jwt, and the secret with the two secret methods", () => {
      expect(errorOf({ ...noSecret, OIDC_CLIENT_AUTH_METHOD: "private_key_jwt" }).keys).toEqual(["OIDC_CLIENT_PRIVATE_KEY"]);
      expect(errorOf({ ...noSecret, OIDC_CLIENT_AUTH_METHOD: "client_secret_post" }).keys).toEqual(["OIDC_CLIENT_SECRET"]);
      expect(errorOf({ ...valid, OIDC_CLIENT_AUTH_METHOD: "client_secret_jwt" }).keys).toEqual(["OIDC_CLIENT_AUTH_METHOD"]);
      expect(errorOf({ ...valid, OIDC_PAR: "always" }).keys).toEqual(["OIDC_PAR"]);
    });

    const publicOnly = (jwk: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(jwk).filter(([name]) => !["d", "p", "q", "dp", "dq", "qi"].includes(name)));
    const without = (jwk: Record<string, unknown>, name: string) => Object.fromEntries(Object.entries(jwk).filter(([n]) => n !== name));
    const bad: [string, string][] = [
      ["not JSON", `{kty:EC,d:${ecKey.d}}`],
      ["a JWK Set", JSON.stringify({ keys: [ecKey] })],
      ["a public key (no d)", JSON.stringify(publicOnly(ecKey))],
      ["a shared secret (kty oct)", JSON.stringify({ kty: "oct", k: ecKey.d, kid: "s", alg: "HS256" })],
      ["no kid", JSON.stringify(without(ecKey, "kid"))],
      ["no alg", JSON.stringify(without(ecKey, "alg"))],
      ["alg none", JSON.stringify({ ...ecKey, alg: "none" })],
      ["alg HS256", JSON.stringify({ ...ecKey, alg: "HS256" })],
      ["alg EdDSA (named Ed25519 here)", JSON.stringify({ ...edKey, alg: "EdDSA" })],
      ["an alg of another key type", JSON.stringify({ ...rsaKey, alg: "ES256" })],
      ["an alg of another curve", JSON.stringify({ ...ecKey, alg: "ES384" })],
      ["an RSA key without its CRT members", JSON.stringify(without(rsaKey, "qi"))],
      ["a key for encryption", JSON.stringify({ ...ecKey, use: "enc" })],
    ];
    it.each(bad)("stops on %s as OIDC_CLIENT_PRIVATE_KEY, naming the setting and never printing the key", (_what, text) => {
      const error = errorOf({ ...noSecret, OIDC_CLIENT_AUTH_METHOD: "private_key_jwt", OIDC_CLIENT_PRIVATE_KEY: text });
      expect(error.keys).toEqual(["OIDC_CLIENT_PRIVATE_KEY"]);
      expect(error.message).toMatch(/OIDC_CLIENT_PRIVATE_KEY: /);
      for (const secret of [ecKey.d, rsaKey.d, rsaKey.qi, edKey.d]) expect(error.message).not.toContain(secret);
    });

    it("checks a given private key even while another method is chosen, with the other bad keys", () => {
      const error = errorOf({ ...valid, AUTH_SECRET: "short", OIDC_CLIENT_PRIVATE_KEY: JSON.stringify(publicOnly(ecKey)) });
      expect(error.keys.sort()).toEqual(["AUTH_SECRET", "OIDC_CLIENT_PRIVATE_KEY"]);
    });
  });
});
