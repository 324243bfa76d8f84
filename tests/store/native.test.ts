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
import { freePort } from "../support/processes";
import { deleteByPrefix } from "../support/test-redis";
import { testRedisUrl } from "../support/require-redis";
import { nativeStores } from "@/lib/store/native";
import { createNativeClient } from "@/lib/store/native-client";
import { endSessions } from "@/lib/revocation/end-sessions";
import { appKeys } from "@/lib/store/keys";
import { StoreError } from "@/lib/store/errors";
import { handleOf, record, storeContract } from "./contract";

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

describe("round trips on one Redis server", () => {
  /** The names of the commands the client sends while `run` runs. */
  async function commandsOf(run: () => Promise<unknown>): Promise<string[]> {
    const sent: string[] = [];
    const original = redis.sendCommand;
    redis.sendCommand = function (this: Redis, command, stream) {
      sent.push(command.name);
      return original.call(this, command, stream);
    } as Redis["sendCommand"];
    try {
      await run();
    } finally {
      redis.sendCommand = original;
    }
    return sent;
  }

  it("stores a logout of a session it found in one command: one script for replay check, feed, marks and replay record", async () => {
    const prefix = `${RUN}one-call:`;
    const stores = nativeStores(redis, appKeys(prefix, "app"), 3600);
    const revokeHeld = async () => {
      const r = record();
      const id = await stores.sessions.create(r);
      const replay = { kind: "bcl" as const, iss: r.iss, jti: randomUUID(), ttlSeconds: 60 };
      const revocation = {
        targets: [{ kind: "idp-session" as const, iss: r.iss, sid: r.sid as string, heldBy: id }],
        sessionIds: [id],
        reason: "revoked" as const,
        replay,
        replayChecked: true,
        now: Date.now(),
      };
      return { r, id, replay, revoke: () => stores.revocations.revoke(revocation) };
    };
    // The first call may load the script (EVALSHA, then EVAL); what is measured is the next one.
    await (await revokeHeld()).revoke();
    const { r, id, replay, revoke } = await revokeHeld();
    let events: unknown;
    expect(await commandsOf(async () => (events = await revoke()))).toEqual(["evalsha"]);
    expect(events).toEqual({
      result: "written",
      events: [expect.objectContaining({ lsid: id, reason: "revoked" })],
      held: [{ id, record: r }],
    });
    expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "revoked" });
    expect(await stores.revocations.seen(replay)).toBe(true);
    await deleteByPrefix(testRedisUrl, prefix);
  });

  it("ends a logout token's IdP session with three commands before the answer: the replay record and the holder together, then the script", async () => {
    const prefix = `${RUN}by-sid:`;
    const stores = nativeStores(redis, appKeys(prefix, "app"), 3600);
    const deps = { sessions: stores.sessions, revocations: stores.revocations, now: Date.now };
    const r = record();
    const id = await stores.sessions.create(r);
    await endSessions(deps, [{ kind: "idp-session", iss: r.iss, sid: "warm-up" }], "revoked");
    const sent = await commandsOf(() =>
      endSessions(deps, [{ kind: "idp-session", iss: r.iss, sid: r.sid as string, sub: r.sub }], "revoked", {
        replay: { kind: "bcl", iss: r.iss, jti: randomUUID(), ttlSeconds: 60 },
        defer: () => {},
      }),
    );
    // No read of the record before the script: BCL §2.7's subject check and the record are in it.
    expect(sent).toEqual(["exists", "get", "evalsha"]);
    expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "revoked" });
    await deleteByPrefix(testRedisUrl, prefix);
  });

  it("writes the mark of a holder it was not told of, then the replay record, after the script (three commands)", async () => {
    const prefix = `${RUN}left-over:`;
    const stores = nativeStores(redis, appKeys(prefix, "app"), 3600);
    const r = record();
    const id = await stores.sessions.create(r);
    const replay = { kind: "bcl" as const, iss: r.iss, jti: randomUUID(), ttlSeconds: 60 };
    const sent = await commandsOf(() =>
      stores.revocations.revoke({
        targets: [{ kind: "idp-session", iss: r.iss, sid: r.sid as string }],
        sessionIds: [],
        reason: "revoked",
        replay,
        now: Date.now(),
      }),
    );
    // The revocation script, the holder's marks (MARK_SCRIPT), the replay record (SET NX), in that order.
    expect(sent.filter((name) => name !== "eval")).toEqual(["evalsha", "evalsha", "set"]);
    expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "revoked" });
    expect(await stores.revocations.seen(replay)).toBe(true);
    await deleteByPrefix(testRedisUrl, prefix);
  });

  it("signs in in one transaction on one Redis server: record, subject's set, log, email index and sid index", async () => {
    const prefix = `${RUN}create:`;
    const stores = nativeStores(redis, appKeys(prefix, "app"), 3600);
    const r = record();
    let id = "";
    const sent = await commandsOf(async () => (id = await stores.sessions.create(r)));
    expect(sent.filter((name) => name === "multi" || name === "exec")).toEqual(["multi", "exec"]);
    expect(await stores.sessions.read(id)).toEqual(r);
    expect((await stores.sessions.find({ iss: r.iss, sid: r.sid as string })).map((s) => s.id)).toEqual([id]);
    expect(await stores.sessions.subjectsForEmail(r.claims.email as string)).toEqual([{ iss: r.iss, sub: r.sub }]);
    await deleteByPrefix(testRedisUrl, prefix);
  });

  it("deletes what ended sessions held in one transaction, whatever slots their keys are in", async () => {
    const prefix = `${RUN}end:`;
    const stores = nativeStores(redis, appKeys(prefix, "app"), 3600);
    const ended = await Promise.all([record(), record()].map(async (r) => ({ id: await stores.sessions.create(r), record: r })));
    const sent = await commandsOf(() => stores.sessions.end(ended, "revoked"));
    // Two users and two IdP sessions (four hash slots): one MULTI … EXEC on one Redis server.
    expect(sent.filter((name) => name === "multi" || name === "exec")).toEqual(["multi", "exec"]);
    for (const { id, record: r } of ended) {
      expect(await stores.sessions.read(id)).toBeNull();
      expect(await stores.sessions.find({ iss: r.iss, sid: r.sid as string })).toEqual([]);
      expect(await stores.sessions.find({ iss: r.iss, sub: r.sub })).toEqual([]);
    }
    await deleteByPrefix(testRedisUrl, prefix);
  });
});
