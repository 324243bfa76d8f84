/**
 * Runs once when a server instance starts (Next.js instrumentation). In the Node runtime it checks
 * what every request needs before `next start` says Ready (lib/startup/check.ts): a bad setting or a
 * store that does not answer prints one line naming the setting and stops the process (exit code 1);
 * an IdP whose discovery cannot be read is a warning, never fatal. It then logs the liveness plan
 * chosen from the IdP's discovery document (one line, `liveness.plan`) and how the client will talk
 * to the IdP (`oidc.client`: its authentication and whether authorization requests are pushed).
 * In the edge runtime the configuration is read, so that a bad setting fails there too.
 */
export async function register(): Promise<void> {
  // Next's own switch between its runtimes; the edge runtime has no process to stop and no IdP client to build.
  if (process.env.NEXT_RUNTIME !== "nodejs") {
    const { getConfig } = await import("@/lib/config");
    getConfig();
    return;
  }
  const { checkAtStartup } = await import("@/lib/startup/check");
  await checkAtStartup();
  const { announceLivenessPlan } = await import("@/lib/compose/node");
  announceLivenessPlan();
  const { announceClientPlan } = await import("@/lib/oidc/announce");
  void announceClientPlan();
}
