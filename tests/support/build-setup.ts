import type { TestProject } from "vitest/node";
import { buildApp, type GuardRuntime } from "./next-app";

/**
 * Builds the app once per test run and variant (`next build`) for the integration and browser
 * tiers, so every test runs against the production build: the edge variant, and the Node variant
 * (GUARD_RUNTIME=nodejs) for a project that sets LOCKSTEP_NATIVE_REDIS=1. LOCKSTEP_SKIP_BUILD=1
 * reuses the last builds.
 */
export default async function setup(project: TestProject): Promise<void> {
  if (process.env.LOCKSTEP_SKIP_BUILD === "1") return;
  const runtime: GuardRuntime = project.config.env?.LOCKSTEP_NATIVE_REDIS === "1" ? "nodejs" : "edge";
  const built = `LOCKSTEP_BUILT_${runtime.toUpperCase()}`;
  if (process.env[built] === "1") return;
  await buildApp(undefined, runtime);
  // Several tiers use this setup; the next one of the same variant in this run reuses the build.
  process.env[built] = "1";
}
