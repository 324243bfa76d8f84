import { getConfig } from "@/lib/config";
import { guardClient } from "@/lib/store/upstash-client";
import { restWire } from "@/lib/store/upstash";
import { sessionCheck } from "@/lib/store/redis";
import { appKeys } from "@/lib/store/keys";
import type { GuardDeps } from "@/lib/guard/guard";
import { guardDeps } from "./guard-deps";

let deps: GuardDeps | undefined;

/**
 * The composition root of the edge guard (middleware.edge.ts, GUARD_RUNTIME=edge): built once per
 * isolate, so that the hot path only opens the cookie and makes its one store call. Edge-safe:
 * fetch and Web Crypto only, so Redis is reached over REST (Upstash, or the gateway).
 */
export function getGuardDeps(): GuardDeps {
  if (!deps) {
    const config = getConfig();
    const keys = appKeys(config.LOCKSTEP_KEY_PREFIX, config.APP_ID);
    deps = guardDeps(config, sessionCheck(restWire(guardClient(config)), keys));
  }
  return deps;
}
