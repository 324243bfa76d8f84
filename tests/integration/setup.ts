import { buildApp } from "../../demo/scripts/stack";

/**
 * Builds the app once per test run (`next build`) for the integration and browser tiers, so every
 * test runs against the production build. LOCKSTEP_SKIP_BUILD=1 reuses the last build.
 */
export default async function setup(): Promise<void> {
  if (process.env.LOCKSTEP_SKIP_BUILD === "1") return;
  await buildApp();
  // Both tiers use this setup; the second one in the same run reuses the build.
  process.env.LOCKSTEP_SKIP_BUILD = "1";
}
