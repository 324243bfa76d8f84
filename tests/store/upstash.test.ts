/**
 * The store contract against the @upstash/redis implementation, through the gateway: once in front
 * of the real Redis server the tests are given, once on the gateway's embedded store. Keys live
 * under a random per-run prefix and are deleted afterwards.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { Redis } from "@upstash/redis";
import { startGateway, type Gateway } from "../../gateway/server";
import { deleteByPrefix } from "../../demo/scripts/stack";
import { testRedisUrl } from "../support/require-redis";
import { upstashStores } from "@/lib/store/upstash";
import { appKeys } from "@/lib/store/keys";
import { storeContract } from "./contract";

const TOKEN = `store-test-${randomUUID()}`;
const RUN = `lockstep-test:store:${randomUUID().slice(0, 8)}:`;
const gateways: Partial<Record<"redis" | "embedded", Gateway>> = {};

beforeAll(async () => {
  gateways.redis = await startGateway({ port: 0, token: TOKEN, redisUrl: testRedisUrl, log: () => {} });
  gateways.embedded = await startGateway({ port: 0, token: TOKEN, log: () => {} });
});

afterAll(async () => {
  await Promise.all(Object.values(gateways).map((g) => g?.close()));
  await deleteByPrefix(testRedisUrl, RUN);
});

for (const backend of ["redis", "embedded"] as const) {
  storeContract(`@upstash/redis through the gateway (${backend})`, async () => {
    const gateway = gateways[backend];
    if (!gateway) throw new Error("The gateway did not start.");
    const redis = new Redis({ url: gateway.url, token: TOKEN, automaticDeserialization: false, enableTelemetry: false, retry: false });
    // A prefix per test: no test sees another's keys, as no app sees another app's.
    return { stores: upstashStores(redis, appKeys(RUN, randomUUID().slice(0, 8)), 3600) };
  });
}
