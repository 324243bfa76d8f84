import type { ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";
import { z } from "zod";
import { demoLines } from "./output";
import { busyPorts, describeBusy, nodeCheck, root, type PortClaim } from "./preflight";

/**
 * `npm run dev`: the development loop. Starts what the app needs (the demo IdP, the Redis gateway on
 * its embedded store or in front of REDIS_URL) and the app itself with `next dev` (hot reload), or both
 * demo apps with `--both`. The app's settings live in `.env.development.local` (gitignored; Next.js
 * loads it), generated on the first run and reused after. Whatever that file points elsewhere (an
 * OIDC_ISSUER or UPSTASH_REDIS_REST_URL that is not on this machine) is used as it is and not started.
 * With every setting pointing elsewhere, plain `next dev` (`npm run dev:app`) is all you need.
 */

const FILE_NAME = ".env.development.local";
const file = path.join(root, FILE_NAME);

const usage = `Usage: npm run dev [-- --both]

  --both   also start the second demo app (Lockstep Brokerage) on DEMO_SECOND_APP_PORT (default 3001)

Settings: ${FILE_NAME} (generated on the first run). Ports on the first run, or to move one later:
DEMO_APP_PORT (3000), DEMO_IDP_PORT (4000), DEMO_GATEWAY_PORT (8079). REDIS_URL: a real Redis behind the gateway.`;

const args = process.argv.slice(2);
for (const arg of args) {
  if (arg === "--help" || arg === "-h") {
    console.log(usage);
    process.exit(0);
  }
  if (arg !== "--both") {
    console.error(`Unknown option ${arg}.\n\n${usage}`);
    process.exit(1);
  }
}

const port = z.coerce.number().int().min(1).max(65535);
const parsedEnv = z
  .object({
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    DEMO_APP_PORT: port.optional(),
    DEMO_SECOND_APP_PORT: port.optional(),
    DEMO_IDP_PORT: port.optional(),
    DEMO_GATEWAY_PORT: port.optional(),
    DEV_BOTH: z.enum(["true", "false", "1", "0"]).optional(),
    // The app's security log: one short line per event, or `json` as the app writes it.
    DEMO_LOG: z.enum(["short", "json"]).default("short"),
  })
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== "")));
if (!parsedEnv.success) {
  console.error(`Invalid settings: ${[...new Set(parsedEnv.error.issues.map((i) => String(i.path[0])))].join(", ")}`);
  process.exit(1);
}
const env = parsedEnv.data;
const both = args.includes("--both") || env.DEV_BOTH === "true" || env.DEV_BOTH === "1";

const node = nodeCheck();
if (node && "error" in node) {
  console.error(node.error);
  process.exit(1);
}

// --- The settings file -----------------------------------------------------------------------------

const secret = (bytes: number) => randomBytes(bytes).toString("base64url");

/** What a first run writes: the demo IdP, the gateway and the app, all on this machine. */
function generated(): string {
  const appPort = env.DEMO_APP_PORT ?? 3000;
  return `# Written by \`npm run dev\` (demo/scripts/dev.ts) on its first run; Next.js loads it in development only.
# Gitignored: it holds secrets. Delete it to start over; edit it to point the app elsewhere (see docs/develop.md).
# \`npm run dev\` starts the demo IdP when OIDC_ISSUER is on localhost, and the gateway when
# UPSTASH_REDIS_REST_URL is; anything else is used as it is. Settings not listed here: see .env.example.

# Encrypts the session cookie.
AUTH_SECRET=${secret(32)}
AUTH_URL=http://localhost:${appPort}

# The demo IdP: npm run dev registers this client there on every start.
OIDC_ISSUER=http://localhost:${env.DEMO_IDP_PORT ?? 4000}
OIDC_CLIENT_ID=lockstep-dev
OIDC_CLIENT_SECRET=${secret(24)}

# The Redis gateway npm run dev starts (embedded store, or REDIS_URL when that is set).
UPSTASH_REDIS_REST_URL=http://127.0.0.1:${env.DEMO_GATEWAY_PORT ?? 8079}
UPSTASH_REDIS_REST_TOKEN=${secret(24)}
`;
}

/** Sets KEY=value in the file's text: replaces its line, or appends one. */
function setLine(text: string, key: string, value: string): string {
  const line = new RegExp(`^${key}=.*$`, "m");
  return line.test(text) ? text.replace(line, `${key}=${value}`) : `${text.replace(/\n?$/, "\n")}${key}=${value}\n`;
}

const isLoopback = (url: URL) => ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
const portOf = (url: URL) => Number(url.port || (url.protocol === "https:" ? 443 : 80));

const existed = existsSync(file);
let text = existed ? readFileSync(file, "utf8") : generated();
const notes: string[] = [];

if (existed) {
  // A DEMO_*_PORT given now moves that service: its URL in the file follows (only URLs on this machine).
  const moves: [key: string, port: number | undefined, variable: string][] = [
    ["AUTH_URL", env.DEMO_APP_PORT, "DEMO_APP_PORT"],
    ["OIDC_ISSUER", env.DEMO_IDP_PORT, "DEMO_IDP_PORT"],
    ["UPSTASH_REDIS_REST_URL", env.DEMO_GATEWAY_PORT, "DEMO_GATEWAY_PORT"],
  ];
  const current = parseEnv(text);
  for (const [key, moved, variable] of moves) {
    const value = current[key];
    if (moved === undefined || !value || !URL.canParse(value)) continue;
    const url = new URL(value);
    if (!isLoopback(url) || portOf(url) === moved) continue;
    url.port = String(moved);
    const next = url.href.replace(/\/$/, value.endsWith("/") ? "/" : "");
    text = setLine(text, key, next);
    notes.push(`${variable}=${moved}: ${key} is now ${next}.`);
  }
  // Keys a hand edit removed come back (secrets newly generated), so the app still starts.
  const defaults = parseEnv(generated());
  for (const key of [
    "AUTH_SECRET",
    "AUTH_URL",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "UPSTASH_REDIS_REST_URL",
    "UPSTASH_REDIS_REST_TOKEN",
  ]) {
    if (!current[key]) {
      text = setLine(text, key, defaults[key]!);
      notes.push(`${key} was missing: added.`);
    }
  }
}

const fileSettings = parseEnv(text);
// Next.js lets the environment win over its env files; so does this script.
const setting = (key: string): string | undefined => process.env[key] || fileSettings[key] || undefined;

function loopbackUrl(key: string): URL | undefined {
  const value = setting(key);
  if (!value || !URL.canParse(value)) {
    console.error(`${key} in ${FILE_NAME} is not a URL. Fix it, or delete the file to start over.`);
    process.exit(1);
  }
  const url = new URL(value);
  return isLoopback(url) && url.protocol === "http:" ? url : undefined;
}

const appUrl = loopbackUrl("AUTH_URL");
if (!appUrl) {
  console.error(`AUTH_URL must be an http://localhost URL for npm run dev (it is where next dev listens). Fix it in ${FILE_NAME}.`);
  process.exit(1);
}
const issuerUrl = loopbackUrl("OIDC_ISSUER");
const gatewayUrl = loopbackUrl("UPSTASH_REDIS_REST_URL");
const appPort = portOf(appUrl);
const secondPort = env.DEMO_SECOND_APP_PORT ?? 3001;
if (both && !issuerUrl) {
  console.error(`--both needs the demo IdP (it registers the second app there), but OIDC_ISSUER points at ${setting("OIDC_ISSUER")}.`);
  process.exit(1);
}

// --- Preflight: every port before anything starts -------------------------------------------------

const claims: PortClaim[] = [{ port: appPort, what: "the app, AUTH_URL", variable: "DEMO_APP_PORT" }];
if (both) claims.push({ port: secondPort, what: "the second app", variable: "DEMO_SECOND_APP_PORT" });
if (issuerUrl) claims.push({ port: portOf(issuerUrl), what: "the demo IdP, OIDC_ISSUER", variable: "DEMO_IDP_PORT" });
if (gatewayUrl) claims.push({ port: portOf(gatewayUrl), what: "the Redis gateway, UPSTASH_REDIS_REST_URL", variable: "DEMO_GATEWAY_PORT" });
const busy = await busyPorts(claims);
if (busy.length > 0) {
  for (const line of describeBusy(busy)) console.error(line);
  if (existed) console.error(`(npm run dev then moves that URL in ${FILE_NAME} for good.)`);
  process.exit(1);
}

if (!existed) {
  writeFileSync(file, text, { mode: 0o600 });
  console.log(`Wrote ${FILE_NAME} with new settings (a new AUTH_SECRET, client secret and gateway token). Later runs reuse it.`);
} else {
  if (notes.length > 0) writeFileSync(file, text);
  console.log(`Using the settings in ${FILE_NAME} (delete it to start over).${notes.map((n) => `\n  ${n}`).join("")}`);
}

// --- Start -------------------------------------------------------------------------------------------

if (node) console.log(node.notice);
// Imported only now: oidc-provider prints its runtime warning when it is loaded, and the checks above stay quick.
const { startNext, demoClient, stopChild } = await import("./stack");
const { startIdp } = await import("../idp/provider");
const { startGateway } = await import("@lockstep/gateway/server");
const { demoUsers } = await import("../idp/users");

const colours: Record<string, string> = { idp: "35", gateway: "36", app: "34", second: "32" };
const prefix = (source: string) => `\x1b[${colours[source] ?? "33"}m${source.padEnd(8)}\x1b[0m`;
// Every line under its process's name, with no code, state, token or cookie value in it (demo/scripts/output.ts).
const log = (source: string, text: string) => {
  for (const line of demoLines(source, text, { prefix, format: env.DEMO_LOG })) console.log(line);
};

type Stoppable = { name: string; stop(): Promise<void> };
const started: Stoppable[] = [];
const apps: { name: string; url: string; process: ChildProcess }[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\nStopping everything npm run dev started...");
    // Apps first, then the IdP and the gateway they use.
    for (const part of [...started].reverse()) {
      await part.stop().catch((error: unknown) => console.error(`${part.name}: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

const fail = (what: string, error: unknown) => {
  console.error(`\nnpm run dev could not start ${what}: ${error instanceof Error ? error.message : String(error)}`);
  return stopAll(1);
};

const redisUrl = env.REDIS_URL ?? fileSettings.REDIS_URL;
if (gatewayUrl) {
  const gateway = await startGateway({
    host: gatewayUrl.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: portOf(gatewayUrl),
    token: setting("UPSTASH_REDIS_REST_TOKEN")!,
    redisUrl,
    // The apps' prefix (LOCKSTEP_KEY_PREFIX, default "ls:"): the gateway serves their keys and no others.
    keyPrefix: setting("LOCKSTEP_KEY_PREFIX") ?? "ls:",
    log: (line) => log("gateway", line),
  }).catch((error: unknown) => fail("the Redis gateway", error));
  started.push({ name: "gateway", stop: () => gateway.close() });
}

const first = {
  appId: setting("APP_ID") ?? "lockstep",
  name: setting("APP_NAME") ?? "Lockstep",
  clientId: setting("OIDC_CLIENT_ID")!,
  clientSecret: setting("OIDC_CLIENT_SECRET")!,
};
const second = {
  appId: "brokerage",
  name: "Lockstep Brokerage",
  clientId: "lockstep-dev-brokerage",
  // The IdP forgets its clients when it stops, so a new secret each run is enough.
  clientSecret: secret(24),
};
const secondUrl = `http://localhost:${secondPort}`;

if (issuerUrl) {
  const idp = await startIdp({
    port: portOf(issuerUrl),
    publicHost: issuerUrl.hostname,
    clients: [demoClient(first, appUrl.origin), ...(both ? [demoClient(second, secondUrl)] : [])],
    log: (line) => log("idp", line),
  }).catch((error: unknown) => fail("the demo IdP", error));
  started.push({ name: "idp", stop: () => idp.close() });
  if (idp.issuer !== setting("OIDC_ISSUER")) {
    await fail(
      "the demo IdP",
      new Error(`its issuer is ${idp.issuer}, but OIDC_ISSUER is ${setting("OIDC_ISSUER")} (they must match exactly)`),
    );
  }
}

async function launch(source: string, name: string, port: number, overrides: Record<string, string>) {
  const next = await startNext({
    mode: "dev",
    port,
    env: overrides,
    source,
    log,
    // The first compile of the middleware and /api/health takes a while.
    timeoutMs: 180_000,
    onStarted: (spawned) => started.push({ name, stop: () => stopChild(spawned.process, true) }),
  }).catch((error: unknown) =>
    fail(
      name,
      source === "second"
        ? new Error(
            `${error instanceof Error ? error.message : String(error)} (two next dev servers need a distDir each: see docs/develop.md)`,
          )
        : error,
    ),
  );
  apps.push({ name, url: next.url, process: next.process });
}

console.log(`Starting next dev on ${appUrl.origin}${both ? ` and ${secondUrl}` : ""} (the first compile takes a moment)...`);
await launch("app", first.name, appPort, {});
if (both) {
  await launch("second", second.name, secondPort, {
    // The environment wins over the env file: these make the second process the Brokerage.
    AUTH_URL: secondUrl,
    AUTH_SECRET: createHmac("sha256", setting("AUTH_SECRET")!).update("lockstep-dev-second-app").digest("base64url"),
    APP_ID: second.appId,
    APP_NAME: second.name,
    APP_ACCENT: "#047857",
    OIDC_CLIENT_ID: second.clientId,
    OIDC_CLIENT_SECRET: second.clientSecret,
    // Each next dev needs its own build directory (next.config.ts reads this).
    LOCKSTEP_DIST_DIR: ".next/second",
  });
}

for (const app of apps) {
  app.process.once("exit", (code, signal) => {
    setTimeout(() => {
      if (stopping) return;
      console.error(`\n${app.name} (next dev) exited (${code ?? signal}).`);
      void stopAll(1);
    }, 250);
  });
}

console.log(`
  Lockstep dev is running: ${apps.map((a) => `${a.name} at ${a.url}`).join(", ")} (next dev: edits reload)
  Settings           ${FILE_NAME}
  Identity provider  ${issuerUrl ? `${setting("OIDC_ISSUER")} (demo IdP; admin page at /admin)` : `${setting("OIDC_ISSUER")} (yours: not started here)`}
  Redis              ${gatewayUrl ? `gateway at ${gatewayUrl.origin} (${redisUrl ? "in front of REDIS_URL" : "embedded store: nothing is kept"})` : `${setting("UPSTASH_REDIS_REST_URL")} (yours: not started here)`}${
    issuerUrl ? `\n  Test users         ${demoUsers.map((u) => `${u.username} / ${u.password}`).join(",  ")}` : ""
  }

  Press Ctrl-C to stop everything.
`);
