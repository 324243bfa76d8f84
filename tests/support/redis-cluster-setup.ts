import type { TestProject } from "vitest/node";
import { startRedisCluster } from "./redis-cluster";

declare module "vitest" {
  export interface ProvidedContext {
    /** The private test cluster's masters, as REDIS_CLUSTER_NODES takes them (tests read it with `inject`). */
    redisClusterNodes: string[];
  }
}

/**
 * A vitest globalSetup: one private 3-master Redis Cluster for the whole run of a project
 * (tests/support/redis-cluster.ts), its nodes given to the tests as `inject("redisClusterNodes")`,
 * stopped (by PID) and its directory removed when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster(3);
  project.provide("redisClusterNodes", cluster.nodes);
  return () => cluster.stop();
}
