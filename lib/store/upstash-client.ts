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

/**
 * @upstash/redis with its requests sent by another Requester. The public `new Redis(requester)`
 * would drop the client options Lockstep depends on (no automatic deserialization, auto-pipelining);
 * this keeps them and replaces only the HTTP client they run over.
 */
class RedisOver extends Redis {
  constructor(config: RedisConfigNodejs, requester: Requester) {
    super(config);
    this.client = requester;
  }
}

function client(config: ClientConfig, policy: RestPolicy, options: Partial<RedisConfigNodejs>, via?: RequesterFactory): Redis {
  const settings = restSettings(config);
  const redisConfig: RedisConfigNodejs = {
    ...settings,
    automaticDeserialization: false,
    readYourWrites: false,
    enableTelemetry: false,
    retry: { retries: policy.retries, backoff: policy.backoff },
    signal: () => AbortSignal.timeout(policy.timeoutMs),
    ...options,
  };
  return via ? new RedisOver(redisConfig, via(settings, policy)) : new Redis(redisConfig);
}

/**
 * The client for route handlers and server components. It speaks Upstash's REST protocol:
 * Upstash on Vercel, the gateway elsewhere. Retries are few and quick: a signal receiver would
 * rather answer 5xx and let its sender retry.
 */
export function handlerClient(config: ClientConfig, via?: RequesterFactory): Redis {
  return client(config, { retries: 2, backoff: (attempt) => 25 * 2 ** attempt, timeoutMs: 2_000 }, {}, via);
}

/**
 * The guard's client: one attempt, a short timeout, no retry storm. A slow Redis costs a request
 * at most GUARD_REDIS_TIMEOUT_MS before the guard fails closed (or open).
 */
export function guardClient(config: ClientConfig & Pick<Config, "GUARD_REDIS_TIMEOUT_MS">, via?: RequesterFactory): Redis {
  // `retries: 0`: exactly one attempt (`retry: false` still makes two in @upstash/redis 1.39).
  return client(config, { retries: 0, backoff: () => 0, timeoutMs: config.GUARD_REDIS_TIMEOUT_MS }, { enableAutoPipelining: false }, via);
}
