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
/** The gateway package's own directory, where `npm start` runs `tsx main.ts`. */
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");

describe("gateway settings", () => {
  it("has defaults for all but the token", () => {
    expect(readGatewayConfig({ UPSTASH_REDIS_REST_TOKEN: TOKEN })).toEqual({
      ok: true,
      config: { GATEWAY_PORT: 8079, GATEWAY_HOST: "127.0.0.1", UPSTASH_REDIS_REST_TOKEN: TOKEN, REDIS_URL: undefined },
    });
    const blanks = readGatewayConfig({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_PORT: "", REDIS_URL: "" });
    expect(blanks).toMatchObject({ ok: true, config: { GATEWAY_PORT: 8079, REDIS_URL: undefined } });
    expect(readGatewayConfig({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_PORT: "0", REDIS_URL: testRedisUrl })).toMatchObject({
      ok: true,
      config: { GATEWAY_PORT: 0, REDIS_URL: testRedisUrl },
    });
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
    await expect(startGateway({ host: "0.0.0.0", port: 0, token: TOKEN, log: () => {} })).rejects.toThrow(/not a loopback address/);
    await expect(startGateway({ port: 0, token: "too-short", log: () => {} })).rejects.toThrow(/at least 16/);
    const exposed = await startGateway({ host: "0.0.0.0", port: 0, token: TOKEN, allowNonLoopback: true, log: () => {} });
    expect(exposed.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    await exposed.close();
  });

  it("warns once that the embedded store is for the demo, and never logs the token", async () => {
    const lines: string[] = [];
    const gateway = await startGateway({ port: 0, token: TOKEN, log: (line) => lines.push(line) });
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
    const start = startGateway({ port: 0, token: TOKEN, redisUrl: "redis://user:pa55word-xyz@127.0.0.1:1", log: () => {} });
    await expect(start).rejects.toThrow(/^could not connect to Redis at redis:\/\/127\.0\.0\.1:1: /);
    await expect(start).rejects.not.toThrow(/pa55word/);
  });

  it("closes twice without trouble", async () => {
    const gateway = await startGateway({ port: 0, token: TOKEN, redisUrl: testRedisUrl, log: () => {} });
    expect(gateway.backend).toBe("redis");
    await Promise.all([gateway.close(), gateway.close()]);
    await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
  });
});

describe("tsx main.ts (the gateway package's start script)", () => {
  /** Runs the CLI; once it prints its URL line, sends SIGTERM. */
  function runMain(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [TSX_CLI, "main.ts"], {
        cwd: PACKAGE_DIR,
        env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", ...env },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes("listening on")) child.kill("SIGTERM");
      });
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("prints one line with the URL and the backend, and stops on SIGTERM", async () => {
    const embedded = await runMain({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_PORT: "0" });
    expect(embedded.code).toBe(0);
    expect(embedded.stdout).toMatch(/^gateway: listening on http:\/\/127\.0\.0\.1:\d+ \(backend: embedded\)$/m);
    expect(embedded.stdout).toMatch(/WARNING.*embedded/);

    const redis = await runMain({ UPSTASH_REDIS_REST_TOKEN: TOKEN, GATEWAY_PORT: "0", REDIS_URL: testRedisUrl });
    expect(redis.code).toBe(0);
    expect(redis.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/^gateway: listening on http:\/\/127\.0\.0\.1:\d+ \(backend: redis, redis:\/\/.+\)$/),
    ]);
    expect(embedded.stdout + redis.stdout).not.toContain(TOKEN);
  });

  it("exits with the bad keys named, and no values", async () => {
    const result = await runMain({ UPSTASH_REDIS_REST_TOKEN: "tiny-secret", GATEWAY_HOST: "" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("gateway: invalid configuration: UPSTASH_REDIS_REST_TOKEN must be at least 16");
    expect(result.stderr + result.stdout).not.toContain("tiny-secret");
  });
});
