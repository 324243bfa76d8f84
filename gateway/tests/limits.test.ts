/**
 * The gateway's two limits, on both backends (the Redis at TEST_REDIS_URL, 127.0.0.1:6379 by default,
 * and the embedded store): at most GATEWAY_MAX_COMMANDS commands per /pipeline or /multi-exec, and
 * every key a command names under GATEWAY_KEY_PREFIX. A refused request runs nothing. Keys outside
 * the prefix are this run's own too (OUTSIDE), so that a broken rule cannot touch anyone else's; on
 * the real Redis the test reads them directly to see that nothing reached them.
 */
import { createHash, randomUUID } from "node:crypto";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAX_COMMANDS, MAX_ARGUMENTS } from "../command-policy";
import { startGateway, type Gateway } from "../server";
import { MARK_SCRIPT, DELETE_IF_EQUAL_SCRIPT } from "../../lib/store/revoke-script";
import { testRedisUrl } from "../../tests/support/require-redis";

const TOKEN = `gw-limits-token-${randomUUID()}`;
const ID = randomUUID().slice(0, 8);
/** The gateway's prefix in these tests. */
const PREFIX = `lockstep-test:gw-limits:${ID}:`;
/** This run's keys that are not under PREFIX. */
const OUTSIDE = `lockstep-test:gw-outside:${ID}:`;
const key = (name: string) => `${PREFIX}${name}`;
const outside = (name: string) => `${OUTSIDE}${name}`;

type Backend = { name: "redis" | "embedded"; redisUrl?: string };
const BACKENDS: Backend[] = [{ name: "redis", redisUrl: testRedisUrl }, { name: "embedded" }];

/** A direct connection to the real Redis, to see what reached it. */
let direct: IORedis;

beforeAll(() => {
  direct = new IORedis(testRedisUrl);
});

afterAll(async () => {
  try {
    for (const prefix of [PREFIX, OUTSIDE]) {
      for await (const keys of direct.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
        if (keys.length > 0) await direct.unlink(...keys);
      }
    }
  } finally {
    direct.disconnect();
  }
});

type Answer = { status: number; body: unknown };

async function post(gateway: Gateway, path: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** The error of a refused answer. */
const errorOf = (answer: Answer) => (answer.body as { error?: unknown }).error;

describe.each(BACKENDS)("gateway limits: $name backend", (backend) => {
  let gateway: Gateway;
  /** The same backend with a cap of 3 commands. */
  let small: Gateway;

  beforeAll(async () => {
    gateway = await startGateway({ port: 0, token: TOKEN, redisUrl: backend.redisUrl, keyPrefix: PREFIX, log: () => {} });
    small = await startGateway({ port: 0, token: TOKEN, redisUrl: backend.redisUrl, keyPrefix: PREFIX, maxCommands: 3, log: () => {} });
  });

  afterAll(async () => {
    await Promise.all([gateway?.close(), small?.close()]);
  });

  /** How many entries a list under the prefix holds, read through a gateway (each embedded store is its gateway's own). */
  const lengthOf = async (list: string, through = gateway) =>
    ((await post(through, "/", ["lrange", list, 0, -1])).body as { result: unknown[] }).result.length;

  describe("at most GATEWAY_MAX_COMMANDS commands per request", () => {
    const pushes = (list: string, count: number) => Array.from({ length: count }, (_, i) => ["lpush", list, i]);

    it(`runs a /pipeline and a /multi-exec of exactly ${DEFAULT_MAX_COMMANDS} commands (the default)`, { timeout: 60_000 }, async () => {
      const [piped, transacted] = [key(`cap:${backend.name}:pipeline`), key(`cap:${backend.name}:multi`)];
      const pipeline = await post(gateway, "/pipeline", pushes(piped, DEFAULT_MAX_COMMANDS));
      expect(pipeline.status).toBe(200);
      expect(pipeline.body).toHaveLength(DEFAULT_MAX_COMMANDS);
      expect((await post(gateway, "/multi-exec", pushes(transacted, DEFAULT_MAX_COMMANDS))).status).toBe(200);
      expect(await lengthOf(piped)).toBe(DEFAULT_MAX_COMMANDS);
      expect(await lengthOf(transacted)).toBe(DEFAULT_MAX_COMMANDS);
    });

    it("refuses one command more with 413, and runs none of it", { timeout: 60_000 }, async () => {
      const list = key(`cap:${backend.name}:over`);
      for (const path of ["/pipeline", "/multi-exec"]) {
        const answer = await post(gateway, path, pushes(list, DEFAULT_MAX_COMMANDS + 1));
        expect(answer.status, path).toBe(413);
        expect(errorOf(answer), path).toMatch(/^ERR too many commands in one request: 10001; .* at most 10000 \(GATEWAY_MAX_COMMANDS\)/);
      }
      expect(await lengthOf(list)).toBe(0);
    });

    it("holds to the cap it is given, and counts before it reads a command", async () => {
      const list = key(`cap:${backend.name}:small`);
      for (const path of ["/pipeline", "/multi-exec"]) {
        expect((await post(small, path, pushes(list, 3))).status, path).toBe(200);
        expect((await post(small, path, pushes(list, 4))).status, path).toBe(413);
        // Four things that are not commands at all: too many, before any is parsed.
        expect((await post(small, path, [1, 2, 3, 4])).status, path).toBe(413);
      }
      expect(await lengthOf(list, small)).toBe(6);
      // One command per POST /: no batch to count.
      expect((await post(small, "/", ["mget", key("a"), key("b"), key("c"), key("d")])).status).toBe(200);
    });

    it(`refuses a command of more than ${MAX_ARGUMENTS} arguments, alone or in a batch, and runs nothing`, async () => {
      const list = key(`args:${backend.name}`);
      const keys = (n: number) => Array.from({ length: n }, (_, i) => key(`k${i}`));
      expect((await post(gateway, "/", ["mget", ...keys(MAX_ARGUMENTS)])).status).toBe(200);
      const alone = await post(gateway, "/", ["mget", ...keys(MAX_ARGUMENTS + 1)]);
      expect(alone.status).toBe(400);
      expect(String(errorOf(alone))).toContain("too many arguments");
      const batch = await post(gateway, "/pipeline", [
        ["lpush", list, "x"],
        ["del", ...keys(MAX_ARGUMENTS + 1)],
      ]);
      expect(batch.status).toBe(400);
      expect(await lengthOf(list)).toBe(0);
    });
  });

  describe("every key under GATEWAY_KEY_PREFIX", () => {
    /**
     * Per command family: commands whose keys are all under the prefix (accepted, with arguments
     * that look like keys outside it where an argument is not a key), and the same commands with
     * a key outside it (refused).
     */
    const families: { family: string; inside: (string | number)[][]; refused: (string | number)[][] }[] = [
      {
        family: "strings",
        inside: [
          ["set", key("s"), outside("not-a-key")],
          ["get", key("s")],
          ["set", key("s"), "v", "get", "px", 60_000],
          ["expire", key("s"), 60],
        ],
        refused: [
          ["set", outside("s"), "v"],
          ["get", outside("s")],
          ["expire", outside("s"), 60],
        ],
      },
      {
        family: "sets",
        inside: [
          ["sadd", key("set"), outside("member")],
          ["smembers", key("set")],
          ["srem", key("set"), outside("member")],
        ],
        refused: [
          ["sadd", outside("set"), "m"],
          ["smembers", outside("set")],
          ["srem", outside("set"), "m"],
        ],
      },
      {
        family: "lists",
        inside: [
          ["lpush", key("list"), outside("entry")],
          ["ltrim", key("list"), 0, 9],
          ["lrange", key("list"), 0, -1],
        ],
        refused: [
          ["lpush", outside("list"), "e"],
          ["ltrim", outside("list"), 0, 9],
          ["lrange", outside("list"), 0, -1],
        ],
      },
      {
        family: "sorted sets",
        inside: [
          ["zrange", key("feed"), 0, -1],
          ["zrange", key("feed"), 0, "+inf", "byscore", "limit", 0, 10],
        ],
        refused: [["zrange", outside("feed"), 0, -1]],
      },
      {
        family: "multi-key commands",
        inside: [
          ["mget", key("a"), key("b"), key("c")],
          ["exists", key("a"), key("b")],
          ["del", key("a"), key("b")],
        ],
        refused: [
          ["mget", key("a"), outside("b")],
          ["exists", outside("a"), key("b")],
          ["del", key("a"), key("b"), outside("c")],
        ],
      },
      {
        family: "scripts' KEYS",
        inside: [
          ["eval", DELETE_IF_EQUAL_SCRIPT, 1, key("lock"), outside("owner")],
          ["evalsha", sha1(DELETE_IF_EQUAL_SCRIPT), 1, key("lock"), outside("owner")],
          ["eval", MARK_SCRIPT, 2, key("mark:1"), key("mark:2"), 60, outside("reason"), "", ""],
        ],
        refused: [
          ["eval", DELETE_IF_EQUAL_SCRIPT, 1, outside("lock"), "owner"],
          ["evalsha", sha1(DELETE_IF_EQUAL_SCRIPT), 1, outside("lock"), "owner"],
          ["eval", MARK_SCRIPT, 2, key("mark:1"), outside("mark:2"), 60, "reason", "", ""],
        ],
      },
    ];

    it.each(families)("accepts $family with their keys under the prefix", async ({ inside }) => {
      for (const command of inside) {
        const answer = await post(gateway, "/", command);
        expect(answer.status, JSON.stringify(command)).toBe(200);
      }
      expect((await post(gateway, "/pipeline", inside)).status).toBe(200);
      expect((await post(gateway, "/multi-exec", inside)).status).toBe(200);
    });

    it.each(families)("refuses $family with a key outside the prefix, naming the prefix", async ({ refused }) => {
      for (const command of refused) {
        const answer = await post(gateway, "/", command);
        expect(answer.status, JSON.stringify(command)).toBe(400);
        expect(errorOf(answer)).toContain(`key outside the Lockstep key prefix ${JSON.stringify(PREFIX)}`);
      }
      if (backend.name === "redis") expect(await direct.keys(`${OUTSIDE}*`)).toEqual([]);
    });

    it("checks the prefix as the first characters of the key, case and all", async () => {
      for (const stray of [`x${PREFIX}k`, PREFIX.toUpperCase(), `${PREFIX.slice(0, -1)}-other:k`, PREFIX.slice(0, -1), ""]) {
        expect((await post(gateway, "/", ["get", stray])).status, stray).toBe(400);
      }
      expect((await post(gateway, "/", ["get", PREFIX])).status).toBe(200);
    });

    it("refuses a numkeys Redis would not read as the same count of keys", async () => {
      for (const numkeys of ["one", "-1", "+1", "01", " 1", "1.0", "1e0", "0x1", "3", "99999999999", ""]) {
        const answer = await post(gateway, "/", ["eval", DELETE_IF_EQUAL_SCRIPT, numkeys, key("lock"), "owner"]);
        expect(answer.status, numkeys).toBe(400);
        expect(errorOf(answer), numkeys).toMatch(/^ERR eval: numkeys must be a whole number/);
      }
      // The count decides which arguments are keys: an ARGV outside the prefix is no key.
      expect((await post(gateway, "/", ["eval", DELETE_IF_EQUAL_SCRIPT, "1", key("lock"), outside("argv")])).status).toBe(200);
      expect((await post(gateway, "/", ["eval", DELETE_IF_EQUAL_SCRIPT, "2", key("lock"), outside("argv")])).status).toBe(400);
    });

    it("repeats no more than the first 16 characters of a refused key", async () => {
      const secret = `session-id-${randomUUID()}`;
      const answer = await post(gateway, "/", ["get", `other-app:${secret}`]);
      expect(answer.status).toBe(400);
      expect(errorOf(answer)).toContain(`get "other-app:sessio"…`);
      expect(errorOf(answer)).not.toContain(secret.slice(5));
    });

    it("refuses a whole /pipeline or /multi-exec with one key outside it, and runs none of it", async () => {
      const [written, pushed] = [key(`mixed:${backend.name}:s`), key(`mixed:${backend.name}:l`)];
      const mixed = [
        ["set", written, "ran"],
        ["lpush", pushed, "ran"],
        ["del", key("a"), outside("victim")],
        ["set", key("after"), "ran"],
      ];
      if (backend.name === "redis") await direct.set(outside("victim"), "untouched");
      for (const path of ["/pipeline", "/multi-exec"]) {
        const answer = await post(gateway, path, mixed);
        expect(answer.status, path).toBe(400);
        expect(errorOf(answer), path).toMatch(/key outside the Lockstep key prefix .*\(command 3 of 4; nothing was run\)$/);
      }
      expect((await post(gateway, "/", ["exists", written, pushed, key("after")])).body).toEqual({ result: 0 });
      if (backend.name === "redis") expect(await direct.get(outside("victim"))).toBe("untouched");
      // A command that is not Lockstep's still fails in its own slot (command-policy.ts), the rest runs.
      expect((await post(gateway, "/pipeline", [["set", written, "ran"], ["flushall"]])).body).toEqual([
        { result: "OK" },
        { error: "ERR command not allowed by the Lockstep gateway: flushall" },
      ]);
    });
  });
});

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}
