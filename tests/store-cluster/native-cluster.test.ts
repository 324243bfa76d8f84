/**
 * The store contract against the native implementation (ioredis, lib/store/native.ts) on a private
 * Redis Cluster of three masters (tests/support/redis-cluster.ts), with the client the app makes
 * from REDIS_CLUSTER_NODES (lib/store/native-client.ts). A cluster refuses any command, transaction,
 * pipeline or script whose keys span hash slots (CROSSSLOT), so this suite passing is the proof of
 * the slot rule (lib/store/keys.ts). The cluster is the project's (tests/support/redis-cluster-setup.ts);
 * keys live under random prefixes and go with it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Cluster } from "ioredis";
import { freePort } from "../support/processes";
import { keySlot } from "../support/key-slot";
import { nativeStores } from "@/lib/store/native";
import { createNativeClusterClient } from "@/lib/store/native-client";
import { appKeys, idpSessionTag, sessionTag, userTag } from "@/lib/store/keys";
import { StoreError } from "@/lib/store/errors";
import { endSessions } from "@/lib/revocation/end-sessions";
import { record, storeContract } from "../store/contract";

const nodes = inject("redisClusterNodes");
const ports = nodes.map((url) => Number(new URL(url).port));
let redis: Cluster;

beforeAll(() => {
  redis = createNativeClusterClient(nodes);
});

afterAll(async () => {
  await redis.quit().catch(() => redis.disconnect());
});

const prefix = () => `lockstep-test:cluster:${randomUUID().slice(0, 8)}:`;

storeContract("ioredis (native) on a 3-master Redis Cluster", async () => ({
  stores: nativeStores(redis, appKeys(prefix(), "app"), 3600),
}));

/** Which master serves a slot: its index in `nodes`. */
async function masterOf(slot: number): Promise<number> {
  const ranges = await redis.cluster("SLOTS");
  const range = ranges.find(([first, last]) => slot >= first && slot <= last);
  const master = range?.[2];
  if (!master) throw new Error(`slot ${slot} is not served`);
  return ports.indexOf(master[1]);
}

describe("the test cluster is a real one", () => {
  it("has three masters, each serving a third of the slots", async () => {
    expect(nodes).toHaveLength(3);
    const served = new Set(await Promise.all([0, 8_000, 16_383].map(masterOf)));
    expect(served).toEqual(new Set([0, 1, 2]));
  });

  it("refuses a command across slots (CROSSSLOT), which is what the contract above would hit", async () => {
    const k = appKeys(prefix(), "app");
    const [a, b] = [record(), record()];
    expect(keySlot(k.revokedSubject(a.iss, a.sub))).not.toBe(keySlot(k.revokedSubject(b.iss, b.sub)));
    await expect(redis.mget(k.revokedSubject(a.iss, a.sub), k.revokedSubject(b.iss, b.sub))).rejects.toThrow(/CROSSSLOT/);
  });

  it("computes the same slots as the server (CLUSTER KEYSLOT)", async () => {
    const k = appKeys(prefix(), "app");
    const r = record();
    const samples = [
      k.session("A".repeat(43)),
      k.subjectSessions(r.iss, r.sub),
      k.idpSession(r.iss, "s"),
      k.endedFeed(),
      "123456789",
      "a{}b",
      "{{x}}",
    ];
    for (const key of samples) expect(keySlot(key), key).toBe(await redis.cluster("KEYSLOT", key));
  });
});

describe("sign-in racing a sid-only logout, on a cluster", () => {
  it("stops the session whichever comes first, with the sid's slot and the user's on different masters", async () => {
    const k = appKeys(prefix(), "app");
    const stores = nativeStores(redis, k, 3600);
    const deps = { sessions: stores.sessions, revocations: stores.revocations, now: Date.now };
    // Users whose slot and whose IdP session's slot are served by different masters: the two sides
    // of the race then write on different nodes.
    const records = [];
    for (let i = 0; records.length < 24 && i < 500; i += 1) {
      const r = record();
      const userMaster = await masterOf(keySlot(`{${userTag(r.iss, r.sub)}}`));
      const sidMaster = await masterOf(keySlot(`{${idpSessionTag(r.iss, r.sid as string)}}`));
      if (userMaster !== sidMaster) records.push(r);
    }
    expect(records).toHaveLength(24);
    const verdicts = await Promise.all(
      records.map(async (r, i) => {
        const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
        const [id] = await Promise.all([
          (async () => {
            await pause(i % 3);
            return stores.sessions.create(r);
          })(),
          (async () => {
            await pause((i >> 1) % 3);
            // BCL §2.4: a logout token may carry only sid; the logout cannot name the user.
            return endSessions(deps, [{ kind: "idp-session", iss: r.iss, sid: r.sid as string }], "revoked");
          })(),
        ]);
        expect(sessionTag(id)).toBe(userTag(r.iss, r.sub));
        return stores.revocations.check({ lsid: id, iss: r.iss, sub: r.sub, sid: r.sid, createdAt: r.createdAt });
      }),
    );
    for (const verdict of verdicts) expect(verdict).toEqual({ active: false, reason: "revoked" });
  });
});

describe("native cluster client failures", () => {
  it("fails a call on an unreachable cluster with a StoreError that names the operation, not its arguments", async () => {
    const dead = createNativeClusterClient([`redis://127.0.0.1:${await freePort()}`]);
    dead.on("error", () => {});
    try {
      const stores = nativeStores(dead, appKeys(prefix(), "dead"), 3600);
      const started = Date.now();
      const failure = await stores.sessions.read("secret-session-id-0000000000000000000000000").catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(StoreError);
      expect(String((failure as Error).stack)).not.toContain("secret-session-id");
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      dead.disconnect();
    }
  });
});
