import { z } from "zod";
import { demoLines } from "./output";
import { busyPorts, describeBusy, nodeCheck } from "./preflight";

/**
 * `npm run demo`: builds the app, then starts the demo IdP, the Redis gateway and Lockstep on
 * localhost. No account anywhere and no Redis needed (set REDIS_URL to use a real one).
 * Every port is checked before the build, and "running" is printed only once the demo's own
 * processes answer (each app echoes a per-run nonce on /api/health).
 */
const env = z
  .object({
    REDIS_URL: z.url().optional(),
    DEMO_APP_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    DEMO_SECOND_APP_PORT: z.coerce.number().int().min(1).max(65535).default(3001),
    DEMO_IDP_PORT: z.coerce.number().int().min(1).max(65535).default(4000),
    DEMO_GATEWAY_PORT: z.coerce.number().int().min(1).max(65535).default(8079),
    // off: the Brokerage is registered with no back-channel and no front-channel logout and gets no
    // Shared Signals, so only liveness (its re-check at the IdP) learns that the IdP session ended.
    DEMO_BROKERAGE_PUSH: z.enum(["on", "off"]).default("on"),
    DEMO_LIVENESS_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(3600).default(15),
    // The apps' security log: one short line per event, or `json` as the app writes it.
    DEMO_LOG: z.enum(["short", "json"]).default("short"),
  })
  // An empty variable counts as unset, as in the app and the gateway.
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== "")));
if (!env.success) {
  console.error(`Invalid demo settings: ${[...new Set(env.error.issues.map((i) => String(i.path[0])))].join(", ")}`);
  process.exit(1);
}
const settings = env.data;

const node = nodeCheck();
if (node && "error" in node) {
  console.error(node.error);
  process.exit(1);
}

const busy = await busyPorts([
  { port: settings.DEMO_APP_PORT, what: "Lockstep Bank", variable: "DEMO_APP_PORT" },
  { port: settings.DEMO_SECOND_APP_PORT, what: "Lockstep Brokerage", variable: "DEMO_SECOND_APP_PORT" },
  { port: settings.DEMO_IDP_PORT, what: "the demo IdP", variable: "DEMO_IDP_PORT" },
  { port: settings.DEMO_GATEWAY_PORT, what: "the Redis gateway", variable: "DEMO_GATEWAY_PORT" },
]);
if (busy.length > 0) {
  for (const line of describeBusy(busy)) console.error(line);
  process.exit(1);
}

if (node) console.log(node.notice);
// Imported only now: oidc-provider prints its runtime warning when it is loaded.
const { buildApp, startStack } = await import("./stack");
const { demoUsers } = await import("../idp/users");

const colours: Record<string, string> = { idp: "35", gateway: "36", api: "33", build: "90", bank: "34", brokerage: "32" };
// Next says each app is at http://127.0.0.1:…, where it listens; but its AUTH_URL says localhost, and a
// sign-in started at another host than AUTH_URL's fails (its cookies stay with that host). Relay the URL that works.
const appSources = new Set(["bank", "brokerage"]);
const forBrowsers = (source: string, line: string) =>
  appSources.has(source) ? line.replaceAll("http://127.0.0.1:", "http://localhost:") : line;
const prefix = (source: string) => `\x1b[${colours[source] ?? "33"}m${source.padEnd(9)}\x1b[0m`;
// Every line under its process's name, with no code, state, token or cookie value in it (demo/scripts/output.ts).
const log = (source: string, text: string) => {
  for (const line of demoLines(source, forBrowsers(source, text), { prefix, format: settings.DEMO_LOG })) console.log(line);
};

const fail = (what: string, error: unknown): never => {
  console.error(`\nThe demo could not ${what}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
};

// LOCKSTEP_NATIVE_REDIS=1 (with REDIS_URL): the Node variant, the guard in the Node runtime on REDIS_URL.
const runtime = settings.REDIS_URL && process.env.LOCKSTEP_NATIVE_REDIS === "1" ? "nodejs" : "edge";
console.log(`Building Lockstep (next build, GUARD_RUNTIME=${runtime}, about a minute on a small machine)...`);
await buildApp((line) => log("build", line), runtime).catch((error: unknown) => fail("build the app", error));

const brokerageNoPush = settings.DEMO_BROKERAGE_PUSH === "off";
// The demo's Shared Signals admin (/admin/ssf on each app that receives Shared Signals): alice.
const ssfAdmin = demoUsers.find((u) => u.username === "alice")!;
const stack = await startStack({
  redisUrl: settings.REDIS_URL,
  nativeRedis: runtime === "nodejs",
  idpPort: settings.DEMO_IDP_PORT,
  gatewayPort: settings.DEMO_GATEWAY_PORT,
  // The demo resource server (demo/api/) on a free loopback port, through each app's /api/remote proxy:
  // the Bank's statements (a user's bearer JWT), market quotes (no token), bank-wide report (the app's
  // own token, fetched by its server) and headlines (a user's token when signed in), and the
  // Brokerage's portfolio (DPoP-bound).
  resourceServer: true,
  apps: [
    {
      appId: "bank",
      name: "Lockstep Bank",
      clientId: "lockstep-bank",
      clientSecret: "bank-demo-secret-change-me",
      port: settings.DEMO_APP_PORT,
      env: { APP_ACCENT: "#4338ca", ADMIN_SUBS: ssfAdmin.sub },
      ssf: "push",
      remoteApis: { statements: "statements", market: "market", reports: "reports", news: "news" },
    },
    {
      appId: "brokerage",
      name: "Lockstep Brokerage",
      clientId: "lockstep-brokerage",
      clientSecret: "brokerage-demo-secret-change-me",
      port: settings.DEMO_SECOND_APP_PORT,
      remoteApis: { portfolio: "portfolio" },
      ...(brokerageNoPush
        ? {
            registration: { backchannelLogout: false, frontchannelLogout: false },
            env: {
              APP_ACCENT: "#047857",
              LIVENESS: "on",
              LIVENESS_INTERVAL_SECONDS: String(settings.DEMO_LIVENESS_INTERVAL_SECONDS),
              // On localhost the IdP's check_session_iframe would see a sign-out there first.
              SESSION_MANAGEMENT: "off",
            },
          }
        : { env: { APP_ACCENT: "#047857", ADMIN_SUBS: ssfAdmin.sub }, ssf: "push" as const }),
    },
  ],
  log,
}).catch((error: unknown) => fail("start (it stopped everything it had started)", error));

const ssfAdminPages = stack.apps
  .filter((a) => a.ssf)
  .map((a) => `${a.url}/admin/ssf`)
  .join(", ");
console.log(`
  Lockstep demo is running: ${stack.apps.map((a) => `${a.name} at ${a.url}`).join(", ")}
  Sign in to one; the other needs no password (single sign-on). Sign out anywhere, and every tab follows.

  Identity provider  ${stack.issuer}
  Resource server    ${stack.resourceServer?.url ?? "off"} (the Bank's statements, quotes, report and headlines; the Brokerage's DPoP-bound portfolio)
  Redis gateway      ${stack.gatewayUrl} (${settings.REDIS_URL ? "real Redis at REDIS_URL" : "embedded store: demo only, nothing is kept"})
  IdP admin page     ${stack.issuer}/admin (end a user's sessions; send Shared Signals events)
  SSF admin pages    ${ssfAdminPages} (each app's Shared Signals stream: sign in as ${ssfAdmin.username})${
    brokerageNoPush
      ? `\n  Lockstep Brokerage has no push registered (DEMO_BROKERAGE_PUSH=off): it learns of a sign-out at the IdP\n                     only by re-checking every ${settings.DEMO_LIVENESS_INTERVAL_SECONDS} s (liveness).`
      : ""
  }
  Test users         ${demoUsers.map((u) => `${u.username} / ${u.password}`).join(",  ")}

  Press Ctrl-C to stop everything.
`);

let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping the demo...");
  await stack.stop();
  process.exit(code);
};
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
// An app that dies later takes the demo down with it, rather than leaving half a demo running.
for (const app of stack.apps) {
  app.process.once("exit", (code, signal) => {
    // A Ctrl-C in the terminal reaches the apps too; give our own SIGINT handler a moment to run first.
    setTimeout(() => {
      if (stopping) return;
      console.error(`\n${app.name} exited (${code ?? signal}); stopping the demo.`);
      void shutdown(1);
    }, 250);
  });
}
