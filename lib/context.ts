import { getConfig } from "@/lib/config";
import { getRedis } from "@/lib/store/redis";
import { keys } from "@/lib/store/keys";
import { SessionStore } from "@/lib/session/store";
import { cookieNames } from "@/lib/session/cookies";

/** The composition root for the Node runtime: one of each, created on first use. */
let context: ReturnType<typeof build> | undefined;

function build() {
  const config = getConfig();
  const redis = getRedis();
  const k = keys(config.LOCKSTEP_KEY_PREFIX);
  return {
    config,
    redis,
    keys: k,
    store: new SessionStore(redis, k, config.SESSION_TTL_SECONDS),
    cookies: cookieNames(config.APP_ID, config.AUTH_URL),
  };
}

export function getContext() {
  context ??= build();
  return context;
}
