/**
 * The store contract against the @upstash/redis implementation, through the gateway: in front of
 * the real Redis server the tests are given and on the gateway's embedded store, each over both ways
 * of sending REST requests. Keys live under a random per-run prefix and are deleted afterwards.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../server";
import { deleteByPrefix } from "../../tests/support/test-redis";
import { testRedisUrl } from "../../tests/support/require-redis";
import { upstashStores } from "@/lib/store/upstash";
import { handlerClient, type RequesterFactory } from "@/lib/store/upstash-client";
import { nodeRequester } from "@/lib/store/node-requester";
import { appKeys } from "@/lib/store/keys";
import { endSessions } from "@/lib/revocation/end-sessions";
import { handleOf, record, storeContract } from "../../tests/store/contract";

const TOKEN = `store-test-${randomUUID()}`;
const RUN = `lockstep-test:store:${randomUUID().slice(0, 8)}:`;
const gateways: Partial<Record<"redis" | "embedded", Gateway>> = {};

beforeAll(async () => {
  gateways.redis = await startGateway({ port: 0, token: TOKEN, redisUrl: testRedisUrl, keyPrefix: RUN, log: () => {} });
  gateways.embedded = await startGateway({ port: 0, token: TOKEN, keyPrefix: RUN, log: () => {} });
});

afterAll(async () => {
  await Promise.all(Object.values(gateways).map((g) => g?.close()));
  await deleteByPrefix(testRedisUrl, RUN);
});

/**
 * The two ways a REST client's requests go: @upstash/redis's own HttpClient over the global `fetch`
 * (the edge guard's), and lib/store/node-requester.ts over `node:http` (the Node runtime's). Each
 * request's body is recorded for the tests that count round trips.
 */
const senders = {
  fetch: (url: string) => handlerClient({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: TOKEN }),
  "node:http": (url: string) => handlerClient({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: TOKEN }, recordingNodeRequester),
};
type Sender = keyof typeof senders;

let recorded: unknown[] | undefined;
const recordingNodeRequester: RequesterFactory = (settings, policy) => {
  const requester = nodeRequester(settings, policy);
  return {
    ...requester,
    request: (req) => {
      recorded?.push(req.body);
      return requester.request(req);
    },
  };
};

for (const sender of Object.keys(senders) as Sender[]) {
  for (const backend of ["redis", "embedded"] as const) {
    storeContract(`@upstash/redis over ${sender} through the gateway (${backend})`, async () => {
      const gateway = gateways[backend];
      if (!gateway) throw new Error("The gateway did not start.");
      // A prefix per test: no test sees another's keys, as no app sees another app's.
      return { stores: upstashStores(senders[sender](gateway.url), appKeys(RUN, randomUUID().slice(0, 8)), 3600) };
    });
  }
}

/** The REST requests `run` sends (by either sender), each as the list of its commands' names. */
async function requestsOf(run: () => Promise<unknown>): Promise<string[][]> {
  const bodies: unknown[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    bodies.push(JSON.parse(String(init?.body)));
    return original(input, init);
  };
  recorded = bodies;
  try {
    await run();
  } finally {
    globalThis.fetch = original;
    recorded = undefined;
  }
  // /pipeline and /multi-exec take a list of commands, a single command is one list.
  return (bodies as unknown[][]).map((body) =>
    (Array.isArray(body[0]) ? (body as unknown[][]) : [body]).map((command) => String(command[0]).toLowerCase()),
  );
}

function restStores(sender: Sender) {
  const gateway = gateways.redis;
  if (!gateway) throw new Error("The gateway did not start.");
  return upstashStores(senders[sender](gateway.url), appKeys(RUN, randomUUID().slice(0, 8)), 3600);
}

describe("the Node runtime's REST requests (node:http)", () => {
  it("never go through the global fetch, which Next patches in route handlers", async () => {
    const stores = restStores("node:http");
    const original = globalThis.fetch;
    globalThis.fetch = () => Promise.reject(new Error("the global fetch was used"));
    try {
      const r = record();
      const id = await stores.sessions.create(r);
      expect(await stores.sessions.read(id)).toEqual(r);
      expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: true });
    } finally {
      globalThis.fetch = original;
    }
  });
});

describe.each(Object.keys(senders) as Sender[])("round trips over REST, %s", (sender) => {
  it("stores a logout of a session it found in one request: one script for replay check, feed, marks and replay record", async () => {
    const stores = restStores(sender);
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

  it("ends a logout token's IdP session in two requests before the answer (holder and replay record, then the script), and the clean-up in one after it", async () => {
    const stores = restStores(sender);
    const r = record();
    const id = await stores.sessions.create(r);
    const deps = { sessions: stores.sessions, revocations: stores.revocations, now: Date.now };
    const deferred: (() => Promise<unknown>)[] = [];
    const end = (jti: string) =>
      endSessions(deps, [{ kind: "idp-session", iss: r.iss, sid: r.sid as string, sub: r.sub }], "revoked", {
        replay: { kind: "bcl", iss: r.iss, jti, ttlSeconds: 60 },
        defer: (_event, task) => void deferred.push(task),
      });
    // The first script call may load it (EVALSHA answered NOSCRIPT, then EVAL): another sid's logout first.
    await endSessions(deps, [{ kind: "idp-session", iss: r.iss, sid: "warm-up" }], "revoked");
    let outcome: Awaited<ReturnType<typeof end>> | undefined;
    const before = await requestsOf(async () => (outcome = await end(randomUUID())));
    // BCL §2.7's subject check and the holder's record are in the script: no record is read before it.
    expect(before).toEqual([["exists", "get"], ["evalsha"]]);
    expect(outcome).toMatchObject({ result: "ended", ended: [{ id, record: r }], cleanupDeferred: true });
    expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "revoked" });
    const after = await requestsOf(() => Promise.all(deferred.map((task) => task())));
    expect(after).toHaveLength(1);
    expect(await stores.sessions.read(id)).toBeNull();
  });

  it("signs in in one request: record, subject's set, log, email index and sid index in one transaction", async () => {
    const stores = restStores(sender);
    const r = record();
    let id = "";
    const requests = await requestsOf(async () => (id = await stores.sessions.create(r)));
    expect(requests).toHaveLength(1);
    expect(requests[0]).toEqual(expect.arrayContaining(["set", "sadd", "lpush", "get"]));
    expect(await stores.sessions.read(id)).toEqual(r);
    expect((await stores.sessions.find({ iss: r.iss, sid: r.sid as string })).map((s) => s.id)).toEqual([id]);
    expect(await stores.sessions.subjectsForEmail(r.claims.email as string)).toEqual([{ iss: r.iss, sub: r.sub }]);
  });

  it("deletes what ended sessions held in one transaction, whatever slots their keys are in", async () => {
    const stores = restStores(sender);
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
