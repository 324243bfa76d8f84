/**
 * Runs once when a server instance starts (Next.js instrumentation). In the Node runtime it checks
 * what every request needs before `next start` says Ready (lib/startup/check.ts): a bad setting or a
 * store that does not answer prints one line naming the setting and stops the process (exit code 1);
 * an IdP whose discovery cannot be read is a warning, never fatal. It then logs the liveness plan
 * chosen from the IdP's discovery document (one line, `liveness.plan`) and how the client will talk
 * to the IdP (`oidc.client`: its authentication and whether authorization requests are pushed).
 * With an OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT or a per-signal one), it then starts the
 * OpenTelemetry SDK (lib/telemetry/sdk.ts, loaded only then), before any route is served, so that
 * the route handlers and the Node guard find it (docs/observability.md); without one nothing of it
 * is loaded. On SIGTERM or SIGINT the instance drains (lib/compose/shutdown.ts): its tabs' streams
 * are sent `renew` and dropped, and the telemetry export is tried while Next finishes. In the edge
 * runtime the configuration is read, so that a bad setting fails there too;
 * no SDK runs there, and Lockstep's hooks stay no-ops.
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
  const { telemetryPlan } = await import("@/lib/telemetry/plan");
  const plan = telemetryPlan((await import("@/lib/config")).getConfig());
  const telemetry = plan ? (await import("@/lib/telemetry/sdk")).startTelemetry(plan) : undefined;
  (await import("@/lib/compose/shutdown")).drainOnSignals(telemetry);
  const { announceLivenessPlan } = await import("@/lib/compose/server");
  announceLivenessPlan();
  const { announceClientPlan } = await import("@/lib/oidc/announce");
  void announceClientPlan();
}
