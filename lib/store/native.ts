import { createHash } from "node:crypto";
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import type { Keys } from "./keys";
import type { Stores } from "./ports";
import { redisStores } from "./redis";
import type { Command, RedisWire } from "./wire";

/** One Redis server, or a Redis Cluster (lib/store/native-client.ts makes either). */
export type NativeClient = Redis | Cluster;

/**
 * The longest one store operation (a few commands) may take before it fails with a StoreError. Each
 * command has its own timeout (native-client.ts), but a Cluster client queues commands while it has
 * no slot map and bounds that queue by nothing; a handler must answer 503 rather than hang. A
 * command still queued when it passes may run later: every write is idempotent or expires.
 */
export const NATIVE_OPERATION_TIMEOUT_MS = 5_000;

type Scripted = Record<string, (...args: (string | number)[]) => Promise<unknown>>;

/** The name a script is defined under on a client: `defineCommand` sends EVALSHA, and EVAL on NOSCRIPT (in pipelines and on a Cluster too). */
function scriptCommand(client: NativeClient, lua: string): string {
  const name = `lockstep_${createHash("sha1").update(lua).digest("hex").slice(0, 16)}`;
  if (typeof (client as unknown as Scripted)[name] !== "function") client.defineCommand(name, { lua });
  return name;
}

/** Replies of a pipeline or transaction; the first command's error fails the whole call. */
async function repliesOf(batch: ChainableCommander): Promise<unknown[]> {
  const replies = await batch.exec();
  if (!replies) throw new Error("The transaction was discarded.");
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

const asArgs = (commands: readonly Command[]) => commands.map((command) => [...command]) as [string, ...(string | number)[]][];

/** A RedisWire over ioredis: one TCP connection speaking RESP2 (to one server, or to the nodes of a Cluster). */
export function nativeWire(client: NativeClient): RedisWire {
  return {
    cluster: client.isCluster,
    send: ([name, ...args]) => client.call(name, ...args),
    pipeline: (commands) => repliesOf(client.pipeline(asArgs(commands))),
    transaction: (commands) => repliesOf(client.multi(asArgs(commands))),
    script: (lua, keys, args) => (client as unknown as Scripted)[scriptCommand(client, lua)]!(keys.length, ...keys, ...args),
  };
}

/**
 * The stores on Redis through ioredis (lib/store/redis.ts over nativeWire). `operationTimeoutMs`
 * bounds each operation (the Node guard passes its GUARD_REDIS_TIMEOUT_MS).
 */
export function nativeStores(client: NativeClient, k: Keys, ttlSeconds: number, operationTimeoutMs = NATIVE_OPERATION_TIMEOUT_MS): Stores {
  return redisStores(nativeWire(client), k, ttlSeconds, { operationTimeoutMs });
}
