import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeServers, serve } from "../support/loopback";
import { testRedisUrl } from "../support/require-redis";

/**
 * `npm run ssf` (scripts/ssf.ts) on a Node deployment: REDIS_URL and no REST settings, as the Node
 * variant runs. It runs no guard, so the edge guard's need for UPSTASH_* must not stop it. A
 * loopback server stands in for the SSF transmitter's configuration (SSF §7.1).
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
let workdir: string;
let transmitter: string;

beforeAll(async () => {
  workdir = mkdtempSync(path.join(tmpdir(), "lockstep-ssf-cli-"));
  transmitter = await serve((req, _body, res) => {
    const self = `http://${req.headers.host}`;
    if (req.url === "/.well-known/ssf-configuration") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ issuer: self, delivery_methods_supported: [] }));
    } else res.writeHead(404).end();
  });
});

afterAll(async () => {
  await closeServers();
  rmSync(workdir, { recursive: true, force: true });
});

function ssf(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(root, "node_modules/.bin/tsx"),
      ["--tsconfig", path.join(root, "tsconfig.json"), path.join(root, "scripts/ssf.ts"), ...args],
      { cwd: workdir, env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe("npm run ssf on a Node deployment", () => {
  it("runs with REDIS_URL and no REST settings, though no GUARD_RUNTIME is set at run time", { timeout: 60_000 }, async () => {
    const run = await ssf(["discover"], {
      AUTH_SECRET: "s".repeat(40),
      AUTH_URL: "http://localhost:3000",
      OIDC_ISSUER: "http://127.0.0.1:9/",
      OIDC_CLIENT_ID: "client",
      OIDC_CLIENT_SECRET: "client-secret-of-the-test",
      REDIS_URL: testRedisUrl,
      LOCKSTEP_KEY_PREFIX: "lockstep-test:ssf-cli:",
      SSF_ISSUER: transmitter,
      SSF_MANAGEMENT_TOKEN: "management-token-of-the-test",
    });
    expect(run.stderr).not.toContain("UPSTASH_REDIS_REST_URL");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout.trim().split("\n").at(-1)!)).toMatchObject({ issuer: transmitter });
  });
});
