import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import type { Config } from "@/lib/config";

type ClientConfig = Pick<Config, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">;

/** The REST URL and token; the configuration's rule guarantees them wherever a REST client is built. */
export function restSettings(config: ClientConfig): { url: string; token: string } {
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = config;
  if (!url || !token) throw new TypeError("A REST Redis client needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.");
  return { url, token };
}

function client(config: ClientConfig, options: Partial<RedisConfigNodejs>): Redis {
  return new Redis({
    ...restSettings(config),
    automaticDeserialization: false,
    readYourWrites: false,
    enableTelemetry: false,
    ...options,
  });
}

/**
 * The client for route handlers and server components. It speaks Upstash's REST protocol:
 * Upstash on Vercel, the gateway elsewhere. Retries are few and quick: a signal receiver would
 * rather answer 5xx and let its sender retry.
 */
export function handlerClient(config: ClientConfig): Redis {
  return client(config, { retry: { retries: 2, backoff: (attempt) => 25 * 2 ** attempt }, signal: () => AbortSignal.timeout(2_000) });
}

/**
 * The guard's client: one attempt, a short timeout, no retry storm. A slow Redis costs a request
 * at most GUARD_REDIS_TIMEOUT_MS before the guard fails closed (or open).
 */
export function guardClient(config: ClientConfig & Pick<Config, "GUARD_REDIS_TIMEOUT_MS">): Redis {
  // `retries: 0`: exactly one attempt (`retry: false` still makes two in @upstash/redis 1.39).
  return client(config, {
    enableAutoPipelining: false,
    retry: { retries: 0, backoff: () => 0 },
    signal: () => AbortSignal.timeout(config.GUARD_REDIS_TIMEOUT_MS),
  });
}
