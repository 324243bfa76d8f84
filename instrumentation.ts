/**
 * Runs once when a server instance starts (Next.js instrumentation): the configuration is read and
 * validated here, so that a typo in any setting (SSF_POLICY included) stops the app at start-up
 * with an error naming the key, instead of failing each request that needs it. In the Node runtime
 * it then reads the IdP's discovery document and logs the liveness plan chosen from it (one line,
 * `liveness.plan`) and how the client will talk to the IdP (`oidc.client`: its authentication and
 * whether authorization requests are pushed); an IdP that cannot be read yet is logged and asked
 * again later, never fatal.
 */
export async function register(): Promise<void> {
  const { getConfig } = await import("@/lib/config");
  getConfig();
  // Next's own switch between its runtimes; the edge runtime has no IdP client to build.
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { announceLivenessPlan } = await import("@/lib/compose/node");
  announceLivenessPlan();
  const { announceClientPlan } = await import("@/lib/oidc/announce");
  void announceClientPlan();
}
