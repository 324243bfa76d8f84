/**
 * What stops the start and what only warns (lib/startup/check.ts, docs/configuration.md): `next start`
 * of the last build, spawned with a clean environment. A missing AUTH_SECRET and a store that does not
 * answer end the process with code 1 within seconds and one line naming the setting (no value, no
 * stack trace); an IdP that cannot be read leaves it serving, with a warning naming OIDC_ISSUER.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, stopChild, waitForHealth, type GuardRuntime, type Stack } from "../../demo/scripts/stack";
import { startClean, type CleanRun } from "../support/next-app";
import { clusterNodes, onCluster, startTestStack } from "../support/lockstep";
import { testRedisUrl } from "../support/require-redis";

const runtime: GuardRuntime = process.env.LOCKSTEP_NATIVE_REDIS === "1" ? "nodejs" : "edge";
const secret = randomBytes(32).toString("base64url");
const redisPassword = "startup-test-password-0123";

/** `next start` of this tier's build with exactly these settings (and PATH, HOME), on a free loopback port. */
const startNext = (env: Record<string, string>): Promise<CleanRun> => startClean(runtime, () => env, "startup");

/** Settings that pass the schema, with a store and an IdP nobody listens on. */
async function settings(): Promise<Record<string, string>> {
  const dead = await freePort();
  return {
    AUTH_SECRET: secret,
    AUTH_URL: "http://localhost:3999",
    OIDC_ISSUER: `http://127.0.0.1:${dead}/`,
    OIDC_CLIENT_ID: "startup-test",
    OIDC_CLIENT_SECRET: "startup-test-secret-0123",
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${dead}`,
    UPSTASH_REDIS_REST_TOKEN: "startup-test-token-0123",
  };
}

async function exitsWithin(run: CleanRun, ms: number): Promise<number | null> {
  const timeout = new Promise<"running">((resolve) => setTimeout(() => resolve("running"), ms));
  const result = await Promise.race([run.exited, timeout]);
  if (result === "running") {
    await stopChild(run.child);
    throw new Error(`next start was still running after ${ms} ms:\n${run.output.join("\n")}`);
  }
  return result;
}

const ours = (run: CleanRun) => run.output.filter((l) => l.startsWith("Lockstep "));
const hasStack = (run: CleanRun) => run.output.some((l) => /^\s+at /.test(l) || l.includes("[auth][error]"));

describe("what stops the start", () => {
  it("a missing AUTH_SECRET: exit code 1, one line naming it", async () => {
    const rest = await settings();
    delete rest.AUTH_SECRET;
    const run = await startNext(rest);
    expect(await exitsWithin(run, 15_000)).toBe(1);
    expect(ours(run)).toEqual(["Lockstep cannot start: AUTH_SECRET: is required"]);
    expect(hasStack(run)).toBe(false);
  });

  it("a REDIS_URL nobody answers: exit code 1, naming REDIS_URL and its host, never its password", async () => {
    const dead = await freePort();
    const run = await startNext({ ...(await settings()), REDIS_URL: `redis://:${redisPassword}@127.0.0.1:${dead}` });
    expect(await exitsWithin(run, 15_000)).toBe(1);
    expect(ours(run)).toContainEqual(
      expect.stringMatching(new RegExp(`^Lockstep cannot start: REDIS_URL: the store at 127\\.0\\.0\\.1:${dead} did not answer a read`)),
    );
    expect(run.output.join("\n")).not.toContain(redisPassword);
    expect(hasStack(run)).toBe(false);
  });

  it("an UPSTASH_REDIS_REST_URL nobody answers: exit code 1, naming it", async () => {
    const env = await settings();
    const run = await startNext(env);
    expect(await exitsWithin(run, 15_000)).toBe(1);
    expect(ours(run)).toEqual([
      expect.stringMatching(/^Lockstep cannot start: UPSTASH_REDIS_REST_URL: the store at 127\.0\.0\.1:\d+ did not answer a read/),
    ]);
    expect(run.output.join("\n")).not.toContain(env.UPSTASH_REDIS_REST_TOKEN);
  });
});

/** A store that answers, as this tier's variant reaches it: the gateway (edge), REDIS_URL or the cluster (Node). */
async function storeSettings(stack: Stack): Promise<Record<string, string>> {
  const prefix = { LOCKSTEP_KEY_PREFIX: stack.keyPrefix };
  if (runtime === "edge") return { ...prefix, UPSTASH_REDIS_REST_URL: stack.gatewayUrl, UPSTASH_REDIS_REST_TOKEN: stack.gatewayToken };
  const native: Record<string, string> = onCluster
    ? { REDIS_CLUSTER_NODES: (await clusterNodes()).join(",") }
    : { REDIS_URL: testRedisUrl };
  return { ...prefix, ...native, UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "" };
}

describe("what only warns", () => {
  let stack: Stack | undefined;
  let run: CleanRun | undefined;
  beforeAll(async () => {
    // Only the gateway and the IdP (no app): the app below is started by hand.
    stack = await startTestStack({ apps: [] });
  });
  afterAll(async () => {
    if (run) await stopChild(run.child);
    await stack?.stop();
  });

  it("an OIDC_ISSUER nobody answers: the app starts and serves, with a warning naming OIDC_ISSUER", async () => {
    const nonce = randomBytes(8).toString("hex");
    run = await startNext({ ...(await settings()), ...(await storeSettings(stack!)), HEALTH_NONCE: nonce });
    await waitForHealth(`http://127.0.0.1:${run.port}/api/health`, run.child, 30_000, nonce);
    await expect.poll(() => ours(run!), { timeout: 15_000 }).toContainEqual(expect.stringMatching(/^Lockstep warning: OIDC_ISSUER: /));
    expect(ours(run).some((l) => l.startsWith("Lockstep cannot start"))).toBe(false);
    expect(run.child.exitCode).toBeNull();
  });
});
