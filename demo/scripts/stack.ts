import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis as IORedis } from "ioredis";
import { startGateway } from "@lockstep/gateway/server";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";

/**
 * Starts the whole system on loopback: the Redis gateway (in front of a real Redis, or its
 * embedded store), the demo IdP and one or more Lockstep apps (`next start` on the last build).
 * Used by `npm run demo`, the integration tests and `npm run bench`, so all three run the same thing.
 */

/** The template's root: the Next.js app that `next build` and `next start` run, and `scripts/ssf.ts`. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** tsx's CLI as npm installed it for this package (hoisted or not). */
const tsxCli = createRequire(import.meta.url).resolve("tsx/cli");

export type AppSpec = {
  appId: string;
  name: string;
  clientId: string;
  clientSecret: string;
  port?: number;
  env?: Record<string, string>;
  /** How the demo IdP registers this app (e.g. `{ backchannelLogout: false }`). */
  registration?: Partial<Pick<DemoClient, "backchannelLogout" | "frontchannelLogout">>;
  /** Receive Shared Signals from the demo IdP's transmitter: the stream is registered and verified at start. */
  ssf?: "push" | "poll";
};

export type StackOptions = {
  /** A real Redis behind the gateway; without it the gateway uses its embedded store. */
  redisUrl?: string;
  apps: AppSpec[];
  idpPort?: number;
  gatewayPort?: number;
  /** Every key the apps write starts with this; `stop()` deletes them when a real Redis is used. */
  keyPrefix?: string;
  accessTokenTtlSeconds?: number;
  /** Where the processes' output goes. */
  log?: (source: string, line: string) => void;
  env?: Record<string, string>;
};

export type RunningApp = AppSpec & { url: string; port: number; process: ChildProcess; stop(): Promise<void> };

export type Stack = {
  issuer: string;
  idp: RunningIdp;
  gatewayUrl: string;
  gatewayToken: string;
  keyPrefix: string;
  apps: RunningApp[];
  /** Runs `npm run ssf -- <args>` with an app's settings; resolves with its output, rejects on failure. */
  runSsf(app: RunningApp, ...args: string[]): Promise<string>;
  /** Another server instance of an app: same settings and secret, its own port, the same Redis. */
  addInstance(app: RunningApp): Promise<RunningApp>;
  /** Stops the gateway (the apps then see Redis as down) and starts it again on the same port. */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
  stop(): Promise<void>;
};

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function pipeLines(child: ChildProcess, source: string, log: (source: string, line: string) => void) {
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = "";
    stream?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) log(source, line);
    });
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => {});
  const keyPrefix = options.keyPrefix ?? "ls:";
  const gatewayToken = randomBytes(24).toString("base64url");
  const gatewayPort = options.gatewayPort ?? (await freePort());
  const idpPort = options.idpPort ?? (await freePort());
  const apps = await Promise.all(
    options.apps.map(async (spec) => ({
      ...spec,
      port: spec.port ?? (await freePort()),
      ssfToken: spec.ssf ? randomBytes(24).toString("base64url") : undefined,
    })),
  );

  let gateway = await startGateway({ port: gatewayPort, token: gatewayToken, redisUrl: options.redisUrl, log: (l) => log("gateway", l) });
  const clients: DemoClient[] = apps.map((a) => ({
    clientId: a.clientId,
    clientSecret: a.clientSecret,
    appUrl: `http://localhost:${a.port}`,
    name: a.name,
    // oidc-provider puts `sid` in ID tokens only for clients registered with this.
    backchannelSessionRequired: true,
    ssfManagementToken: a.ssfToken,
    ...a.registration,
  }));
  const idp = await startIdp({
    port: idpPort,
    clients,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds,
    log: (l) => log("idp", l),
  });

  const running: RunningApp[] = [];
  const stopAll = async () => {
    await Promise.all(running.map((a) => a.stop()));
    await idp.close();
    await gateway.close();
  };

  const launch = async (app: AppSpec & { port: number }, env: Record<string, string>): Promise<RunningApp> => {
    const child = spawn(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "start", "-p", String(app.port), "-H", "127.0.0.1"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", ...env },
    });
    pipeLines(child, app.appId, log);
    const url = `http://localhost:${app.port}`;
    const entry: RunningApp = { ...app, url, env, process: child, stop: () => stopChild(child) };
    running.push(entry);
    await waitFor(`${url}/api/health`, child, 60_000);
    return entry;
  };

  const runSsf = (app: RunningApp, ...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [tsxCli, "scripts/ssf.ts", ...args], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...app.env },
      });
      let output = "";
      child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.once("exit", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(output);
        else reject(new Error(`npm run ssf -- ${args.join(" ")} failed (${code}):\n${output}`));
      });
    });

  try {
    for (const app of apps) {
      const ssfEnv: Record<string, string> = app.ssf
        ? {
            SSF_ISSUER: idp.issuer,
            SSF_DELIVERY: app.ssf,
            SSF_MANAGEMENT_TOKEN: app.ssfToken!,
            SSF_PUSH_AUTHORIZATION: `Bearer ${randomBytes(24).toString("base64url")}`,
            CRON_SECRET: randomBytes(24).toString("base64url"),
          }
        : {};
      const started = await launch(app, {
        AUTH_SECRET: randomBytes(32).toString("base64url"),
        AUTH_URL: `http://localhost:${app.port}`,
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: app.clientId,
        OIDC_CLIENT_SECRET: app.clientSecret,
        UPSTASH_REDIS_REST_URL: gateway.url,
        UPSTASH_REDIS_REST_TOKEN: gatewayToken,
        LOCKSTEP_KEY_PREFIX: keyPrefix,
        APP_ID: app.appId,
        APP_NAME: app.name,
        ...ssfEnv,
        ...options.env,
        ...app.env,
      });
      if (app.ssf) log(app.appId, (await runSsf(started, "register")).trim());
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    issuer: idp.issuer,
    idp,
    gatewayUrl: gateway.url,
    gatewayToken,
    keyPrefix,
    apps: running,
    runSsf,
    async addInstance(app) {
      return launch({ ...app, port: await freePort() }, app.env ?? {});
    },
    async stopGateway() {
      await gateway.close();
    },
    async startGateway() {
      gateway = await startGateway({ port: gatewayPort, token: gatewayToken, redisUrl: options.redisUrl, log: (l) => log("gateway", l) });
    },
    async stop() {
      await stopAll();
      if (options.redisUrl && keyPrefix !== "ls:") await deleteByPrefix(options.redisUrl, keyPrefix);
    },
  };
}

/** Removes every key under a test's own prefix. */
export async function deleteByPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new IORedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      cursor = next;
      if (found.length) await redis.del(...found);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** `next build`, for the integration tests and the benchmark. */
export function buildApp(log: (line: string) => void = () => {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    });
    const output: string[] = [];
    pipeLines(child, "build", (_s, line) => {
      output.push(line);
      log(line);
    });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`next build failed (exit ${code}):\n${output.slice(-40).join("\n")}`)),
    );
  });
}
