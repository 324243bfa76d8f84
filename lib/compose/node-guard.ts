import { getConfig } from "@/lib/config";
import { appKeys } from "@/lib/store/keys";
import { nativeWire } from "@/lib/store/native";
import { nativeClient } from "@/lib/store/native-client";
import { guardClient } from "@/lib/store/upstash-client";
import { nodeRequester } from "@/lib/store/node-requester";
import { restWire } from "@/lib/store/upstash";
import { sessionCheck } from "@/lib/store/redis";
import type { GuardDeps } from "@/lib/guard/guard";
import { guardDeps } from "./guard-deps";
import { tracedPort } from "@/lib/telemetry/stores";

let deps: GuardDeps | undefined;

/**
 * The composition root of the Node guard (proxy.node.ts, GUARD_RUNTIME=nodejs): with REDIS_URL (or
 * REDIS_CLUSTER_NODES) the process's native connection (one round trip on a socket that stays open,
 * no HTTP; on a cluster, to the node that holds the user's slot); without it the same REST client as
 * the edge guard, sent with `node:http` as the route handlers' is.
 */
export function getNodeGuardDeps(): GuardDeps {
  if (!deps) {
    const config = getConfig();
    const keys = appKeys(config.LOCKSTEP_KEY_PREFIX, config.APP_ID);
    const check =
      config.REDIS_URL || config.REDIS_CLUSTER_NODES
        ? // The process's one connection, shared with the route handlers; the guard's own bound per check.
          sessionCheck(nativeWire(nativeClient(config)), keys, { operationTimeoutMs: config.GUARD_REDIS_TIMEOUT_MS })
        : sessionCheck(restWire(guardClient(config, nodeRequester)), keys);
    deps = guardDeps(config, tracedPort("revocations", check));
  }
  return deps;
}
