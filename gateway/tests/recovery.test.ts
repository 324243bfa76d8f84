/**
 * Redis going away and coming back, on a redis-server of this test's own: while it is down every
 * command fails at once (503), and once it is back the gateway serves again within a reconnect
 * delay. The measured times are printed; the bounds asserted are generous (the machine is shared).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconnectDelay } from "../redis-backend";
import { startGateway, type Gateway } from "../server";
import { haveRedisServer, privateRedis, type PrivateRedis } from "./support/private-redis";

const TOKEN = `gw-recovery-token-${randomUUID()}`;
/** How long Redis stays away: long enough for several reconnection attempts to back off. */
const DOWNTIME_MS = 3_000;

describe("the reconnect delay", () => {
  it("stays under a quarter of a second however many attempts failed, with jitter", () => {
    for (let attempt = 1; attempt <= 1_000; attempt += 1) {
      const delay = reconnectDelay(attempt);
      expect(delay, `attempt ${attempt}`).toBeGreaterThanOrEqual(10);
      expect(delay, `attempt ${attempt}`).toBeLessThanOrEqual(250);
    }
    // Jitter: gateways that lost the same Redis do not all come back in the same millisecond.
    const delays = new Set(Array.from({ length: 50 }, () => reconnectDelay(100)));
    expect(delays.size).toBeGreaterThan(1);
  });
});

describe.skipIf(!haveRedisServer())("Redis stops and comes back (a private redis-server)", () => {
  let redis: PrivateRedis;
  let gateway: Gateway;
  const lines: string[] = [];

  const get = async (): Promise<{ status: number; ms: number }> => {
    const started = performance.now();
    const res = await fetch(`${gateway.url}/`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(["get", "lockstep-test:recovery:k"]),
    });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started };
  };

  beforeAll(async () => {
    redis = await privateRedis();
    await redis.start();
    gateway = await startGateway({
      port: 0,
      token: TOKEN,
      redisUrl: redis.url,
      keyPrefix: "lockstep-test:recovery:",
      log: (line) => lines.push(line),
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await redis?.stop();
  });

  it("fails fast while Redis is down and serves again soon after it is back", { timeout: 30_000 }, async () => {
    expect((await get()).status).toBe(200);

    await redis.stop();
    // Every request while Redis is away is answered at once with 503, none waits for Redis.
    const whileDown: { status: number; ms: number }[] = [];
    const downSince = performance.now();
    while (performance.now() - downSince < DOWNTIME_MS) {
      whileDown.push(await get());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const slowestWhileDown = Math.max(...whileDown.map((r) => r.ms));
    expect(whileDown.at(-1)?.status).toBe(503);
    expect(whileDown.every((r) => r.status === 503 || r.status === 200)).toBe(true);
    expect(slowestWhileDown).toBeLessThan(2_000);

    await redis.start(); // resolves once the new server answers PING
    const backAt = performance.now();
    let attempts = 0;
    for (;;) {
      attempts += 1;
      if ((await get()).status === 200) break;
      if (performance.now() - backAt > 10_000) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const recoveryMs = performance.now() - backAt;
    console.log(
      `gateway recovery: first successful command ${recoveryMs.toFixed(0)} ms after Redis answered again ` +
        `(${attempts} attempts; Redis was down ${DOWNTIME_MS} ms; slowest request while down ${slowestWhileDown.toFixed(0)} ms)`,
    );
    expect(recoveryMs).toBeLessThan(5_000);
    expect(lines.some((line) => line.includes("lost Redis"))).toBe(true);
    expect(lines.some((line) => line.includes("is back"))).toBe(true);
  });
});
