import { fileURLToPath } from "node:url";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

/** The template's own tiers: what a project made from it keeps. */
const templateTiers: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: { name: "unit", include: ["tests/unit/**/*.test.ts"], environment: "node" },
  },
  {
    extends: true,
    // The store contract (tests/store/contract.ts) against the native Redis implementation; the in-memory one runs in the unit tier.
    test: {
      name: "store",
      include: ["tests/store/**/*.test.ts"],
      globalSetup: ["tests/support/require-redis.ts"],
      testTimeout: 20_000,
    },
  },
  {
    extends: true,
    // The same contract against the native store on a private 3-master Redis Cluster (started and stopped around the run).
    test: {
      name: "store-cluster",
      include: ["tests/store-cluster/**/*.test.ts"],
      globalSetup: ["tests/support/redis-cluster-setup.ts"],
      testTimeout: 30_000,
    },
  },
  {
    extends: true,
    // The command-line tools (npm run idp:check, npm run ssf) run as child processes against loopback servers.
    test: { name: "tools", include: ["tests/tools/**/*.test.ts"], testTimeout: 30_000 },
  },
  {
    extends: true,
    // Seeded mutations of valid logout tokens and SETs against the real receivers (FUZZ_COUNT each; 10,000 for the full run).
    test: { name: "fuzz", include: ["tests/fuzz/**/*.test.ts"], testTimeout: 600_000 },
  },
  {
    extends: true,
    // The Node variant (GUARD_RUNTIME=nodejs, REDIS_URL to plain Redis) started as a project runs it: no gateway, no demo IdP.
    test: {
      name: "template",
      include: ["tests/template/**/*.test.ts"],
      env: { LOCKSTEP_NATIVE_REDIS: "1" },
      globalSetup: ["tests/support/require-redis.ts", "tests/support/build-setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 300_000,
    },
  },
];

/** The gateway workspace's tiers: `npm run make-it-yours -- --gateway` removes them with gateway/. */
const gatewayTiers: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    // The gateway's tests and the store contract through it (run from here, like every tier: `npm test` or `npm test -w gateway`).
    test: {
      name: "gateway",
      include: ["gateway/tests/**/*.test.ts"],
      globalSetup: ["tests/support/require-redis.ts"],
      testTimeout: 20_000,
    },
  },
];

/**
 * The reference tiers: Lockstep against the demo IdP (demo/), the demo resource server and the
 * gateway, or against a third-party IdP, in real browsers and under outages. `npm run make-it-yours`
 * removes them (and the test folders they include) with demo/.
 */
const demoTiers: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: {
      // The demo workspace's own tests: its identity provider (the integration and e2e tiers' test IdP), resource server and tools.
      name: "idp",
      include: ["demo/tests/**/*.test.ts"],
      testTimeout: 20_000,
    },
  },
  {
    extends: true,
    test: {
      name: "integration",
      include: ["tests/integration/**/*.test.ts"],
      globalSetup: ["tests/support/require-redis.ts", "tests/support/build-setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 300_000,
    },
  },
  {
    extends: true,
    // The integration tier again on the Node variant: the GUARD_RUNTIME=nodejs build, its guard and route handlers on the native path (REDIS_URL, ioredis), no gateway.
    test: {
      name: "integration-native",
      include: ["tests/integration/**/*.test.ts"],
      env: { LOCKSTEP_NATIVE_REDIS: "1" },
      globalSetup: ["tests/support/require-redis.ts", "tests/support/build-setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 300_000,
    },
  },
  {
    extends: true,
    // The integration tier once more, on the Node variant against a private three-master Redis Cluster
    // (REDIS_CLUSTER_NODES). logs.test.ts needs a Redis of its own that refuses writes, so it runs on one Redis only.
    test: {
      name: "integration-cluster",
      include: ["tests/integration/**/*.test.ts"],
      exclude: ["tests/integration/logs.test.ts"],
      env: { LOCKSTEP_NATIVE_REDIS: "1", LOCKSTEP_REDIS_CLUSTER: "1" },
      globalSetup: ["tests/support/require-redis.ts", "tests/support/redis-cluster-setup.ts", "tests/support/build-setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 300_000,
    },
  },
  {
    extends: true,
    // Real Redis stopped and restarted under mixed traffic: nothing revoked is served, no logout is lost.
    test: {
      name: "outage",
      include: ["tests/outage/**/*.test.ts"],
      globalSetup: ["tests/support/require-redis.ts", "tests/support/build-setup.ts"],
      testTimeout: 180_000,
      hookTimeout: 300_000,
    },
  },
  {
    extends: true,
    // A third-party OpenID provider nobody here wrote (Debian's glewlwyd), started on loopback by the tier's setup: interoperability.
    test: {
      name: "thirdparty",
      include: ["tests/thirdparty/**/*.test.ts"],
      globalSetup: ["tests/support/require-redis.ts", "tests/support/build-setup.ts"],
      testTimeout: 120_000,
      hookTimeout: 300_000,
    },
  },
  {
    extends: true,
    test: {
      name: "e2e",
      include: ["tests/e2e/**/*.test.ts"],
      globalSetup: ["tests/support/require-redis.ts", "tests/support/require-chromium.ts", "tests/support/build-setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 300_000,
    },
  },
];

export default defineConfig({
  resolve: { alias: { "@": root } },
  test: {
    // One test file at a time: the tiers share the test Redis, the builds and the machine's ports.
    fileParallelism: false,
    projects: [...templateTiers, ...gatewayTiers, ...demoTiers],
  },
});
