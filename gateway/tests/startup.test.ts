/** Starting the gateway: its settings, what it refuses, what it logs, and the CLI entry. */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readGatewayConfig } from "../config";
import { isLoopback, startGateway } from "../server";
import { testRedisUrl } from "../../tests/support/require-redis";

const TOKEN = `gw-startup-token-${randomUUID()}`;
const PREFIX = `lockstep-test:gw-startup:${randomUUID().slice(0, 8)}:`;
/** The gateway package's own directory, where `npm start` runs `tsx main.ts`. */
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");

describe("gateway settings", () => {
  it("has defaults for all but the token", () => {
    expect(readGatewayConfig({ UPSTASH_REDIS_REST_TOKEN: TOKEN })).toEqual({
      ok: true,
      config: {
        GATEWAY_PORT: 8079,
        GATEWAY_HOST: "127.0.0.1",
        UPSTASH_REDIS_REST_TOKEN: TOKEN,
        GATEWAY_KEY_PREFIX: "ls:",
        GATEWAY_MAX_COMMANDS: 10_000,
        REDIS_URL: undefined,
      },
    });
    const blanks = readGatewayConfig({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_PORT: "", REDIS_URL: "" });
    expect(blanks).toMatchObject({ ok: true, config: { GATEWAY_PORT: 8079, REDIS_URL: undefined } });
    expect(readGatewayConfig({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_PORT: "0", REDIS_URL: testRedisUrl })).toMatchObject({
      ok: true,
      config: { GATEWAY_PORT: 0, REDIS_URL: testRedisUrl },
    });
    const limits = { UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_KEY_PREFIX: "my-app.v2:", GATEWAY_MAX_COMMANDS: "1000" };
    expect(readGatewayConfig(limits)).toMatchObject({
      ok: true,
      config: { GATEWAY_KEY_PREFIX: "my-app.v2:", GATEWAY_MAX_COMMANDS: 1_000 },
    });
  });

  it("takes a key prefix of LOCKSTEP_KEY_PREFIX's shape only, and a command limit Lockstep can live with", () => {
    const prefixProblem = "GATEWAY_KEY_PREFIX must be 1 to 64 letters, digits and : _ . - (the apps' LOCKSTEP_KEY_PREFIX)";
    // Braces would open a hash tag, * and ? are globs; an empty variable counts as unset (the default).
    for (const prefix of ["has space:", "{tag}:", "ls*", "x".repeat(65), "ls:\n"]) {
      const result = readGatewayConfig({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_KEY_PREFIX: prefix });
      expect(result, prefix).toEqual({ ok: false, problems: [prefixProblem] });
    }
    const limitProblem = "GATEWAY_MAX_COMMANDS must be a whole number from 1000 (what @upstash/redis batches into one request) to 1000000";
    for (const limit of ["999", "0", "-5", "1500.5", "many", "1000001"]) {
      const result = readGatewayConfig({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_MAX_COMMANDS: limit });
      expect(result, limit).toEqual({ ok: false, problems: [limitProblem] });
    }
  });

  it("names the bad keys and never repeats a value", () => {
    const secrets = ["short-secret", "hunter2-in-url", "not-a-port-9x"];
    const result = readGatewayConfig({
      UPSTASH_REDIS_REST_TOKEN: secrets[0],
      REDIS_URL: `http://user:${secrets[1]}@redis.internal:6379`,
      GATEWAY_PORT: secrets[2],
    });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual([
      "GATEWAY_PORT must be a port number from 0 to 65535",
      "UPSTASH_REDIS_REST_TOKEN must be at least 16 characters",
      "REDIS_URL must be a redis:// or rediss:// URL",
    ]);
    for (const secret of secrets) expect(problems.join("\n")).not.toContain(secret);
    expect(readGatewayConfig({})).toEqual({ ok: false, problems: ["UPSTASH_REDIS_REST_TOKEN is required"] });
  });
});

describe("startGateway", () => {
  it("knows loopback addresses", () => {
    for (const host of ["127.0.0.1", "127.9.8.7", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"]) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ["0.0.0.0", "::", "10.0.0.8", "192.168.1.1", "example.com", "128.0.0.1"]) {
      expect(isLoopback(host), host).toBe(false);
    }
  });

  it("refuses a non-loopback host unless asked, and a short token", async () => {
    await expect(startGateway({ host: "0.0.0.0", port: 0, token: TOKEN, keyPrefix: PREFIX, log: () => {} })).rejects.toThrow(
      /not a loopback address/,
    );
    await expect(startGateway({ port: 0, token: "too-short", keyPrefix: PREFIX, log: () => {} })).rejects.toThrow(/at least 16/);
    const exposed = await startGateway({
      host: "0.0.0.0",
      port: 0,
      token: TOKEN,
      keyPrefix: PREFIX,
      allowNonLoopback: true,
      log: () => {},
    });
    expect(exposed.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    await exposed.close();
  });

  it("refuses a key prefix that would let every key through, and a command limit below one", async () => {
    for (const keyPrefix of ["", "*", "{tag}"]) {
      await expect(startGateway({ port: 0, token: TOKEN, keyPrefix, log: () => {} }), keyPrefix).rejects.toThrow(/key prefix must be/);
    }
    for (const maxCommands of [0, -1, 1.5, Number.NaN]) {
      await expect(startGateway({ port: 0, token: TOKEN, keyPrefix: PREFIX, maxCommands, log: () => {} })).rejects.toThrow(
        /most commands per request must be/,
      );
    }
  });

  it("warns once that the embedded store is for the demo, and never logs the token", async () => {
    const lines: string[] = [];
    const gateway = await startGateway({ port: 0, token: TOKEN, keyPrefix: PREFIX, log: (line) => lines.push(line) });
    try {
      await fetch(`${gateway.url}/`, { method: "POST", headers: { Authorization: "Bearer wrong" }, body: "[]" });
      await fetch(`${gateway.url}/`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` }, body: "[" });
    } finally {
      await gateway.close();
    }
    expect(gateway.backend).toBe("embedded");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/embedded.*demo only.*nothing across restarts.*not shared between processes/);
    expect(lines.join("\n")).not.toContain(TOKEN);
  });

  it("says where an unreachable Redis is, without its password", async () => {
    const start = startGateway({
      port: 0,
      token: TOKEN,
      redisUrl: "redis://user:pa55word-xyz@127.0.0.1:1",
      keyPrefix: PREFIX,
      log: () => {},
    });
    await expect(start).rejects.toThrow(/^could not connect to Redis at redis:\/\/127\.0\.0\.1:1: /);
    await expect(start).rejects.not.toThrow(/pa55word/);
  });

  it("closes twice without trouble", async () => {
    const gateway = await startGateway({ port: 0, token: TOKEN, redisUrl: testRedisUrl, keyPrefix: PREFIX, log: () => {} });
    expect(gateway.backend).toBe("redis");
    await Promise.all([gateway.close(), gateway.close()]);
    await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
  });
});

describe("tsx main.ts (the gateway package's start script)", () => {
  /** Runs the CLI; once it prints its URL line, runs `whileUp` against that URL, then sends SIGTERM. */
  function runMain(
    env: Record<string, string>,
    whileUp: (url: string) => Promise<void> = async () => {},
  ): Promise<{ code: number | null; stdout: string; stderr: string; failure?: unknown }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [TSX_CLI, "main.ts"], {
        cwd: PACKAGE_DIR,
        env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", ...env },
      });
      let stdout = "";
      let stderr = "";
      let up = false;
      let failure: unknown;
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const url = /listening on (\S+)/.exec(stdout)?.[1];
        if (url === undefined || up) return;
        up = true;
        whileUp(url)
          .catch((error: unknown) => (failure = error))
          .finally(() => child.kill("SIGTERM"));
      });
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("exit", (code) => resolve({ code, stdout, stderr, failure }));
    });
  }

  it("prints one line with the URL and the backend, and stops on SIGTERM", async () => {
    const embedded = await runMain({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_PORT: "0" });
    expect(embedded.code).toBe(0);
    expect(embedded.stdout).toMatch(/^gateway: listening on http:\/\/127\.0\.0\.1:\d+ \(backend: embedded; keys under ls:\)$/m);
    expect(embedded.stdout).toMatch(/WARNING.*embedded/);

    const redis = await runMain({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_PORT: "0", REDIS_URL: testRedisUrl });
    expect(redis.code).toBe(0);
    expect(redis.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/^gateway: listening on http:\/\/127\.0\.0\.1:\d+ \(backend: redis, redis:\/\/.+; keys under ls:\)$/),
    ]);
    expect(embedded.stdout + redis.stdout).not.toContain(TOKEN);
  });

  it("serves under GATEWAY_KEY_PREFIX and GATEWAY_MAX_COMMANDS", async () => {
    const statuses: number[] = [];
    const result = await runMain(
      { UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_PORT: "0", GATEWAY_KEY_PREFIX: PREFIX, GATEWAY_MAX_COMMANDS: "1000" },
      async (url) => {
        const post = async (path: string, body: unknown) => {
          const res = await fetch(`${url}${path}`, {
            method: "POST",
            headers: { Authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify(body),
          });
          await res.arrayBuffer();
          statuses.push(res.status);
        };
        await post("/", ["get", `${PREFIX}k`]);
        await post("/", ["get", "ls:k"]);
        await post(
          "/pipeline",
          Array.from({ length: 1_000 }, () => ["get", `${PREFIX}k`]),
        );
        await post(
          "/pipeline",
          Array.from({ length: 1_001 }, () => ["get", `${PREFIX}k`]),
        );
      },
    );
    expect(result.failure).toBeUndefined();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`(backend: embedded; keys under ${PREFIX})`);
    expect(statuses).toEqual([200, 400, 200, 413]);
  });

  it("exits with the bad keys named, and no values", async () => {
    const result = await runMain({ UPSTASH_REDIS_REST_TOKEN: "tiny-secret", GATEWAY_HOST: "" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("gateway: invalid configuration: UPSTASH_REDIS_REST_TOKEN must be at least 16");
    expect(result.stderr + result.stdout).not.toContain("tiny-secret");

    const limits = await runMain({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_MAX_COMMANDS: "10", GATEWAY_KEY_PREFIX: "*" });
    expect(limits.code).toBe(1);
    expect(limits.stderr).toContain("GATEWAY_KEY_PREFIX must be 1 to 64 letters");
    expect(limits.stderr).toContain("GATEWAY_MAX_COMMANDS must be a whole number from 1000");
  });
});
