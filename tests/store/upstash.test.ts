/**
 * The store contract against the @upstash/redis implementation, through the gateway: once in front
 * of the real Redis server the tests are given, once on the gateway's embedded store. Keys live
 * under a random per-run prefix and are deleted afterwards.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "@upstash/redis";
import { startGateway, type Gateway } from "../../gateway/server";
import { deleteByPrefix } from "../../demo/scripts/stack";
import { testRedisUrl } from "../support/require-redis";
import { upstashStores } from "@/lib/store/upstash";
import { appKeys } from "@/lib/store/keys";
import { handleOf, record, storeContract } from "./contract";

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

/** The REST requests `run` sends, each as the list of its commands' names. */
async function requestsOf(run: () => Promise<unknown>): Promise<string[][]> {
  const bodies: unknown[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    bodies.push(JSON.parse(String(init?.body)));
    return original(input, init);
  };
  try {
    await run();
  } finally {
    globalThis.fetch = original;
  }
  // /pipeline and /multi-exec take a list of commands, a single command is one list.
  return (bodies as unknown[][]).map((body) =>
    (Array.isArray(body[0]) ? (body as unknown[][]) : [body]).map((command) => String(command[0]).toLowerCase()),
  );
}

function restStores() {
  const gateway = gateways.redis;
  if (!gateway) throw new Error("The gateway did not start.");
  const redis = new Redis({ url: gateway.url, token: TOKEN, automaticDeserialization: false, enableTelemetry: false, retry: false });
  return upstashStores(redis, appKeys(RUN, randomUUID().slice(0, 8)), 3600);
}

describe("round trips over REST (issue 10, item 4)", () => {
  it("stores a logout of a session it found in one request: one script for replay check, feed, marks and replay record", async () => {
    const stores = restStores();
    const revokeHeld = async () => {
      const r = record();
      const id = await stores.sessions.create(r);
      const replay = { kind: "bcl" as const, iss: r.iss, jti: randomUUID(), ttlSeconds: 60 };
      const revoke = () =>
        stores.revocations.revoke({
          targets: [{ kind: "idp-session", iss: r.iss, sid: r.sid as string, heldBy: id }],
          sessionIds: [id],
          reason: "revoked",
          replay,
          replayChecked: true,
          now: Date.now(),
        });
      return { r, id, replay, revoke };
    };
    // The first call may load the script (EVALSHA answered NOSCRIPT, then EVAL); the next one is measured.
    await (await revokeHeld()).revoke();
    const { r, id, replay, revoke } = await revokeHeld();
    // One request; @upstash/redis sends it to /pipeline (auto-pipelining) or as a single command.
    expect(await requestsOf(revoke)).toEqual([["evalsha"]]);
    expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "revoked" });
    expect(await stores.revocations.seen(replay)).toBe(true);
  });

  it("deletes what ended sessions held in one transaction, whatever slots their keys are in", async () => {
    const stores = restStores();
    const ended = await Promise.all([record(), record()].map(async (r) => ({ id: await stores.sessions.create(r), record: r })));
    const requests = await requestsOf(() => stores.sessions.end(ended, "revoked"));
    // Two users and two IdP sessions (four hash slots), one /multi-exec request.
    expect(requests).toHaveLength(1);
    expect(requests[0]).toEqual(expect.arrayContaining(["del", "srem", "lpush"]));
    for (const { id, record: r } of ended) {
      expect(await stores.sessions.read(id)).toBeNull();
      expect(await stores.sessions.find({ iss: r.iss, sid: r.sid as string })).toEqual([]);
      expect(await stores.sessions.find({ iss: r.iss, sub: r.sub })).toEqual([]);
      expect((await stores.sessions.activity(r)).map((e) => e.kind)).toEqual(["ended", "signed_in"]);
    }
  });
});
