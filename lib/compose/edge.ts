import { NextResponse } from "next/server";
import { getConfig } from "@/lib/config";
import { guardClient } from "@/lib/store/upstash-client";
import { upstashStores } from "@/lib/store/upstash";
import { appKeys } from "@/lib/store/keys";
import { cookieNames } from "@/lib/session/cookies";
import type { GuardDeps } from "@/lib/guard/guard";

let deps: GuardDeps | undefined;

/**
 * The composition root of the edge runtime (middleware.ts): built once per isolate, so that the
 * hot path only opens the cookie and makes its one store call. Edge-safe: fetch and Web Crypto only.
 */
export function getGuardDeps(): GuardDeps {
  if (!deps) {
    const config = getConfig();
    const keys = appKeys(config.LOCKSTEP_KEY_PREFIX, config.APP_ID);
    deps = {
      config,
      revocations: upstashStores(guardClient(config), keys, config.SESSION_TTL_SECONDS).revocations,
      cookies: cookieNames(config.APP_ID, config.AUTH_URL),
      next: () => NextResponse.next(),
    };
  }
  return deps;
}
