import { getConfig } from "@/lib/config";
import { appKeys } from "@/lib/store/keys";
import { nativeStores } from "@/lib/store/native";
import { nativeClient } from "@/lib/store/native-client";
import { guardClient } from "@/lib/store/upstash-client";
import { nodeRequester } from "@/lib/store/node-requester";
import { upstashStores } from "@/lib/store/upstash";
import type { GuardDeps } from "@/lib/guard/guard";
import { guardDeps } from "./guard";
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
    const revocations =
      config.REDIS_URL || config.REDIS_CLUSTER_NODES
        ? // The process's one connection, shared with the route handlers; the guard's own bound per check.
          nativeStores(nativeClient(config), keys, config.SESSION_TTL_SECONDS, config.GUARD_REDIS_TIMEOUT_MS).revocations
        : upstashStores(guardClient(config, nodeRequester), keys, config.SESSION_TTL_SECONDS).revocations;
    deps = guardDeps(config, tracedPort("revocations", revocations));
  }
  return deps;
}
