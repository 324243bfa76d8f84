import { z } from "zod";
import { buildApp, startStack } from "./stack";
import { demoUsers } from "../idp/users";

/**
 * `npm run demo`: builds the app, then starts the demo IdP, the Redis gateway and Lockstep on
 * localhost. No account anywhere and no Redis needed (set REDIS_URL to use a real one).
 */
const env = z
  .object({
    REDIS_URL: z.url().optional(),
    DEMO_APP_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    DEMO_SECOND_APP_PORT: z.coerce.number().int().min(1).max(65535).default(3001),
    DEMO_IDP_PORT: z.coerce.number().int().min(1).max(65535).default(4000),
    DEMO_GATEWAY_PORT: z.coerce.number().int().min(1).max(65535).default(8079),
  })
  .safeParse(process.env);
if (!env.success) {
  console.error(`Invalid demo settings: ${[...new Set(env.error.issues.map((i) => String(i.path[0])))].join(", ")}`);
  process.exit(1);
}
const settings = env.data;

const colours: Record<string, string> = { idp: "35", gateway: "36", build: "90", bank: "34", brokerage: "32" };
const log = (source: string, line: string) => console.log(`\x1b[${colours[source] ?? "33"}m${source.padEnd(8)}\x1b[0m ${line}`);

console.log("Building Lockstep (next build, about a minute on a small machine)...");
await buildApp((line) => log("build", line));

const stack = await startStack({
  redisUrl: settings.REDIS_URL,
  idpPort: settings.DEMO_IDP_PORT,
  gatewayPort: settings.DEMO_GATEWAY_PORT,
  apps: [
    {
      appId: "bank",
      name: "Lockstep Bank",
      clientId: "lockstep-bank",
      clientSecret: "bank-demo-secret-change-me",
      port: settings.DEMO_APP_PORT,
      env: { APP_ACCENT: "#4338ca" },
      ssf: "push",
    },
    {
      appId: "brokerage",
      name: "Lockstep Brokerage",
      clientId: "lockstep-brokerage",
      clientSecret: "brokerage-demo-secret-change-me",
      port: settings.DEMO_SECOND_APP_PORT,
      env: { APP_ACCENT: "#047857" },
      ssf: "push",
    },
  ],
  log,
});

console.log(`
  Lockstep demo is running: ${stack.apps.map((a) => `${a.name} at ${a.url}`).join(", ")}
  Sign in to one; the other needs no password (single sign-on). Sign out anywhere, and every tab follows.

  Identity provider  ${stack.issuer}
  Redis gateway      ${stack.gatewayUrl} (${settings.REDIS_URL ? "real Redis at REDIS_URL" : "embedded store: demo only, nothing is kept"})
  IdP admin page     ${stack.issuer}/admin (end a user's sessions; send Shared Signals events)
  Test users         ${demoUsers.map((u) => `${u.username} / ${u.password}`).join(",  ")}

  Press Ctrl-C to stop everything.
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping the demo...");
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
