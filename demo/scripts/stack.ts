import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import net from "node:net";
import { startGateway } from "@lockstep/gateway/server";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { startResourceServer, type DemoMountName, type RunningResourceServer } from "../api/server";
import { ssfRegisterLines } from "./output";
import { root } from "./preflight";
import { startNext, variantEnv, type GuardRuntime } from "../../tests/support/next-app";
import { freePort } from "../../tests/support/processes";
import { deleteByPrefix } from "../../tests/support/test-redis";

/**
 * Starts the whole system on loopback: the Redis gateway (in front of a real Redis, or its
 * embedded store), the demo IdP and one or more Lockstep apps (`next start` on the last build).
 * Used by `npm run demo`, the integration tests and `npm run bench`, so all three run the same thing;
 * `npm run dev` (dev.ts) runs the same pieces with `next dev`.
 */

export { root };
// The app-process helpers live with the template's tests (tests/support/), which keep them when demo/ is removed.
export { buildApp, distDirs, startNext, variantEnv, type GuardRuntime, type NextProcess } from "../../tests/support/next-app";
export { freePort, NONCE_HEADER, pipeLines, stopChild, waitForHealth } from "../../tests/support/processes";
export { deleteByPrefix } from "../../tests/support/test-redis";
/** tsx's CLI as npm installed it for this package (hoisted or not). */
const tsxCli = createRequire(import.meta.url).resolve("tsx/cli");

export type AppSpec = {
  appId: string;
  name: string;
  clientId: string;
  clientSecret: string;
  port?: number;
  env?: Record<string, string>;
  /**
   * How the demo IdP registers this app (e.g. `{ backchannelLogout: false }`, `{ idTokenClaims: false }`,
   * or `{ tokenEndpointAuthMethod: "private_key_jwt", jwks: { keys: [publicJwk] } }`).
   */
  registration?: Partial<
    Pick<
      DemoClient,
      | "backchannelLogout"
      | "frontchannelLogout"
      | "idTokenClaims"
      | "tokenEndpointAuthMethod"
      | "jwks"
      | "requirePushedAuthorizationRequests"
    >
  >;
  /**
   * The demo resource server's APIs this app calls through its proxy: API name (apis.ts) → demo resource
   * server mount, e.g. `{ statements: "statements", reports: "reports", news: "news", market: "market" }`.
   * The app gets them as REMOTE_API_URLS (`{"statements": "<rs>/statements", ...}`).
   */
  remoteApis?: Record<string, DemoMountName>;
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
  /**
   * The Node variant: the apps are the GUARD_RUNTIME=nodejs build (the guard in the Node runtime)
   * and reach `redisUrl` directly (REDIS_URL, lib/store/native.ts) for everything, guard included,
   * with no REST settings at all, as a Node deployment without the gateway would. Default: on when
   * LOCKSTEP_NATIVE_REDIS=1. Off (the edge variant), apps get REDIS_URL="" whatever this process's
   * environment holds, and reach Redis through the gateway.
   */
  nativeRedis?: boolean;
  /**
   * The Node variant on a Redis Cluster: the apps get these nodes as REDIS_CLUSTER_NODES (and no
   * REDIS_URL, no REST settings). The gateway still starts (on `redisUrl`), but nothing uses it, and
   * stopGateway() cannot cut a cluster's connections: it throws.
   */
  redisClusterNodes?: string[];
  /** RFC 9449 §8: the IdP's token endpoint demands its DPoP nonces (`use_dpop_nonce` first). Default false. */
  dpopRequireNonce?: boolean;
  /**
   * Start the demo resource server (demo/api/) on a free loopback port, with the stack's IdP as its
   * issuer; `{ requireDpopNonce: true }` makes it demand its own DPoP nonces (RFC 9449 §9). Default: on
   * when an app declares `remoteApis`.
   */
  resourceServer?: boolean | { requireDpopNonce?: boolean };
};

export type RunningApp = AppSpec & { url: string; port: number; process: ChildProcess; stop(): Promise<void> };

export type Stack = {
  issuer: string;
  idp: RunningIdp;
  /** The demo resource server, when started (StackOptions.resourceServer). */
  resourceServer?: RunningResourceServer;
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

/** How the demo IdP registers an app that runs at `appUrl`. */
export function demoClient(app: AppSpec, appUrl: string, ssfManagementToken?: string): DemoClient {
  return {
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    appUrl,
    name: app.name,
    // oidc-provider puts `sid` in ID tokens only for clients registered with this.
    backchannelSessionRequired: true,
    ssfManagementToken,
    ...app.registration,
  };
}

/** The settings an app needs to run against the demo IdP and the gateway. */
export function appSettings(
  app: AppSpec,
  port: number,
  services: { issuer: string; gatewayUrl: string; gatewayToken: string },
): Record<string, string> {
  return {
    AUTH_URL: `http://localhost:${port}`,
    OIDC_ISSUER: services.issuer,
    OIDC_CLIENT_ID: app.clientId,
    OIDC_CLIENT_SECRET: app.clientSecret,
    UPSTASH_REDIS_REST_URL: services.gatewayUrl,
    UPSTASH_REDIS_REST_TOKEN: services.gatewayToken,
    APP_ID: app.appId,
    APP_NAME: app.name,
  };
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

  // The gateway serves the apps' keys (their LOCKSTEP_KEY_PREFIX is keyPrefix) and no others.
  const openGateway = () =>
    startGateway({ port: gatewayPort, token: gatewayToken, redisUrl: options.redisUrl, keyPrefix, log: (l) => log("gateway", l) });
  let gateway = await openGateway();
  const cluster = options.redisClusterNodes;
  const nativeRedis = cluster !== undefined || (options.nativeRedis ?? process.env.LOCKSTEP_NATIVE_REDIS === "1");
  if (nativeRedis && !cluster && !options.redisUrl) throw new Error("nativeRedis needs a real Redis (redisUrl)");
  const runtime: GuardRuntime = nativeRedis ? "nodejs" : "edge";
  // The apps' native connection goes through a forwarder that stopGateway() cuts too, so "Redis is
  // down" means the same for both paths.
  let forwarder = nativeRedis && !cluster ? await startForwarder(options.redisUrl!, 0) : undefined;
  const appRedisUrl = forwarder ? forwarder.url : "";
  const clients: DemoClient[] = apps.map((a) => demoClient(a, `http://localhost:${a.port}`, a.ssfToken));
  const idp = await startIdp({
    port: idpPort,
    clients,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds,
    dpopRequireNonce: options.dpopRequireNonce,
    log: (l) => log("idp", l),
  });
  const callsApis = apps.some((a) => Object.keys(a.remoteApis ?? {}).length > 0);
  const rsOption = options.resourceServer ?? callsApis;
  if (!rsOption && callsApis) {
    await Promise.all([idp.close(), gateway.close(), forwarder?.close()]);
    throw new Error("an app declares remoteApis, but resourceServer is off");
  }
  let resourceServer: RunningResourceServer | undefined;
  if (rsOption) {
    resourceServer = await startResourceServer({
      issuer: idp.issuer,
      requireDpopNonce: typeof rsOption === "object" ? rsOption.requireDpopNonce : undefined,
      log: (l) => log("api", l),
    }).catch(async (error: unknown) => {
      await Promise.all([idp.close(), gateway.close(), forwarder?.close()]);
      throw error;
    });
  }
  /** REMOTE_API_URLS for an app: its APIs' base URLs on the demo resource server. */
  const remoteApiUrls = (app: AppSpec): Record<string, string> =>
    app.remoteApis && resourceServer
      ? {
          REMOTE_API_URLS: JSON.stringify(
            Object.fromEntries(Object.entries(app.remoteApis).map(([name, resource]) => [name, resourceServer.urlOf(resource)])),
          ),
        }
      : {};

  const running: RunningApp[] = [];
  const stopAll = async () => {
    await Promise.all(running.map((a) => a.stop()));
    await resourceServer?.close();
    await idp.close();
    await gateway.close();
    await forwarder?.close();
  };

  const launch = async (app: AppSpec & { port: number }, env: Record<string, string>): Promise<RunningApp> => {
    let entry: RunningApp | undefined;
    await startNext({
      mode: "start",
      port: app.port,
      env,
      source: app.appId,
      log,
      onStarted: (next) => {
        entry = { ...app, url: next.url, env, process: next.process, stop: next.stop };
        running.push(entry);
      },
    });
    return entry!;
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
        ...appSettings(app, app.port, { issuer: idp.issuer, gatewayUrl: gateway.url, gatewayToken }),
        LOCKSTEP_KEY_PREFIX: keyPrefix,
        REDIS_URL: appRedisUrl,
        REDIS_CLUSTER_NODES: cluster?.join(",") ?? "",
        ...variantEnv(runtime),
        // The Node variant needs no REST settings: nothing in it may reach the gateway.
        ...(nativeRedis ? { UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "" } : {}),
        ...ssfEnv,
        ...remoteApiUrls(app),
        ...options.env,
        ...app.env,
      });
      if (app.ssf) for (const line of ssfRegisterLines(await runSsf(started, "register"))) log(app.appId, line);
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    issuer: idp.issuer,
    idp,
    resourceServer,
    gatewayUrl: gateway.url,
    gatewayToken,
    keyPrefix,
    apps: running,
    runSsf,
    async addInstance(app) {
      return launch({ ...app, port: await freePort() }, app.env ?? {});
    },
    async stopGateway() {
      if (cluster) throw new Error("stopGateway: the stack cannot cut the apps' connections to a Redis Cluster");
      await gateway.close();
      await forwarder?.close();
    },
    async startGateway() {
      gateway = await openGateway();
      if (forwarder) forwarder = await startForwarder(options.redisUrl!, forwarder.port);
    },
    async stop() {
      await stopAll();
      // (On a cluster the keys stay: the test cluster is private to the run and removed with it.)
      if (options.redisUrl && !cluster && keyPrefix !== "ls:") await deleteByPrefix(options.redisUrl, keyPrefix);
    },
  };
}

/**
 * A loopback TCP forwarder to a redis:// server: the apps' REDIS_URL in native mode. close() refuses
 * new connections and cuts the open ones, as a Redis that went away would.
 */
async function startForwarder(redisUrl: string, port: number): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const target = new URL(redisUrl);
  if (target.protocol !== "redis:") throw new Error("nativeRedis: the stack forwards redis:// only (not TLS)");
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port: Number(target.port || 6379) });
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("error", drop).once("close", drop);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  const url = new URL(redisUrl);
  url.hostname = "127.0.0.1";
  url.port = String(bound);
  return {
    url: url.toString(),
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
