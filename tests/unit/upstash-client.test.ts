import { afterEach, describe, expect, it, vi } from "vitest";
import { guardClient } from "@/lib/store/upstash-client";
import { restWire } from "@/lib/store/upstash";

describe("the guard's Redis client", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("makes exactly one attempt when Redis cannot be reached: a slow Redis costs a request one timeout, not a retry storm", async () => {
    const fetch = vi.fn(() => Promise.reject(new TypeError("fetch failed")));
    vi.stubGlobal("fetch", fetch);
    const redis = restWire(
      guardClient({
        UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
        UPSTASH_REDIS_REST_TOKEN: "token",
        GUARD_REDIS_TIMEOUT_MS: 500,
      }),
    );
    await expect(redis.send(["get", "key"])).rejects.toThrow();
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
