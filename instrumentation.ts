/**
 * Runs once when a server instance starts (Next.js instrumentation): the configuration is read and
 * validated here, so that a typo in any setting (SSF_POLICY included) stops the app at start-up
 * with an error naming the key, instead of failing each request that needs it.
 */
export async function register(): Promise<void> {
  const { getConfig } = await import("@/lib/config");
  getConfig();
}
