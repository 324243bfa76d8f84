import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Config } from "@/lib/config";
import type { NativeClient } from "./native";

type ClientConfig = Pick<Config, "REDIS_URL" | "REDIS_CLUSTER_NODES">;

/** How long a handler waits for one Redis command (or for a connection) before answering 503. */
export const NATIVE_COMMAND_TIMEOUT_MS = 2_000;
export const NATIVE_CONNECT_TIMEOUT_MS = 2_000;
/** The reconnect back-off's cap: 50 ms, 100 ms, … at most this. */
export const NATIVE_RECONNECT_CAP_MS = 1_000;

const SLOT = Symbol.for("lockstep.nativeRedis");
type Slot = { url: string; client: NativeClient };
const holder = globalThis as typeof globalThis & { [SLOT]?: Slot };

/**
 * The process's one native Redis connection (ioredis), for route handlers, server components and
 * Auth.js callbacks when REDIS_URL (one server) or REDIS_CLUSTER_NODES (a Redis Cluster) is set.
 * Created once per process, kept on globalThis so that
 * every bundle chunk that holds a copy of this module (and `next dev`'s reloads) shares it.
 *
 * Fail fast rather than queue: a command waits at most NATIVE_COMMAND_TIMEOUT_MS, and while the
 * connection is down a command is failed at the next reconnect attempt (maxRetriesPerRequest: 0)
 * instead of waiting for Redis to come back, so a handler answers 503 and a signal's sender retries.
 * Reconnects go on forever with a capped back-off. The offline queue stays on so that the first
 * requests of a process wait for the (lazy) first connection instead of failing.
 */
export function nativeClient(config: ClientConfig): NativeClient {
  const nodes = config.REDIS_CLUSTER_NODES;
  const url = nodes ? `cluster:${nodes.join(",")}` : config.REDIS_URL;
  if (!url) throw new TypeError("nativeClient needs REDIS_URL or REDIS_CLUSTER_NODES.");
  const existing = holder[SLOT];
  if (existing) {
    if (existing.url !== url) throw new TypeError("This process already holds a native Redis connection to another Redis.");
    return existing.client;
  }
  const client = nodes ? createNativeClusterClient(nodes) : createNativeClient(url);
  holder[SLOT] = { url, client };
  return client;
}

/** A new client with the options above (tests make their own; the app uses nativeClient). */
export function createNativeClient(url: string): Redis {
  const client = new Redis(url, {
    ...connectionOptions,
    lazyConnect: true,
    retryStrategy,
    // After a failover the old primary answers READONLY: reconnect (a DNS name then finds the new one).
    reconnectOnError: (error) => error.message.startsWith("READONLY"),
  });
  watchConnection(client);
  return client;
}

const connectionOptions = {
  connectTimeout: NATIVE_CONNECT_TIMEOUT_MS,
  commandTimeout: NATIVE_COMMAND_TIMEOUT_MS,
  maxRetriesPerRequest: 0,
  enableAutoPipelining: false,
  connectionName: "lockstep",
} satisfies RedisOptions;

const retryStrategy = (attempt: number) => Math.min(50 * 2 ** (attempt - 1), NATIVE_RECONNECT_CAP_MS);

/**
 * A new Redis Cluster client (ioredis `Cluster`) from some of the cluster's nodes, `redis://` or
 * `rediss://` URLs that share their scheme and credentials (lib/config checks that): it reads the
 * slot map from the first that answers and connects to the masters as needed. The same timeouts
 * and fail-fast rules as createNativeClient, per node. Commands go to the master of their keys'
 * slot (scaleReads "master": a revocation written is read back at once); MOVED and ASK redirections
 * (a resharding, a failover) are followed a bounded number of times. Every command Lockstep sends
 * touches one slot (lib/store/keys.ts), as a Cluster requires of MULTI and pipelines.
 */
export function createNativeClusterClient(urls: readonly string[]): Cluster {
  const parsed = urls.map((u) => new URL(u));
  const first = parsed[0];
  if (!first) throw new TypeError("createNativeClusterClient needs at least one node.");
  const client = new Cluster(
    parsed.map((u) => ({ host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 6379) })),
    {
      lazyConnect: true,
      scaleReads: "master",
      maxRedirections: 16,
      retryDelayOnMoved: 0,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      clusterRetryStrategy: retryStrategy,
      slotsRefreshTimeout: NATIVE_CONNECT_TIMEOUT_MS,
      redisOptions: {
        ...connectionOptions,
        username: first.username ? decodeURIComponent(first.username) : undefined,
        password: first.password ? decodeURIComponent(first.password) : undefined,
        tls: first.protocol === "rediss:" ? {} : undefined,
      },
    },
  );
  watchConnection(client);
  return client;
}

/**
 * ioredis reports connection trouble as "error" events; without a listener it prints each one with
 * its stack. Here one line per change of state, with the error's code only (never a command, an
 * argument or the URL, which may hold a password).
 */
function watchConnection(client: NativeClient): void {
  let down = false;
  client.on("error", (error: NodeJS.ErrnoException) => {
    if (down) return;
    down = true;
    console.error(
      JSON.stringify({ at: new Date().toISOString(), kind: "store", event: "redis.disconnected", code: error.code ?? error.name }),
    );
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    console.error(JSON.stringify({ at: new Date().toISOString(), kind: "store", event: "redis.reconnected" }));
  });
}

/** Closes the process's native connection, if one was opened (for CLI scripts, which must exit). */
export async function closeNativeClient(): Promise<void> {
  const slot = holder[SLOT];
  if (!slot) return;
  holder[SLOT] = undefined;
  await slot.client.quit().catch(() => slot.client.disconnect());
}
