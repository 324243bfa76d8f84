import { getConfig } from "@/lib/config";
import { appKeys } from "@/lib/store/keys";
import { StoreError } from "@/lib/store/errors";
import { nativeStores } from "@/lib/store/native";
import { nativeClient } from "@/lib/store/native-client";
import { guardClient } from "@/lib/store/upstash-client";
import { upstashStores } from "@/lib/store/upstash";
import type { RevocationList } from "@/lib/store/ports";
import type { GuardDeps } from "@/lib/guard/guard";
import { guardDeps } from "./guard";

/**
 * The check within the guard's deadline. The native connection is the process's one (shared with
 * the route handlers, whose commands may wait longer), so the guard's own bound is kept here: past
 * GUARD_REDIS_TIMEOUT_MS the check fails, and the guard fails closed (or open) as on the edge.
 */
export function withDeadline(list: Pick<RevocationList, "check">, ms: number): Pick<RevocationList, "check"> {
  return {
    check: (handle) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new StoreError("revocation.check")), ms);
        list.check(handle).then(
          (verdict) => {
            clearTimeout(timer);
            resolve(verdict);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      }),
  };
}

let deps: GuardDeps | undefined;

/**
 * The composition root of the Node guard (proxy.node.ts, GUARD_RUNTIME=nodejs): with REDIS_URL (or
 * REDIS_CLUSTER_NODES) the process's native connection (one round trip on a socket that stays open,
 * no HTTP; on a cluster, to the node that holds the user's slot); without it the same REST client as
 * the edge guard.
 */
export function getNodeGuardDeps(): GuardDeps {
  if (!deps) {
    const config = getConfig();
    const keys = appKeys(config.LOCKSTEP_KEY_PREFIX, config.APP_ID);
    const revocations =
      config.REDIS_URL || config.REDIS_CLUSTER_NODES
        ? withDeadline(nativeStores(nativeClient(config), keys, config.SESSION_TTL_SECONDS).revocations, config.GUARD_REDIS_TIMEOUT_MS)
        : upstashStores(guardClient(config), keys, config.SESSION_TTL_SECONDS).revocations;
    deps = guardDeps(config, revocations);
  }
  return deps;
}
