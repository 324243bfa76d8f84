import { buildApp } from "../../scripts/stack";

/**
 * Builds the app once for the integration tier (`next build`), so every test runs against the
 * production build. LOCKSTEP_SKIP_BUILD=1 reuses the last build when iterating locally.
 */
export default async function setup(): Promise<void> {
  if (process.env.LOCKSTEP_SKIP_BUILD === "1") return;
  await buildApp();
}
