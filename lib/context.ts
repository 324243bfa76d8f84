import { getConfig } from "@/lib/config";
import { getRedis } from "@/lib/store/redis";
import { appKeys } from "@/lib/store/keys";
import { SessionStore } from "@/lib/session/store";
import { cookieNames } from "@/lib/session/cookies";
import { EndedSessionsHub } from "@/lib/live/hub";

/** The composition root for the Node runtime: one of each, created on first use. */
let context: ReturnType<typeof build> | undefined;

function build() {
  const config = getConfig();
  const redis = getRedis();
  const k = appKeys(config.LOCKSTEP_KEY_PREFIX, config.APP_ID);
  const hub = new EndedSessionsHub(redis, k, config.LIVE_POLL_INTERVAL_MS);
  return {
    config,
    redis,
    keys: k,
    hub,
    // Sessions this instance ends reach its own tabs at once; other instances read the feed.
    store: new SessionStore(redis, k, config.SESSION_TTL_SECONDS, (event) => hub.deliver(event)),
    cookies: cookieNames(config.APP_ID, config.AUTH_URL),
  };
}

export function getContext() {
  context ??= build();
  return context;
}
