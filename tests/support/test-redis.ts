import { Cluster, Redis as IORedis } from "ioredis";
import { testRedisUrl } from "./require-redis";
import { clusterNodes, onCluster } from "./lockstep";

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
