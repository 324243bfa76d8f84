import { Cluster, Redis as IORedis } from "ioredis";
import { testRedisUrl } from "./require-redis";

/**
 * Whether this run is a tier on the private Redis Cluster (the integration-cluster project): then a
 * stack that names no Redis of its own runs on the cluster.
 */
export const onCluster = process.env.LOCKSTEP_REDIS_CLUSTER === "1";

/** The private test cluster's nodes (tests/support/redis-cluster-setup.ts); loaded only in that tier, so that scripts importing this module need no vitest. */
export async function clusterNodes(): Promise<string[]> {
  const { inject } = await import("vitest");
  return inject("redisClusterNodes");
}

/**
 * A client for tests that look at (or plant) keys directly: the test Redis, or in the
 * integration-cluster tier a Cluster client on the private cluster. The tests send only single-key
 * commands, which a Cluster client routes by key, so both are used through the same (Redis) type.
 */
export async function testRedis(): Promise<IORedis> {
  if (!onCluster) return new IORedis(testRedisUrl);
  const nodes = (await clusterNodes()).map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) }));
  return new Cluster(nodes) as unknown as IORedis;
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
