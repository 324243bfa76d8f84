import { getConfig, type Config } from "@/lib/config";
import { handlerClient } from "@/lib/store/upstash-client";
import { nodeRequester } from "@/lib/store/node-requester";
import { restWire, upstashStores } from "@/lib/store/upstash";
import { nativeStores } from "@/lib/store/native";
import { closeNativeClient, nativeClient } from "@/lib/store/native-client";
import { appKeys } from "@/lib/store/keys";
import type { Stores } from "@/lib/store/ports";
import { cookieNames } from "@/lib/session/cookies";
import { EndedSessionsHub } from "@/lib/live/hub";
import { StreamLimits } from "@/lib/live/limits";
import { PendingEndings } from "@/lib/revocation/pending";
import type { EndDeps } from "@/lib/revocation/end-sessions";
import type { CurrentSessionDeps } from "@/lib/session/current";
import type { RefreshDeps } from "@/lib/session/refresh";
import { refreshStaleClaims } from "@/lib/session/claims";
import { getIdpMetadata } from "@/lib/oidc/client";
import { securityLog } from "@/lib/log/security-log";
import { LivenessMonitor } from "@/lib/liveness/monitor";
import { checkWith } from "@/lib/liveness/check";
import { livenessPlan, type IdpLogoutMetadata, type LivenessPlan } from "@/lib/liveness/plan";
import apiDefinitions from "@/apis";
import { resolveApis } from "@/lib/api/registry";
import type { RemoteApiDeps } from "@/lib/api/proxy";
import { DpopKeys, NonceCache } from "@/lib/api/dpop";
import type { Agents } from "@/lib/api/upstream";
import { getOidcClient } from "@/lib/oidc/client";
import { hostOf, storeSetting } from "@/lib/startup/settings";
import type { StoreProbe } from "@/lib/startup/check";
import { tracedStores } from "@/lib/telemetry/stores";

/** Everything a route handler, server component or Auth.js callback needs, built once per process. */
export type Server = Stores & {
  config: Config;
  cookies: ReturnType<typeof cookieNames>;
  hub: EndedSessionsHub;
  /** The caps on open live-update streams (lib/live/limits.ts): one count per process. */
  liveStreams: StreamLimits;
  /** What endSessions needs; endings stored here reach this instance's tabs at once. */
  ending: EndDeps;
  /** What currentSession and requireSession need (the second gate). */
  gate: CurrentSessionDeps;
  /** What getAccessToken needs (server-side refresh). */
  refresh: RefreshDeps;
  /** The liveness plan for the IdP, from its discovery document (read once, retried while it fails). */
  livenessPlan: () => Promise<LivenessPlan>;
  /** Re-checks active sessions at the IdP where nothing pushes (lib/liveness/monitor.ts). */
  liveness: LivenessMonitor;
  /** The remote-API proxy and fetchApi (lib/api/): the declared APIs, their tokens, the upstream connections. */
  remote: RemoteApiDeps;
};

/**
 * Next bundles each route and page on its own, each with its own copy of this module: state that
 * must be one per process (the liveness monitor's pause, its memory of checks) lives on globalThis.
 */
const LIVENESS_MONITOR = Symbol.for("lockstep.liveness-monitor");
/**
 * The remote APIs' keep-alive agents and the resource servers' DPoP nonces: one set per process. (Not
 * the DPoP keys: their oauth4webapi handles are recognised only by the copy of oauth4webapi that made
 * them, and each route bundle has its own.)
 */
const REMOTE_API_RUNTIME = Symbol.for("lockstep.remote-api-runtime");
/** Endings waiting for the store: one queue per process, which every bundle's gate consults. */
const PENDING_ENDINGS = Symbol.for("lockstep.pending-endings");
/** The open live-update streams are counted once per process, however many bundles serve them. */
const STREAM_LIMITS = Symbol.for("lockstep.stream-limits");
function processWide<T>(key: symbol, make: () => T): T {
  const shared = globalThis as { [key: symbol]: unknown };
  return (shared[key] ??= make()) as T;
}

/** Builds a server from its stores (the Redis ones in production, the in-memory ones in unit tests). */
function composeServer(config: Config, stores: Stores): Server {
  const hub = new EndedSessionsHub(stores.revocations, config.LIVE_POLL_INTERVAL_MS);
  const cookies = cookieNames(config.APP_ID, config.AUTH_URL);
  const pending = processWide(PENDING_ENDINGS, () => new PendingEndings({ log: securityLog, maxAgeMs: config.SESSION_TTL_SECONDS * 1000 }));
  const ending: EndDeps = {
    sessions: stores.sessions,
    revocations: stores.revocations,
    now: Date.now,
    onEnded: (events) => hub.deliver(events),
    pending,
  };
  const refresh: RefreshDeps = { ending, skewSeconds: config.REFRESH_SKEW_SECONDS };
  const plan = async () => livenessPlan((await getIdpMetadata()) as IdpLogoutMetadata, config);
  const liveness = processWide(
    LIVENESS_MONITOR,
    () =>
      new LivenessMonitor({
        plan,
        sessions: stores.sessions,
        ending,
        check: (method, id, record, endAs) => checkWith({ refresh, now: Date.now }, method, id, record, endAs),
      }),
  );
  const gate: CurrentSessionDeps = {
    config,
    cookies,
    sessions: stores.sessions,
    revocations: stores.revocations,
    refreshClaims: (id, record) => refreshStaleClaims(refresh, id, record),
    liveness: (id) => liveness.checkIfDue(id),
    pendingEnd: (handle) => pending.covers(handle),
  };
  const liveStreams = processWide(STREAM_LIMITS, () => new StreamLimits(() => config.LIVE_MAX_STREAMS));
  const runtime = processWide(REMOTE_API_RUNTIME, () => ({ agents: new Map() as Agents, nonces: new NonceCache() }));
  const remote: RemoteApiDeps = {
    // Throws, naming the API and the setting, for a bad REMOTE_API_URLS or apis.ts: at start-up (instrumentation.ts builds the server).
    apis: resolveApis(apiDefinitions, config.REMOTE_API_URLS),
    gate,
    appUrl: config.AUTH_URL,
    log: securityLog,
    agents: runtime.agents,
    nonces: runtime.nonces,
    tokens: { refresh, idp: async () => ({ as: await getIdpMetadata(), ...getOidcClient() }), dpop: new DpopKeys(), log: securityLog },
    limits: {
      maxRequestBytes: config.REMOTE_API_MAX_REQUEST_BYTES,
      maxResponseBytes: config.REMOTE_API_MAX_RESPONSE_BYTES,
      timeoutMs: config.REMOTE_API_TIMEOUT_MS,
      totalTimeoutMs: config.REMOTE_API_TOTAL_TIMEOUT_MS,
    },
  };
  return {
    ...stores,
    config,
    cookies,
    hub,
    liveStreams,
    ending,
    refresh,
    livenessPlan: plan,
    liveness,
    gate,
    remote,
  };
}

let server: Server | undefined;

/**
 * The Node runtime's stores: with REDIS_URL (or REDIS_CLUSTER_NODES), a native connection (ioredis, one per process); without
 * it, REST through @upstash/redis (Upstash, or the gateway), its requests sent with `node:http`
 * rather than Next's patched `fetch`. Same keys either way, so the edge guard, which always uses
 * REST, sees what the handlers write.
 */
function nodeStores(config: Config): Stores {
  const keys = appKeys(config.LOCKSTEP_KEY_PREFIX, config.APP_ID);
  if (config.REDIS_URL || config.REDIS_CLUSTER_NODES) return nativeStores(nativeClient(config), keys, config.SESSION_TTL_SECONDS);
  return upstashStores(handlerClient(config, nodeRequester), keys, config.SESSION_TTL_SECONDS);
}

/** The composition root of the Node runtime: the one place that reads the configuration and picks the stores. */
export function getServer(): Server {
  if (!server) {
    const config = getConfig();
    server = composeServer(config, tracedStores(nodeStores(config)));
  }
  return server;
}

/** Lets a CLI script (scripts/ssf.ts) exit: closes the native Redis connection, if one was opened. */
export async function closeServer(): Promise<void> {
  await closeNativeClient();
}

/**
 * Logs the liveness plan once (OpenID Connect Discovery 1.0 §3: chosen from what the IdP's discovery
 * document offers): on or off and why, the interval and the methods in order. An IdP that cannot be
 * read is logged with the setting to look at; the monitor asks again later.
 */
export function announceLivenessPlan(): void {
  getServer()
    .livenessPlan()
    .then(
      (plan) =>
        securityLog({
          event: "liveness.plan",
          outcome: "ok",
          code: plan.because,
          enabled: plan.enabled,
          interval_s: plan.intervalSeconds,
          methods: plan.methods.join(",") || "none",
        }),
      () => securityLog({ event: "liveness.plan", outcome: "error", code: "discovery_unavailable", setting: "OIDC_ISSUER" }),
    );
}

/**
 * The stores to probe at start-up (lib/startup/check.ts): the Node runtime's (native or REST) and, with
 * the edge guard beside a native connection, the REST endpoint the guard uses on every request.
 */
export function storeProbes(config: Config = getConfig()): StoreProbe[] {
  const probes: StoreProbe[] = [];
  const setting = storeSetting(config);
  // A read of a key of the app's own (never written): the gateway allows only Lockstep's commands, PING not among them.
  const probeKey = `${config.LOCKSTEP_KEY_PREFIX}${config.APP_ID}:startup-probe`;
  const native = Boolean(config.REDIS_URL || config.REDIS_CLUSTER_NODES);
  if (native) {
    const hosts = config.REDIS_CLUSTER_NODES?.map(hostOf).join(",") ?? hostOf(config.REDIS_URL);
    probes.push({ setting, host: hosts, read: () => nativeClient(config).exists(probeKey) });
  }
  const restUsed = !native || config.GUARD_RUNTIME === "edge";
  if (restUsed && config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    const rest = restWire(handlerClient(config, nodeRequester));
    probes.push({
      setting: "UPSTASH_REDIS_REST_URL",
      host: hostOf(config.UPSTASH_REDIS_REST_URL),
      read: () => rest.send(["exists", probeKey]),
    });
  }
  return probes;
}
