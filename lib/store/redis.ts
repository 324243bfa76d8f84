import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { getConfig } from "@/lib/config";

function client(options: Partial<RedisConfigNodejs>): Redis {
  const config = getConfig();
  return new Redis({
    url: config.UPSTASH_REDIS_REST_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN,
    automaticDeserialization: false,
    readYourWrites: false,
    enableTelemetry: false,
    ...options,
  });
}

/**
 * The one Redis client of a process, for route handlers and server components (Node runtime).
 * It speaks Upstash's REST protocol: Upstash on Vercel, the gateway (gateway/) elsewhere.
 * Retries are few and quick: a signal receiver would rather answer 5xx and let its sender retry.
 */
let nodeClient: Redis | undefined;

export function getRedis(): Redis {
  nodeClient ??= client({ retry: { retries: 2, backoff: (attempt) => 25 * 2 ** attempt }, signal: () => AbortSignal.timeout(2_000) });
  return nodeClient;
}

/**
 * The edge guard's client: one attempt, a short timeout, no retry storm. A slow Redis
 * costs a request at most GUARD_REDIS_TIMEOUT_MS before the guard fails closed (or open).
 */
let guardClient: Redis | undefined;

export function getGuardRedis(): Redis {
  guardClient ??= client({
    enableAutoPipelining: false,
    retry: false,
    signal: () => AbortSignal.timeout(getConfig().GUARD_REDIS_TIMEOUT_MS),
  });
  return guardClient;
}
