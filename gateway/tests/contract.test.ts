/**
 * The gateway's contract, run against both backends: @upstash/redis (the real client) must see
 * the same answers from a real Redis and from the embedded store, and the wire must look like
 * Upstash's. Only Lockstep's commands and scripts get through (command-policy.ts); the embedded
 * store's answers to every other command are compared with Redis's in backends.test.ts. Keys live
 * under a random per-run prefix; the real Redis is cleaned up afterwards.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis as Upstash, type RedisConfigNodejs } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ALLOWED_COMMANDS } from "../command-policy";
import { startGateway, type Gateway } from "../server";
import { MARK_SCRIPT, FEED_SCRIPT, DELETE_IF_EQUAL_SCRIPT } from "../../lib/store/revoke-script";
import { testRedisUrl } from "../../tests/support/require-redis";
import { haveRedisServer, privateRedis, type PrivateRedis } from "./support/private-redis";

const TOKEN = `gw-test-token-${randomUUID()}`;
const RUN = `lockstep-test:gw:${randomUUID().slice(0, 8)}:`;
const key = (name: string) => `${RUN}${name}`;

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_AN_INTEGER = "ERR value is not an integer or out of range";
const NOT_ALLOWED = "ERR command not allowed by the Lockstep gateway: ";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Values that trip encoders: emoji, accents, newlines, JSON, "OK", base64-looking, empty, NUL. */
const TRICKY_VALUES = [
  "😀",
  "👨‍👩‍👧 family",
  "héllo wörld — Zoë, Ærøskøbing",
  "日本語のテキスト",
  "line one\nline two\r\nline three",
  '{"user":"zoë","roles":["admin"],"nested":{"n":1.5,"ok":true,"none":null}}',
  '"just a quoted string"',
  "OK",
  "",
  "  padded  ",
  "aGVsbG8=",
  "123",
  "null",
  "tab\there",
  "nul\u0000byte",
];

type Backend = { name: "redis" | "embedded"; redisUrl?: string };
const BACKENDS: Backend[] = [{ name: "redis", redisUrl: testRedisUrl }, { name: "embedded" }];

/**
 * The real-Redis backend is a redis-server of this file's own: the policy tests send FLUSHALL,
 * SCRIPT FLUSH, CONFIG SET and the like, which must never reach the shared Redis, not even when
 * the policy is broken. Without the redis-server binary the shared Redis serves, and those
 * commands are left out.
 */
const PRIVATE = haveRedisServer();
const DANGEROUS = new Set(
  ["flushall", "flushdb", "script", "function", "fcall", "config", "debug", "shutdown", "save"]
    .concat(["bgsave", "replicaof", "client", "monitor", "swapdb", "move", "copy", "migrate", "select", "multi", "exec"])
    .concat(["subscribe", "psubscribe", "blpop", "xread", "module", "acl", "hello", "auth", "keys"]),
);
/** Whether the command may be sent at all: anything to a private server, only harmless ones to the shared one. */
const sendable = (command: (string | number)[]) => PRIVATE || !DANGEROUS.has(String(command[0]).toLowerCase());
let server: PrivateRedis | undefined;

beforeAll(async () => {
  if (!PRIVATE) return;
  server = await privateRedis();
  await server.start();
  for (const backend of BACKENDS) if (backend.name === "redis") backend.redisUrl = server.url;
});

function startFor(backend: Backend): Promise<Gateway> {
  return startGateway({ port: 0, token: TOKEN, redisUrl: backend.redisUrl, keyPrefix: RUN, log: () => {} });
}

async function post(
  gateway: Gateway,
  path: string,
  body: unknown,
  { base64 = false, authorization = `Bearer ${TOKEN}` }: { base64?: boolean; authorization?: string | null } = {},
): Promise<{ status: number; contentType: string | null; body: unknown }> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (authorization !== null) headers.Authorization = authorization;
  if (base64) headers["Upstash-Encoding"] = "base64";
  const res = await fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get("content-type"), body: await res.json() };
}

afterAll(async () => {
  // Only the real Redis keeps anything; the embedded store goes with its gateway.
  if (server) return server.stop();
  const redis = new IORedis(testRedisUrl);
  try {
    for await (const keys of redis.scanStream({ match: `${RUN}*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
});

describe.each(BACKENDS)("gateway contract: $name backend", (backend) => {
  let gateway: Gateway;
  /** The client as the app would make it by default: deserialization and auto-pipelining on. */
  let redis: Upstash;
  /** Raw strings, one POST / per command. */
  let raw: Upstash;
  /** Raw strings without Upstash-Encoding: base64. */
  let plain: Upstash;

  const client = (config: Partial<RedisConfigNodejs> = {}) =>
    new Upstash({ url: gateway.url, token: TOKEN, retry: false, enableTelemetry: false, ...config });

  beforeAll(async () => {
    gateway = await startFor(backend);
    redis = client();
    raw = client({ automaticDeserialization: false, enableAutoPipelining: false });
    plain = client({ automaticDeserialization: false, enableAutoPipelining: false, responseEncoding: false });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it("reports its backend", () => {
    expect(gateway.backend).toBe(backend.name);
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  describe("single commands", () => {
    it("set, get, del, exists, mget", async () => {
      const [a, b, missing] = [key("s:a"), key("s:b"), key("s:missing")];
      expect(await raw.set(a, "alpha")).toBe("OK");
      expect(await raw.set(b, "beta")).toBe("OK");
      expect(await raw.get(a)).toBe("alpha");
      expect(await raw.mget(a, missing, b)).toEqual(["alpha", null, "beta"]);
      expect(await raw.exists(a, b, missing)).toBe(2);
      expect(await raw.del(a, missing)).toBe(1);
      expect(await raw.get(a)).toBeNull();
      expect(await raw.exists(a)).toBe(0);
    });

    it("set with options: NX, XX, GET, KEEPTTL", async () => {
      const k = key("s:nx");
      expect(await raw.set(k, "first", { nx: true })).toBe("OK");
      expect(await raw.set(k, "second", { nx: true })).toBeNull();
      expect(await raw.set(key("s:xx-missing"), "v", { xx: true })).toBeNull();
      expect(await raw.set(k, "third", { get: true })).toBe("first");
      expect(await raw.get(k)).toBe("third");
      expect(await raw.set(k, "fourth", { keepTtl: true, xx: true })).toBe("OK");
      expect(await raw.get(k)).toBe("fourth");
    });

    it("sets: sadd, smembers, srem", async () => {
      const k = key("set:tags");
      expect(await raw.sadd(k, "red", "grün", "🟦")).toBe(3);
      expect(await raw.sadd(k, "red")).toBe(0);
      expect((await raw.smembers(k)).sort()).toEqual(["grün", "red", "🟦"].sort());
      expect(await raw.srem(k, "red", "nope")).toBe(1);
      expect((await raw.smembers(k)).sort()).toEqual(["grün", "🟦"].sort());
      expect(await raw.smembers(key("set:missing"))).toEqual([]);
    });

    it("lists: lpush, ltrim, lrange", async () => {
      const k = key("list:log");
      expect(await raw.lpush(k, "one", "two", "drei")).toBe(3);
      expect(await raw.lrange(k, 0, -1)).toEqual(["drei", "two", "one"]);
      expect(await raw.ltrim(k, 0, 1)).toBe("OK");
      expect(await raw.lrange(k, 0, -1)).toEqual(["drei", "two"]);
      expect(await raw.lrange(key("list:missing"), 0, -1)).toEqual([]);
    });

    it("missing keys read as null", async () => {
      const missing = key("missing");
      expect(await raw.get(missing)).toBeNull();
      expect(await redis.get(missing)).toBeNull();
      expect(await raw.mget(missing, key("missing-too"))).toEqual([null, null]);
      expect(await raw.expire(missing, 10)).toBe(0);
      expect(await raw.zrange(missing, 0, -1)).toEqual([]);
    });

    it("default deserialization parses JSON, raw keeps the text", async () => {
      const k = key("s:json");
      await redis.set(k, { user: "zoë", roles: ["admin"] });
      expect(await redis.get(k)).toEqual({ user: "zoë", roles: ["admin"] });
      expect(await raw.get(k)).toBe('{"user":"zoë","roles":["admin"]}');
      await redis.set(k, 42);
      expect(await redis.get(k)).toBe(42);
      expect(await raw.get(k)).toBe("42");
    });
  });

  describe("expiry", () => {
    it("a key set with a short PX disappears", async () => {
      const k = key("ttl:short");
      expect(await raw.set(k, "brief", { px: 150 })).toBe("OK");
      expect(await raw.exists(k)).toBe(1);
      await sleep(400);
      expect(await raw.get(k)).toBeNull();
      expect(await raw.exists(k)).toBe(0);
    });

    it("expire and set EX", async () => {
      const [k, ex] = [key("ttl:expire"), key("ttl:ex")];
      await raw.set(k, "v");
      expect(await raw.expire(k, 1)).toBe(1);
      expect(await raw.set(ex, "v", { ex: 1 })).toBe("OK");
      expect(await raw.exists(k, ex)).toBe(2);
      await sleep(1_300);
      expect(await raw.exists(k, ex)).toBe(0);
    });
  });

  describe("values round-trip byte for byte", () => {
    it.each([
      { label: "with Upstash-Encoding: base64", tag: "b64", pick: () => raw },
      { label: "without it", tag: "plain", pick: () => plain },
    ])("strings, sets, lists, $label", async ({ tag, pick }) => {
      const c = pick();
      const keys = TRICKY_VALUES.map((_, i) => key(`rt:${tag}:${i}:ключ-😀`));
      for (const [i, value] of TRICKY_VALUES.entries()) {
        expect(await c.set(keys[i] as string, value)).toBe("OK");
        expect(await c.get(keys[i] as string)).toBe(value);
      }
      expect(await c.mget(...keys)).toEqual(TRICKY_VALUES);

      const set = key(`rt:${tag}:set`);
      const members = TRICKY_VALUES.filter((value) => value !== "");
      await c.sadd(set, members[0] as string, ...members.slice(1));
      expect((await c.smembers(set)).sort()).toEqual([...members].sort());

      const list = key(`rt:${tag}:list`);
      await c.lpush(list, ...TRICKY_VALUES);
      expect(await c.lrange(list, 0, -1)).toEqual([...TRICKY_VALUES].reverse());
    });

    it("the default client reads JSON-looking values as JSON", async () => {
      const k = key("rt:default");
      for (const [suffix, value] of [
        ["a", "123"],
        ["b", "null"],
        ["c", "😀"],
        ["d", "OK"],
      ]) {
        await raw.set(`${k}:${suffix}`, value);
      }
      expect(await redis.mget(`${k}:a`, `${k}:b`, `${k}:c`, `${k}:d`)).toEqual([123, null, "😀", "OK"]);
      expect(await redis.get(`${k}:d`)).toBe("OK");
    });
  });

  describe("pipelines and transactions", () => {
    it("pipeline() runs commands in order", async () => {
      const [s, l, set] = [key("p:s"), key("p:l"), key("p:set")];
      const result = await redis
        .pipeline()
        .set(s, "value ✓")
        .get(s)
        .lpush(l, "a")
        .lpush(l, "b")
        .sadd(set, "x")
        .smembers(set)
        .get(key("p:missing"))
        .exec();
      expect(result).toEqual(["OK", "value ✓", 1, 2, 1, ["x"], null]);
    });

    it("a failing command in a pipeline fails alone", async () => {
      const [s, after] = [key("p:err:s"), key("p:err:after")];
      await raw.set(s, "a string");
      const pipeline = () => raw.pipeline().get(s).lrange(s, 0, -1).set(after, "ran");
      await expect(pipeline().exec()).rejects.toThrow(`Command 2 [ lrange ] failed: ${WRONGTYPE}`);
      expect(await pipeline().exec({ keepErrors: true })).toEqual([
        { result: "a string", error: undefined },
        { result: undefined, error: WRONGTYPE },
        { result: "OK", error: undefined },
      ]);
      expect(await raw.get(after)).toBe("ran");
    });

    it("auto-pipelined single commands (the default client)", async () => {
      const k = key("p:auto");
      const [set, pushed, get, missing] = await Promise.all([
        redis.set(`${k}:s`, "😀"),
        redis.lpush(`${k}:l`, "x"),
        redis.get(`${k}:s`),
        redis.get(`${k}:missing`),
      ]);
      expect([set, pushed, get, missing]).toEqual(["OK", 1, "😀", null]);
      await expect(redis.lpush(`${k}:s`, "x")).rejects.toThrow(`Command failed: ${WRONGTYPE}`);
    });

    it("multi() runs a transaction", async () => {
      const [k, l] = [key("tx:k"), key("tx:l")];
      expect(await redis.multi().set(k, "1").get(k).exists(k).exec()).toEqual(["OK", 1, 1]);
      expect(await raw.multi().lpush(l, "a", "b").lrange(l, 0, -1).del(k).exec()).toEqual([2, ["b", "a"], 1]);
    });

    it("a command failing while a transaction runs fails alone, as in EXEC", async () => {
      const [s, after] = [key("tx:err:s"), key("tx:err:after")];
      const result = await raw.multi().set(s, "text").sadd(s, "x").set(after, "ran").exec({ keepErrors: true });
      expect(result).toEqual([
        { result: "OK", error: undefined },
        { result: undefined, error: WRONGTYPE },
        { result: "OK", error: undefined },
      ]);
      expect(await raw.get(after)).toBe("ran");
    });

    it("transactions are atomic", async () => {
      const k = key("tx:atomic");
      const results = await Promise.all(Array.from({ length: 25 }, () => raw.multi().lpush(k, "x").lpush(k, "x").exec<[number, number]>()));
      for (const [first, second] of results) expect(second).toBe(first + 1);
      expect(await raw.lrange(k, 0, -1)).toHaveLength(50);
    });
  });

  describe("scripts: Lockstep's own, and no others", () => {
    it("the unlock script by EVAL: a compare-and-delete", async () => {
      const lock = key("lua:lock");
      await raw.set(lock, "owner-1", { px: 10_000, nx: true });
      expect(await raw.eval(DELETE_IF_EQUAL_SCRIPT, [lock], ["owner-2"])).toBe(0);
      expect(await raw.exists(lock)).toBe(1);
      expect(await raw.eval(DELETE_IF_EQUAL_SCRIPT, [lock], ["owner-1"])).toBe(1);
      expect(await raw.exists(lock)).toBe(0);
    });

    it("the mark script by EVAL: plain marks, and a subject mark that only moves forward", async () => {
      const [subject, session] = [key("lua:subject"), key("lua:session")];
      const now = Date.now();
      expect(await raw.eval(MARK_SCRIPT, [subject, session], ["3600", "test ✓", String(now - 5), ""])).toBe(2);
      expect(await raw.eval(MARK_SCRIPT, [subject], ["3600", "older", String(now - 50)])).toBe(1);
      expect(await raw.get(subject)).toBe(`${now - 5}|test ✓`);
      expect(await raw.get(session)).toBe("test ✓");
    });

    it("the feed script by EVAL: entries by time, the old ones dropped", async () => {
      const feed = key("lua:feed");
      const now = Date.now();
      const entry = JSON.stringify({ lsid: "s-1", reason: "test ✓" });
      expect(await raw.eval(FEED_SCRIPT, [feed], [String(now - 120_000), "60000", "old"])).toBe(1);
      expect(await raw.eval(FEED_SCRIPT, [feed], [String(now), "60000", entry])).toBe(1);
      expect(await raw.zrange(feed, now, "+inf", { byScore: true })).toEqual([entry]);
      expect(await raw.zrange(feed, 0, -1, { withScores: true })).toEqual([entry, String(now)]);
    });

    it("EVALSHA of Lockstep's scripts, and createScript's EVALSHA-then-EVAL", async () => {
      const lock = key("lua:sha");
      if (backend.name === "embedded") {
        // A new store has no scripts cached: NOSCRIPT, which createScript answers with EVAL.
        const fresh = await startFor(backend);
        try {
          const client = new Upstash({ url: fresh.url, token: TOKEN, retry: false, enableTelemetry: false, enableAutoPipelining: false });
          await expect(client.evalsha(sha1(DELETE_IF_EQUAL_SCRIPT), [lock], ["me"])).rejects.toThrow(
            /^NOSCRIPT No matching script\. Please use EVAL\., command was: /,
          );
          await client.set(lock, "me");
          expect(await client.createScript<number>(DELETE_IF_EQUAL_SCRIPT).exec([lock], ["me"])).toBe(1);
          await client.set(lock, "me");
          expect(await client.evalsha(sha1(DELETE_IF_EQUAL_SCRIPT), [lock], ["me"])).toBe(1);
        } finally {
          await fresh.close();
        }
      }
      await raw.set(lock, "me");
      expect(await raw.createScript<number>(DELETE_IF_EQUAL_SCRIPT).exec([lock], ["me"])).toBe(1);
      await raw.set(lock, "me");
      expect(await raw.evalsha(sha1(DELETE_IF_EQUAL_SCRIPT).toUpperCase(), [lock], ["me"])).toBe(1);
      expect(await raw.exists(lock)).toBe(0);
    });

    it("refuses any other script, by EVAL or EVALSHA, however close to Lockstep's", async () => {
      const marker = join(tmpdir(), `lockstep-gateway-eval-${randomUUID()}`);
      const attacks = [
        `os.execute("id > ${marker}") return 1`,
        'return os.getenv("UPSTASH_REDIS_REST_TOKEN")',
        "os.exit(1)",
        ...(PRIVATE ? ["redis.call('select', 1) return redis.call('flushdb')"] : []),
        "return 1",
        `${DELETE_IF_EQUAL_SCRIPT} `,
        DELETE_IF_EQUAL_SCRIPT.toUpperCase(),
      ];
      for (const script of attacks) {
        expect(await post(gateway, "/", ["eval", script, "0"]), script).toEqual({
          status: 400,
          contentType: "application/json",
          body: { error: `${NOT_ALLOWED}eval of a script that is not Lockstep's (sha1 ${sha1(script)})` },
        });
        await expect(raw.createScript(script).exec([], [])).rejects.toThrow(`${NOT_ALLOWED}evalsha`);
      }
      const unknownSha = sha1(attacks[0] as string);
      expect((await post(gateway, "/", ["evalsha", unknownSha, "0"])).body).toEqual({
        error: `${NOT_ALLOWED}evalsha of a script that is not Lockstep's (${unknownSha})`,
      });
      expect(
        (
          await post(gateway, "/pipeline", [
            ["eval", attacks[0], "0"],
            ["get", key("lua:after")],
          ])
        ).body,
      ).toEqual([{ error: `${NOT_ALLOWED}eval of a script that is not Lockstep's (sha1 ${unknownSha})` }, { result: null }]);
      expect(
        (
          await post(gateway, "/multi-exec", [
            ["set", key("lua:tx"), "1"],
            ["eval", "return 1", "0"],
          ])
        ).body,
      ).toEqual({
        error: `EXECABORT Transaction discarded because of: ${NOT_ALLOWED}eval of a script that is not Lockstep's (sha1 ${sha1("return 1")})`,
      });
      expect(await raw.exists(key("lua:tx"))).toBe(0);
      expect(existsSync(marker)).toBe(false);
      // The gateway is still up and still answers.
      expect(await raw.set(key("lua:alive"), "yes")).toBe("OK");
    });
  });

  describe("the command policy: Lockstep's commands, nothing else", () => {
    it("allows exactly the commands Lockstep sends", () => {
      expect([...ALLOWED_COMMANDS].sort()).toEqual([
        "del",
        "eval",
        "evalsha",
        "exists",
        "expire",
        "get",
        "lpush",
        "lrange",
        "ltrim",
        "mget",
        "sadd",
        "set",
        "smembers",
        "srem",
        "zrange",
      ]);
    });

    it("refuses everything else with 400 and the command's name, and runs none of it", async () => {
      const canary = key("policy:canary");
      await raw.set(canary, "still here");
      const refused = (
        [
          ["flushall"],
          ["FLUSHDB"],
          ["keys", "*"],
          ["scan", 0],
          ["script", "flush"],
          ["script", "load", "return 1"],
          ["function", "flush"],
          ["function", "list"],
          ["fcall", "f", 0],
          ["info"],
          ["slowlog", "get"],
          ["latency", "latest"],
          ["memory", "usage", canary],
          ["pfselftest"],
          ["config", "get", "*"],
          ["config", "set", "dir", "/tmp"],
          ["select", 1],
          ["swapdb", 0, 1],
          ["move", canary, 1],
          ["copy", canary, key("policy:copy"), "db", 1],
          ["multi"],
          ["exec"],
          ["watch", canary],
          ["subscribe", "news"],
          ["psubscribe", "*"],
          ["monitor"],
          ["client", "list"],
          ["client", "kill", "type", "normal"],
          ["hello", 3],
          ["auth", "x"],
          ["acl", "list"],
          ["debug", "sleep", 1],
          ["shutdown"],
          ["save"],
          ["bgsave"],
          ["replicaof", "127.0.0.1", 1],
          ["module", "list"],
          ["migrate", "127.0.0.1", 1, canary, 0, 100],
          ["blpop", canary, 0],
          ["xread", "block", 0, "streams", "s", "$"],
          ["eval_ro", DELETE_IF_EQUAL_SCRIPT, 1, canary, "x"],
          ["evalsha_ro", sha1(DELETE_IF_EQUAL_SCRIPT), 1, canary, "x"],
          ["ping"],
          ["echo", "x"],
          ["hset", canary, "f", "v"],
          ["incr", key("policy:n")],
          ["zadd", canary, 1, "m"],
          ["ttl", canary],
          ["rename", canary, key("policy:renamed")],
          ["unlink", canary],
          ["getdel", canary],
          ["object", "encoding", canary],
          ["dump", canary],
          ["nosuchcommand", "a"],
        ] as (string | number)[][]
      ).filter(sendable);
      for (const command of refused) {
        const name = String(command[0]).toLowerCase();
        expect(await post(gateway, "/", command), name).toEqual({
          status: 400,
          contentType: "application/json",
          body: { error: `${NOT_ALLOWED}${name}` },
        });
      }
      expect((await post(gateway, "/pipeline", refused)).body).toEqual(
        refused.map((command) => ({ error: `${NOT_ALLOWED}${String(command[0]).toLowerCase()}` })),
      );
      expect(await raw.get(canary)).toBe("still here");
      expect(await raw.exists(key("policy:copy"), key("policy:renamed"), key("policy:n"))).toBe(0);
    });

    it("cuts a long command name short in its error", async () => {
      const name = "x".repeat(10_000);
      expect((await post(gateway, "/", [name])).body).toEqual({ error: `${NOT_ALLOWED}${"x".repeat(64)}` });
    });
  });

  describe("errors", () => {
    it("wrong type gives Redis's text", async () => {
      const s = key("err:s");
      await raw.set(s, "text");
      await expect(raw.smembers(s)).rejects.toThrow(`${WRONGTYPE}, command was: ${JSON.stringify(["smembers", s])}`);
      await expect(raw.lpush(s, "x")).rejects.toThrow(WRONGTYPE);
      await expect(raw.sadd(s, "x")).rejects.toThrow(WRONGTYPE);
      await expect(raw.lrange(s, 0, -1)).rejects.toThrow(WRONGTYPE);
      await expect(raw.zrange(s, 0, -1)).rejects.toThrow(WRONGTYPE);
      await raw.sadd(key("err:set"), "m");
      await expect(raw.get(key("err:set"))).rejects.toThrow(WRONGTYPE);
      // SET replaces a value of any type.
      expect(await raw.set(key("err:set"), "now a string")).toBe("OK");
    });

    it("arguments that are not integers", async () => {
      const s = key("err:int");
      await raw.set(s, "v");
      await expect(raw.exec(["expire", s, "soon"])).rejects.toThrow(`${NOT_AN_INTEGER}, command was:`);
      await expect(raw.exec(["set", s, "v", "PX", "0"])).rejects.toThrow("ERR invalid expire time in 'set' command");
      // A numkeys the gateway cannot read as Redis would is refused before Redis sees it (limits.test.ts).
      await expect(raw.exec(["eval", DELETE_IF_EQUAL_SCRIPT, "one", s])).rejects.toThrow("ERR eval: numkeys must be a whole number");
    });

    it("wrong arity, unknown and refused commands", async () => {
      await expect(raw.exec(["get"])).rejects.toThrow(`ERR wrong number of arguments for 'get' command, command was: ["get"]`);
      await expect(raw.exec(["SET", key("err:arity")])).rejects.toThrow("ERR wrong number of arguments for 'set' command");
      await expect(raw.exec(["nosuchcommand", "a", "b c"])).rejects.toThrow(`${NOT_ALLOWED}nosuchcommand`);
      await expect(raw.exec(["subscribe", "news"])).rejects.toThrow(`${NOT_ALLOWED}subscribe`);
      await expect(raw.exec(["eval", DELETE_IF_EQUAL_SCRIPT, "2", key("a")])).rejects.toThrow("ERR eval: numkeys must be a whole number");
    });

    it("a wrong or missing token: 401, and the client throws", async () => {
      const k = key("auth");
      await expect(client({ token: `${TOKEN}x` }).get(k)).rejects.toThrow(/^Unauthorized, command was: /);
      await expect(client({ token: "not-the-token-at-all" }).pipeline().get(k).exec()).rejects.toThrow(/^Unauthorized, command was: /);
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      try {
        await expect(client({ token: "" }).get(k)).rejects.toThrow(/^Unauthorized/);
      } finally {
        warn.mockRestore();
      }
    });
  });

  describe("the wire, by raw fetch", () => {
    it("POST /: one command, {result} or {error}", async () => {
      const k = key("wire:single");
      expect(await post(gateway, "/", ["set", k, "héllo 😀"])).toEqual({
        status: 200,
        contentType: "application/json",
        body: { result: "OK" },
      });
      expect((await post(gateway, "/", ["get", k])).body).toEqual({ result: "héllo 😀" });
      expect((await post(gateway, "/", ["get", k], { base64: true })).body).toEqual({ result: b64("héllo 😀") });
      // A top-level "OK" stays plain under base64 (the client's decoder passes it through).
      expect((await post(gateway, "/", ["set", k, "OK"], { base64: true })).body).toEqual({ result: "OK" });
      expect((await post(gateway, "/", ["get", k], { base64: true })).body).toEqual({ result: "OK" });
      expect((await post(gateway, "/", ["mget", k, key("wire:none")], { base64: true })).body).toEqual({
        result: [b64("OK"), null],
      });
      expect((await post(gateway, "/", ["lpush", key("wire:n"), 5], { base64: true })).body).toEqual({ result: 1 });
      expect((await post(gateway, "/", ["get", key("wire:none")], { base64: true })).body).toEqual({ result: null });
      expect(await post(gateway, "/", ["smembers", k])).toEqual({
        status: 400,
        contentType: "application/json",
        body: { error: WRONGTYPE },
      });
      expect(await post(gateway, "/", ["get"])).toMatchObject({
        status: 400,
        body: { error: "ERR wrong number of arguments for 'get' command" },
      });
    });

    it("POST /pipeline: one {result} or {error} per command", async () => {
      const k = key("wire:pipeline");
      const commands = [
        ["set", k, "ünï"],
        ["get", k],
        ["get"],
        ["lpush", `${k}:l`, "a", "b"],
        ["lrange", `${k}:l`, 0, -1],
        ["get", `${k}:none`],
        ["subscribe", "x"],
      ];
      const arity = "ERR wrong number of arguments for 'get' command";
      expect(await post(gateway, "/pipeline", commands, { base64: true })).toEqual({
        status: 200,
        contentType: "application/json",
        body: [
          { result: "OK" },
          { result: b64("ünï") },
          { error: arity },
          { result: 2 },
          { result: [b64("b"), b64("a")] },
          { result: null },
          { error: `${NOT_ALLOWED}subscribe` },
        ],
      });
      expect((await post(gateway, "/pipeline", commands.slice(1, 2))).body).toEqual([{ result: "ünï" }]);
    });

    it("POST /multi-exec: a transaction; a queueing error discards all of it", async () => {
      const k = key("wire:multi");
      expect(
        await post(gateway, "/multi-exec", [
          ["set", k, "1"],
          ["get", k],
          ["smembers", k],
        ]),
      ).toEqual({
        status: 200,
        contentType: "application/json",
        body: [{ result: "OK" }, { result: "1" }, { error: WRONGTYPE }],
      });
      expect(await post(gateway, "/multi-exec", [["set", `${k}:2`, "1"], ["get"]])).toEqual({
        status: 400,
        contentType: "application/json",
        body: {
          error: "EXECABORT Transaction discarded because of: ERR wrong number of arguments for 'get' command",
        },
      });
      expect(await raw.exists(`${k}:2`)).toBe(0);
      expect(
        (
          await post(gateway, "/multi-exec", [
            ["set", `${k}:3`, "1"],
            ["watch", k],
          ])
        ).body,
      ).toEqual({
        error: `EXECABORT Transaction discarded because of: ${NOT_ALLOWED}watch`,
      });
      expect(await raw.exists(`${k}:3`)).toBe(0);
    });

    it("authorization, health, malformed requests", async () => {
      const unauthorized = { status: 401, contentType: "application/json", body: { error: "Unauthorized" } };
      expect(await post(gateway, "/", ["get", "x"], { authorization: null })).toEqual(unauthorized);
      expect(await post(gateway, "/", ["get", "x"], { authorization: `Bearer ${TOKEN}-` })).toEqual(unauthorized);
      expect(await post(gateway, "/pipeline", [["get", "x"]], { authorization: `Basic ${TOKEN}` })).toEqual(unauthorized);
      expect((await post(gateway, "/", ["get", key("x")], { authorization: `bearer ${TOKEN}` })).status).toBe(200);

      const health = await fetch(`${gateway.url}/healthz`);
      expect([health.status, await health.json()]).toEqual([200, { ok: true, backend: backend.name }]);

      expect(await post(gateway, "/", "{not json")).toMatchObject({ status: 400, body: { error: expect.any(String) } });
      expect(await post(gateway, "/", { cmd: "get" })).toMatchObject({ status: 400, body: { error: expect.any(String) } });
      expect(await post(gateway, "/", ["get", { nested: true }])).toMatchObject({ status: 400 });
      expect(await post(gateway, "/pipeline", [])).toMatchObject({ status: 400, body: { error: expect.any(String) } });
      expect(await post(gateway, "/pipeline", ["get", "x"])).toMatchObject({ status: 400 });
      expect(await post(gateway, "/nope", ["get", "x"])).toMatchObject({ status: 404 });
      expect((await fetch(`${gateway.url}/`)).status).toBe(405);
    });
  });
});

describe("both backends give the same bytes through the gateway", () => {
  const t = (name: string) => key(`transcript:${name}`);
  const NOW = 1_700_000_000_000;
  const entry = JSON.stringify({ lsid: "l-1", reason: "ë" });
  const mark = (before: number) => ["eval", MARK_SCRIPT, 2, t("subject"), t("session"), 3600, "ë", before, ""];
  const feed = (at: number) => ["eval", FEED_SCRIPT, 1, t("feed"), at, 60_000, entry];
  const transcript = (
    [
      ["set", t("s"), "héllo 😀"],
      ["get", t("s")],
      ["set", t("n"), "10"],
      ["mget", t("s"), t("missing"), t("n")],
      ["exists", t("s"), t("n"), t("missing")],
      ["sadd", t("set"), "a", "b", "c"],
      ["sadd", t("set"), "a"],
      ["srem", t("set"), "a", "b", "zz"],
      ["smembers", t("set")],
      ["lpush", t("l"), "x", "y", "z"],
      ["ltrim", t("l"), 0, 1],
      ["lrange", t("l"), 0, -1],
      ["expire", t("s"), 100],
      ["expire", t("missing"), 10],
      ["expire", t("s"), "soon"],
      ["expire", t("s"), 50, "nx"],
      ["expire", t("s"), 500, "gt"],
      ["expire", t("s"), 50, "nx", "xx"],
      ["expire", t("s"), 50, "whenever"],
      ["set", t("opt"), "a", "nx", "px", 100_000],
      ["set", t("opt"), "b", "nx"],
      ["set", t("opt"), "c", "xx", "get", "keepttl"],
      ["set", t("opt"), "d", "ex", 10, "px", 10],
      ["set", t("opt"), "d", "nx", "xx"],
      ["set", t("opt"), "d", "ex", "abc"],
      ["set", t("opt"), "d", "bogus"],
      ["set", t("px"), "v", "PX", 0],
      ["set", t("past"), "v", "exat", 1],
      ["exists", t("past")],
      ["set", t("kt"), "v", "px", 100_000],
      ["set", t("kt"), "w", "keepttl", "xx"],
      ["get", t("kt")],
      ["get", t("set")],
      ["lpush", t("s"), "v"],
      ["sadd", t("l"), "m"],
      ["lrange", t("s"), 0, -1],
      ["smembers", t("s")],
      ["zrange", t("s"), 0, -1],
      ["get"],
      ["set", t("x")],
      ["mget"],
      ["eval", DELETE_IF_EQUAL_SCRIPT, 1, t("lock"), "me"],
      ["set", t("lock"), "me"],
      ["eval", DELETE_IF_EQUAL_SCRIPT, 1, t("lock"), "me"],
      ["set", t("lock"), "me"],
      ["evalsha", sha1(DELETE_IF_EQUAL_SCRIPT), 1, t("lock"), "me"],
      ["exists", t("replay")],
      feed(NOW - 120_000),
      feed(NOW),
      mark(NOW - 5),
      mark(NOW - 50),
      ["set", t("replay"), "1", "nx", "ex", 60],
      ["set", t("replay"), "1", "nx", "ex", 60],
      ["get", t("subject")],
      ["get", t("session")],
      ["zrange", t("feed"), 0, -1, "withscores"],
      ["zrange", t("feed"), NOW, "+inf", "byscore"],
      ["eval", "return 1", 0],
      ["evalsha", "0000000000000000000000000000000000000000", 0],
      ["flushall"],
      ["keys", "*"],
      ["script", "flush"],
      ["info"],
      ["select", 1],
      ["hset", t("h"), "f", "v"],
      ["incr", t("n")],
      ["nosuchcommand", "a", "b"],
      ["subscribe", "chan"],
      ["del", t("l"), t("missing")],
    ] as (string | number)[][]
  ).filter(sendable);

  const TRANSCRIPT_KEYS = ["s", "n", "set", "l", "opt", "px", "past", "kt", "lock", "replay", "feed", "subject", "session"];

  it.each([true, false])("a transcript of Lockstep's commands and refused ones, base64 %s", async (base64) => {
    const answers: unknown[] = [];
    for (const backend of BACKENDS) {
      const gateway = await startFor(backend);
      try {
        const clear = () => post(gateway, "/", ["del", ...TRANSCRIPT_KEYS.map(t)]);
        await clear();
        const pipelined = await post(gateway, "/pipeline", transcript, { base64 });
        await clear();
        const single: unknown[] = [];
        for (const command of transcript) single.push(await post(gateway, "/", command, { base64 }));
        await clear();
        answers.push({ pipelined, single });
      } finally {
        await gateway.close();
      }
    }
    expect(answers[1]).toEqual(answers[0]);
  });
});
