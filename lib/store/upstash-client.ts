import { Redis, type RedisConfigNodejs, type Requester } from "@upstash/redis";
import type { Config } from "@/lib/config";

type ClientConfig = Pick<Config, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">;

/** How a REST client's calls go: how often a network error is tried again, and one deadline per call. */
export type RestPolicy = { retries: number; backoff: (attempt: number) => number; timeoutMs: number };

/**
 * Builds what sends a client's requests, when the global `fetch` should not (lib/store/node-requester.ts
 * in the Node runtime). Without one, @upstash/redis's own HttpClient sends them with `fetch`.
 */
export type RequesterFactory = (settings: { url: string; token: string }, policy: RestPolicy) => Requester;

/** The REST URL and token; the configuration's rule guarantees them wherever a REST client is built. */
export function restSettings(config: ClientConfig): { url: string; token: string } {
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = config;
  if (!url || !token) throw new TypeError("A REST Redis client needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.");
  return { url, token };
}

/** Reaches the Requester an @upstash/redis client sends its requests with: its HttpClient, over `fetch`. */
class RequesterOf extends Redis {
  static of(redis: Redis): Requester {
    return (redis as RequesterOf).client;
  }
}

/**
 * What sends a REST client's requests: `via`'s requester, or else @upstash/redis's own HttpClient
 * over the global `fetch` (the edge's), with its retry policy and one deadline per call. Built
 * without auto-pipelining, whose proxy would hide the client; lib/store/upstash.ts pipelines itself.
 */
function client(config: ClientConfig, policy: RestPolicy, via?: RequesterFactory): Requester {
  const settings = restSettings(config);
  if (via) return via(settings, policy);
  const redisConfig: RedisConfigNodejs = {
    ...settings,
    automaticDeserialization: false,
    readYourWrites: false,
    enableTelemetry: false,
    enableAutoPipelining: false,
    retry: { retries: policy.retries, backoff: policy.backoff },
    signal: () => AbortSignal.timeout(policy.timeoutMs),
  };
  return RequesterOf.of(new Redis(redisConfig));
}

/**
 * The requester for route handlers and server components. It speaks Upstash's REST protocol:
 * Upstash on Vercel, the gateway elsewhere. Retries are few and quick: a signal receiver would
 * rather answer 5xx and let its sender retry.
 */
export function handlerClient(config: ClientConfig, via?: RequesterFactory): Requester {
  return client(config, { retries: 2, backoff: (attempt) => 25 * 2 ** attempt, timeoutMs: 2_000 }, via);
}

/**
 * The guard's requester: one attempt, a short timeout, no retry storm. A slow Redis costs a request
 * at most GUARD_REDIS_TIMEOUT_MS before the guard fails closed (or open).
 */
export function guardClient(config: ClientConfig & Pick<Config, "GUARD_REDIS_TIMEOUT_MS">, via?: RequesterFactory): Requester {
  // `retries: 0`: exactly one attempt (`retry: false` still makes two in @upstash/redis 1.39).
  return client(config, { retries: 0, backoff: () => 0, timeoutMs: config.GUARD_REDIS_TIMEOUT_MS }, via);
}
