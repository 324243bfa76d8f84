/**
 * The store contract against the native implementation (ioredis, lib/store/native.ts) on the real
 * Redis server the tests are given (TEST_REDIS_URL or 127.0.0.1:6379), with the client options the
 * app uses (lib/store/native-client.ts). Each test gets a random key prefix of its own, whose keys
 * are deleted when it finishes; nothing else on that Redis is touched.
 */
import { randomUUID } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { deleteByPrefix, freePort } from "../../demo/scripts/stack";
import { testRedisUrl } from "../support/require-redis";
import { nativeStores } from "@/lib/store/native";
import { createNativeClient } from "@/lib/store/native-client";
import { appKeys } from "@/lib/store/keys";
import { StoreError } from "@/lib/store/errors";
import { record, storeContract } from "./contract";

const RUN = `lockstep-test:native:${randomUUID().slice(0, 8)}:`;
let redis: Redis;

beforeAll(() => {
  redis = createNativeClient(testRedisUrl);
});

afterAll(async () => {
  await deleteByPrefix(testRedisUrl, RUN);
  await redis.quit();
});

storeContract("ioredis (native)", async () => {
  const prefix = `${RUN}${randomUUID().slice(0, 8)}:`;
  return { stores: nativeStores(redis, appKeys(prefix, "app"), 3600), cleanup: () => deleteByPrefix(testRedisUrl, prefix) };
});

describe("native client failures", () => {
  it("fails a call on an unreachable Redis with a StoreError that names the operation, not its arguments", async () => {
    const dead = createNativeClient(`redis://127.0.0.1:${await freePort()}`);
    const errors: unknown[] = [];
    dead.on("error", (e) => errors.push(e));
    try {
      const stores = nativeStores(dead, appKeys(RUN, "dead"), 3600);
      const r = record();
      const failure = await stores.sessions.create(r).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(StoreError);
      expect((failure as StoreError).message).toBe('The session store could not complete "session.create".');
      const revoke = await stores.revocations
        .revoke({ targets: [], sessionIds: ["secret-session-id"], reason: "logout", now: Date.now() })
        .catch((e: unknown) => e);
      expect(revoke).toBeInstanceOf(StoreError);
      expect(String((revoke as Error).stack)).not.toContain("secret-session-id");
    } finally {
      dead.disconnect();
    }
  });

  it("fails a check within the operation timeout it was given (the Node guard's GUARD_REDIS_TIMEOUT_MS) when Redis accepts and never answers", async () => {
    // A server that takes the connection and never replies: a Redis that hangs.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const client = createNativeClient(`redis://127.0.0.1:${(silent.address() as net.AddressInfo).port}`);
    client.on("error", () => {});
    try {
      const { revocations } = nativeStores(client, appKeys(RUN, "silent"), 3600, 50);
      const started = Date.now();
      const failure = await revocations
        .check({ lsid: "a".repeat(43), iss: "https://idp.example", sub: "alice", createdAt: 1 })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(StoreError);
      // Well under the client's own 2 s command timeout: the bound given here is what failed it.
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      client.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("fails a call whose reply Redis refuses (a key of the wrong type) without the key or the value", async () => {
    const prefix = `${RUN}wrongtype:`;
    const stores = nativeStores(redis, appKeys(prefix, "app"), 3600);
    const k = appKeys(prefix, "app");
    const r = record();
    await redis.set(k.subjectSessions(r.iss, r.sub), "not a set", "EX", 60);
    const failure = await stores.sessions.find({ iss: r.iss, sub: r.sub }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreError);
    expect(String((failure as Error).stack)).not.toContain(r.sub);
  });
});
