/**
 * The gateway's contract, run against both backends: @upstash/redis (the real client) must see
 * the same answers from a real Redis and from the embedded store, and the wire must look like
 * Upstash's. Keys live under a random per-run prefix; the real Redis is cleaned up afterwards.
 */
import { createHash, randomUUID } from "node:crypto";
import { Redis as Upstash, type RedisConfigNodejs } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startGateway, type Gateway } from "../server";
import { testRedisUrl } from "../../tests/support/require-redis";

const TOKEN = `gw-test-token-${randomUUID()}`;
const RUN = `lockstep-test:gw:${randomUUID().slice(0, 8)}:`;
const key = (name: string) => `${RUN}${name}`;

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_AN_INTEGER = "ERR value is not an integer or out of range";

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

function startFor(backend: Backend): Promise<Gateway> {
  return startGateway({ port: 0, token: TOKEN, redisUrl: backend.redisUrl, log: () => {} });
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

    it("set with options: NX, XX, GET", async () => {
      const k = key("s:nx");
      expect(await raw.set(k, "first", { nx: true })).toBe("OK");
      expect(await raw.set(k, "second", { nx: true })).toBeNull();
      expect(await raw.set(key("s:xx-missing"), "v", { xx: true })).toBeNull();
      expect(await raw.set(k, "third", { get: true })).toBe("first");
      expect(await raw.get(k)).toBe("third");
    });

    it("incr, incrby, decr", async () => {
      const k = key("s:counter");
      expect(await raw.incr(k)).toBe(1);
      expect(await raw.incrby(k, 41)).toBe(42);
      expect(await raw.decr(k)).toBe(41);
      expect(await raw.get(k)).toBe("41");
      expect(await redis.get(k)).toBe(41);
    });

    it("hashes: hset, hget, hgetall, hincrby, hdel", async () => {
      const k = key("h:user");
      expect(await raw.hset(k, { name: "Zoë", city: "Köln", visits: 2 })).toBe(3);
      expect(await raw.hget(k, "name")).toBe("Zoë");
      expect(await raw.hincrby(k, "visits", 3)).toBe(5);
      expect(await redis.hgetall(k)).toEqual({ name: "Zoë", city: "Köln", visits: 5 });
      const flat = (await raw.hgetall(k)) as unknown as string[];
      const pairs = [0, 2, 4].map((i) => `${flat[i]}=${flat[i + 1]}`).sort();
      expect(pairs).toEqual(["city=Köln", "name=Zoë", "visits=5"]);
      expect(await raw.hdel(k, "city", "nope")).toBe(1);
      expect(await raw.hget(k, "city")).toBeNull();
      expect(await redis.hgetall(key("h:missing"))).toBeNull();
    });

    it("sets: sadd, smembers, sismember, srem", async () => {
      const k = key("set:tags");
      expect(await raw.sadd(k, "red", "grün", "🟦")).toBe(3);
      expect(await raw.sadd(k, "red")).toBe(0);
      expect((await raw.smembers(k)).sort()).toEqual(["grün", "red", "🟦"].sort());
      expect(await raw.sismember(k, "grün")).toBe(1);
      expect(await raw.srem(k, "red", "nope")).toBe(1);
      expect(await raw.smembers(key("set:missing"))).toEqual([]);
    });

    it("sorted sets: zadd, zrange, zscore, zincrby", async () => {
      const k = key("z:board");
      expect(await raw.zadd(k, { score: 1, member: "one" }, { score: 2.5, member: "two" })).toBe(2);
      expect(await raw.zrange(k, 0, -1)).toEqual(["one", "two"]);
      expect(await raw.zrange(k, 0, -1, { withScores: true })).toEqual(["one", "1", "two", "2.5"]);
      expect(await redis.zrange(k, 0, -1, { withScores: true })).toEqual(["one", 1, "two", 2.5]);
      expect(await raw.zscore(k, "two")).toBe("2.5");
      expect(await redis.zscore(k, "two")).toBe(2.5);
      expect(await raw.zincrby(k, 2, "one")).toBe("3");
      expect(await raw.zrange(k, 0, -1)).toEqual(["two", "one"]);
      expect(await raw.zscore(k, "nobody")).toBeNull();
    });

    it("missing keys read as null", async () => {
      const missing = key("missing");
      expect(await raw.get(missing)).toBeNull();
      expect(await redis.get(missing)).toBeNull();
      expect(await raw.mget(missing, key("missing-too"))).toEqual([null, null]);
      expect(await raw.hget(missing, "f")).toBeNull();
      expect(await raw.ttl(missing)).toBe(-2);
      expect(await raw.pttl(missing)).toBe(-2);
      expect(await raw.expire(missing, 10)).toBe(0);
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
      const pttl = await raw.pttl(k);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(150);
      await sleep(400);
      expect(await raw.get(k)).toBeNull();
      expect(await raw.exists(k)).toBe(0);
      expect(await raw.pttl(k)).toBe(-2);
    });

    it("expire, ttl, pttl, persist", async () => {
      const k = key("ttl:long");
      await raw.set(k, "v");
      expect(await raw.ttl(k)).toBe(-1);
      expect(await raw.expire(k, 60)).toBe(1);
      expect(await raw.ttl(k)).toBeGreaterThanOrEqual(59);
      expect(await raw.ttl(k)).toBeLessThanOrEqual(60);
      expect(await raw.pttl(k)).toBeGreaterThan(58_000);
      expect(await raw.persist(k)).toBe(1);
      expect(await raw.ttl(k)).toBe(-1);
      await raw.set(k, "v", { ex: 30 });
      expect(await raw.ttl(k)).toBeGreaterThanOrEqual(29);
    });
  });

  describe("values round-trip byte for byte", () => {
    it.each([
      { label: "with Upstash-Encoding: base64", tag: "b64", pick: () => raw },
      { label: "without it", tag: "plain", pick: () => plain },
    ])("strings, hashes, sets, $label", async ({ tag, pick }) => {
      const c = pick();
      const keys = TRICKY_VALUES.map((_, i) => key(`rt:${tag}:${i}:ключ-😀`));
      for (const [i, value] of TRICKY_VALUES.entries()) {
        expect(await c.set(keys[i] as string, value)).toBe("OK");
        expect(await c.get(keys[i] as string)).toBe(value);
      }
      expect(await c.mget(...keys)).toEqual(TRICKY_VALUES);

      const hash = key(`rt:${tag}:hash`);
      const fields = Object.fromEntries(TRICKY_VALUES.map((value, i) => [`field-${i}-ü`, value]));
      await c.hset(hash, fields);
      for (const [field, value] of Object.entries(fields)) expect(await c.hget(hash, field)).toBe(value);

      const set = key(`rt:${tag}:set`);
      const members = TRICKY_VALUES.filter((value) => value !== "");
      await c.sadd(set, members[0] as string, ...members.slice(1));
      expect((await c.smembers(set)).sort()).toEqual([...members].sort());
    });

    it("the default client reads JSON-looking values as JSON", async () => {
      const k = key("rt:default");
      await raw.mset({ [`${k}:a`]: "123", [`${k}:b`]: "null", [`${k}:c`]: "😀", [`${k}:d`]: "OK" });
      expect(await redis.mget(`${k}:a`, `${k}:b`, `${k}:c`, `${k}:d`)).toEqual([123, null, "😀", "OK"]);
      expect(await redis.get(`${k}:d`)).toBe("OK");
    });
  });

  describe("pipelines and transactions", () => {
    it("pipeline() runs commands in order", async () => {
      const [s, n, h] = [key("p:s"), key("p:n"), key("p:h")];
      const result = await redis
        .pipeline()
        .set(s, "value ✓")
        .get(s)
        .incr(n)
        .incr(n)
        .hset(h, { field: "x" })
        .hgetall(h)
        .get(key("p:missing"))
        .exec();
      expect(result).toEqual(["OK", "value ✓", 1, 2, 1, { field: "x" }, null]);
    });

    it("a failing command in a pipeline fails alone", async () => {
      const [s, after] = [key("p:err:s"), key("p:err:after")];
      await raw.set(s, "a string");
      const pipeline = () => raw.pipeline().get(s).hget(s, "field").set(after, "ran");
      await expect(pipeline().exec()).rejects.toThrow(`Command 2 [ hget ] failed: ${WRONGTYPE}`);
      expect(await pipeline().exec({ keepErrors: true })).toEqual([
        { result: "a string", error: undefined },
        { result: undefined, error: WRONGTYPE },
        { result: "OK", error: undefined },
      ]);
      expect(await raw.get(after)).toBe("ran");
    });

    it("auto-pipelined single commands (the default client)", async () => {
      const k = key("p:auto");
      const [set, incr, get, missing] = await Promise.all([
        redis.set(`${k}:s`, "😀"),
        redis.incr(`${k}:n`),
        redis.get(`${k}:s`),
        redis.get(`${k}:missing`),
      ]);
      expect([set, incr, get, missing]).toEqual(["OK", 1, "😀", null]);
      await expect(redis.hget(`${k}:s`, "f")).rejects.toThrow(`Command failed: ${WRONGTYPE}`);
    });

    it("multi() runs a transaction", async () => {
      const k = key("tx:n");
      expect(await redis.multi().set(k, "1").incr(k).get(k).exec()).toEqual(["OK", 2, 2]);
      expect(await raw.multi().incrby(k, 8).get(k).exec()).toEqual([10, "10"]);
    });

    it("a command failing while a transaction runs fails alone, as in EXEC", async () => {
      const [s, after] = [key("tx:err:s"), key("tx:err:after")];
      const result = await raw.multi().set(s, "text").incr(s).set(after, "ran").exec({ keepErrors: true });
      expect(result).toEqual([
        { result: "OK", error: undefined },
        { result: undefined, error: NOT_AN_INTEGER },
        { result: "OK", error: undefined },
      ]);
      expect(await raw.get(after)).toBe("ran");
    });

    it("transactions are atomic", async () => {
      const k = key("tx:atomic");
      const results = await Promise.all(
        Array.from({ length: 25 }, () => raw.multi().incr(k).incr(k).exec<[number, number]>()),
      );
      for (const [first, second] of results) expect(second).toBe(first + 1);
      expect(await raw.get(k)).toBe("50");
    });
  });

  describe("scripts", () => {
    it("eval with keys and arguments, and Redis's Lua conversions", async () => {
      const k = key("lua:n");
      expect(await raw.eval("return {KEYS[1], ARGV[1], redis.call('incr', KEYS[1])}", [k], ["ärg 😀"])).toEqual([
        k,
        "ärg 😀",
        1,
      ]);
      expect(await raw.eval("return redis.call('get', KEYS[1])", [key("lua:missing")], [])).toBeNull();
      expect(await raw.eval("return 3.99", [], [])).toBe(3);
      expect(await raw.eval("return {1, false, 'x', true}", [], [])).toEqual([1, null, "x", 1]);
      expect(await raw.eval("return redis.call('set', KEYS[1], ARGV[1])", [key("lua:s")], ["v"])).toBe("OK");
    });

    it("scriptLoad, evalsha, scriptExists", async () => {
      const script = `-- ${RUN}load\nreturn {KEYS[1], ARGV[1]}`;
      const sha = await raw.scriptLoad(script);
      expect(sha).toBe(sha1(script));
      expect(await raw.evalsha(sha, [key("lua:k")], ["a"])).toEqual([key("lua:k"), "a"]);
      expect(await redis.evalsha(sha.toUpperCase(), [key("lua:k")], ["1"])).toEqual([key("lua:k"), 1]);
      expect(await raw.scriptExists(sha, sha1(randomUUID()))).toEqual([1, 0]);
    });

    it("EVAL caches the script for EVALSHA; an unknown sha is NOSCRIPT", async () => {
      const script = `-- ${RUN}cache\nreturn ARGV[1]`;
      await expect(raw.evalsha(sha1(script), [], ["x"])).rejects.toThrow(
        /^NOSCRIPT No matching script\. Please use EVAL\., command was: /,
      );
      expect(await raw.eval(script, [], ["x"])).toBe("x");
      expect(await raw.evalsha(sha1(script), [], ["y"])).toBe("y");
    });

    it("a compare-and-delete lock release, via createScript", async () => {
      const lock = key("lua:lock");
      const release = raw.createScript<number>(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
      );
      await raw.set(lock, "owner-1", { px: 10_000, nx: true });
      expect(await release.exec([lock], ["owner-2"])).toBe(0);
      expect(await release.exec([lock], ["owner-1"])).toBe(1);
      expect(await raw.exists(lock)).toBe(0);
    });
  });

  describe("errors", () => {
    it("wrong type gives Redis's text", async () => {
      const s = key("err:s");
      await raw.set(s, "text");
      await expect(raw.hget(s, "f")).rejects.toThrow(`${WRONGTYPE}, command was: ${JSON.stringify(["hget", s, "f"])}`);
      await expect(raw.lpush(s, "x")).rejects.toThrow(WRONGTYPE);
      await expect(raw.sadd(s, "x")).rejects.toThrow(WRONGTYPE);
      await expect(raw.zadd(s, { score: 1, member: "x" })).rejects.toThrow(WRONGTYPE);
      await raw.hset(key("err:h"), { f: "v" });
      await expect(raw.get(key("err:h"))).rejects.toThrow(WRONGTYPE);
      // SET replaces a value of any type.
      expect(await raw.set(key("err:h"), "now a string")).toBe("OK");
    });

    it("values that are not integers", async () => {
      const s = key("err:int");
      await raw.set(s, "12abc");
      await expect(raw.incr(s)).rejects.toThrow(`${NOT_AN_INTEGER}, command was:`);
      expect(await raw.get(s)).toBe("12abc");
      await raw.hset(key("err:int:h"), { f: "x" });
      await expect(raw.hincrby(key("err:int:h"), "f", 1)).rejects.toThrow("ERR hash value is not an integer");
      await expect(raw.exec(["expire", s, "soon"])).rejects.toThrow(NOT_AN_INTEGER);
      await expect(raw.exec(["set", s, "v", "PX", "0"])).rejects.toThrow("ERR invalid expire time in 'set' command");
    });

    it("wrong arity, unknown and refused commands", async () => {
      await expect(raw.exec(["get"])).rejects.toThrow(
        `ERR wrong number of arguments for 'get' command, command was: ["get"]`,
      );
      await expect(raw.exec(["SET", key("err:arity")])).rejects.toThrow(
        "ERR wrong number of arguments for 'set' command",
      );
      await expect(raw.exec(["nosuchcommand", "a", "b c"])).rejects.toThrow(
        "ERR unknown command 'nosuchcommand', with args beginning with: 'a' 'b c' ",
      );
      await expect(raw.exec(["subscribe", "news"])).rejects.toThrow(
        "ERR command 'subscribe' is not allowed through the gateway",
      );
      await expect(raw.exec(["script", "nope"])).rejects.toThrow("ERR unknown subcommand 'nope'. Try SCRIPT HELP.");
      await expect(raw.exec(["eval", "return 1", "2", "a"])).rejects.toThrow(
        "ERR Number of keys can't be greater than number of args",
      );
    });

    it("a wrong or missing token: 401, and the client throws", async () => {
      const k = key("auth");
      await expect(client({ token: `${TOKEN}x` }).get(k)).rejects.toThrow(/^Unauthorized, command was: /);
      await expect(client({ token: "not-the-token-at-all" }).pipeline().get(k).exec()).rejects.toThrow(
        /^Unauthorized, command was: /,
      );
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
      expect((await post(gateway, "/", ["incrby", key("wire:n"), 5], { base64: true })).body).toEqual({ result: 5 });
      expect((await post(gateway, "/", ["get", key("wire:none")], { base64: true })).body).toEqual({ result: null });
      expect(await post(gateway, "/", ["hget", k, "f"])).toEqual({
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
        ["zadd", `${k}:z`, 1, "a", 2, "b"],
        ["zrange", `${k}:z`, 0, -1, "WITHSCORES"],
        ["get", `${k}:none`],
        ["subscribe", "x"],
      ];
      const refused = "ERR command 'subscribe' is not allowed through the gateway";
      const arity = "ERR wrong number of arguments for 'get' command";
      expect(await post(gateway, "/pipeline", commands, { base64: true })).toEqual({
        status: 200,
        contentType: "application/json",
        body: [
          { result: "OK" },
          { result: b64("ünï") },
          { error: arity },
          { result: 2 },
          { result: [b64("a"), b64("1"), b64("b"), b64("2")] },
          { result: null },
          { error: refused },
        ],
      });
      expect((await post(gateway, "/pipeline", commands.slice(1, 2))).body).toEqual([{ result: "ünï" }]);
    });

    it("POST /multi-exec: a transaction; a queueing error discards all of it", async () => {
      const k = key("wire:multi");
      expect(await post(gateway, "/multi-exec", [["set", k, "1"], ["incr", k], ["hget", k, "f"]])).toEqual({
        status: 200,
        contentType: "application/json",
        body: [{ result: "OK" }, { result: 2 }, { error: WRONGTYPE }],
      });
      expect(await post(gateway, "/multi-exec", [["set", `${k}:2`, "1"], ["get"]])).toEqual({
        status: 400,
        contentType: "application/json",
        body: {
          error: "EXECABORT Transaction discarded because of: ERR wrong number of arguments for 'get' command",
        },
      });
      expect(await raw.exists(`${k}:2`)).toBe(0);
      expect((await post(gateway, "/multi-exec", [["set", `${k}:3`, "1"], ["watch", k]])).body).toEqual({
        error: "EXECABORT Transaction discarded because of: ERR command 'watch' is not allowed through the gateway",
      });
      expect(await raw.exists(`${k}:3`)).toBe(0);
    });

    it("authorization, health, malformed requests", async () => {
      const unauthorized = { status: 401, contentType: "application/json", body: { error: "Unauthorized" } };
      expect(await post(gateway, "/", ["get", "x"], { authorization: null })).toEqual(unauthorized);
      expect(await post(gateway, "/", ["get", "x"], { authorization: `Bearer ${TOKEN}-` })).toEqual(unauthorized);
      expect(await post(gateway, "/pipeline", [["get", "x"]], { authorization: `Basic ${TOKEN}` })).toEqual(
        unauthorized,
      );
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

describe("both backends give the same bytes", () => {
  const t = (name: string) => key(`transcript:${name}`);
  const transcript: (string | number)[][] = [
    ["set", t("s"), "héllo 😀"],
    ["get", t("s")],
    ["set", t("n"), "10"],
    ["incr", t("n")],
    ["incrby", t("n"), 5],
    ["decr", t("n")],
    ["incr", t("s")],
    ["incrby", t("n"), "x"],
    ["set", t("big"), "9223372036854775807"],
    ["incr", t("big")],
    ["hset", t("h"), "name", "Zoë", "city", "Köln"],
    ["hget", t("h"), "name"],
    ["hgetall", t("h")],
    ["hincrby", t("h"), "name", 1],
    ["hmget", t("h"), "name", "nope"],
    ["sadd", t("set"), "a", "b", "c"],
    ["sismember", t("set"), "b"],
    ["scard", t("set")],
    ["srem", t("set"), "a", "zz"],
    ["zadd", t("z"), 1, "one", 2.5, "two"],
    ["zrange", t("z"), 0, -1, "WITHSCORES"],
    ["zscore", t("z"), "two"],
    ["zincrby", t("z"), 1, "one"],
    ["zrank", t("z"), "two"],
    ["rpush", t("l"), "x", "y", "z"],
    ["lrange", t("l"), 0, -1],
    ["lpop", t("l")],
    ["get", t("h")],
    ["hget", t("s"), "f"],
    ["lpush", t("s"), "v"],
    ["sadd", t("h"), "m"],
    ["zadd", t("l"), 1, "m"],
    ["get"],
    ["set", t("x")],
    ["hset", t("h"), "f"],
    ["nosuchcommand", "a", "b"],
    ["exists", t("s"), t("h"), t("missing")],
    ["type", t("z")],
    ["type", t("missing")],
    ["expire", t("s"), 100],
    ["ttl", t("s")],
    ["persist", t("s")],
    ["ttl", t("s")],
    ["ttl", t("missing")],
    ["expire", t("s"), "soon"],
    ["set", t("px"), "v", "PX", 0],
    ["setex", t("px"), -1, "v"],
    ["eval", "return {KEYS[1], ARGV[1], 7, false, 2.5}", 1, t("s"), "ärg"],
    ["eval", "return 1", 2, "a"],
    ["eval", "return 1", -1],
    ["evalsha", "0000000000000000000000000000000000000000", 0],
    ["mget", t("s"), t("missing"), t("n")],
    ["set", t("ok"), "OK"],
    ["get", t("ok")],
    ["set", t("opt"), "a", "nx", "px", 100_000],
    ["set", t("opt"), "b", "nx"],
    ["set", t("opt"), "c", "xx", "get", "keepttl"],
    ["ttl", t("opt")],
    ["set", t("opt"), "d", "ex", 10, "px", 10],
    ["set", t("opt"), "d", "nx", "xx"],
    ["set", t("opt"), "d", "ex", "abc"],
    ["set", t("opt"), "d", "bogus"],
    ["expire", t("opt"), 50, "nx"],
    ["expire", t("opt"), 50, "gt"],
    ["expire", t("opt"), 500, "gt"],
    ["ttl", t("opt")],
    ["expire", t("opt"), 50, "nx", "xx"],
    ["expire", t("opt"), 50, "whenever"],
    ["zadd", t("zf"), "nx", "ch", 1, "nx"],
    ["zadd", t("zf"), "xx", "ch", 5, "nx"],
    ["zrange", t("zf"), 0, -1, "withscores"],
    ["zpopmin", t("z")],
    ["zmscore", t("z"), "two", "nobody"],
    ["rpush", t("l2"), "a", "b", "c"],
    ["lmove", t("l2"), t("l3"), "right", "left"],
    ["linsert", t("l2"), "before", "b", "x"],
    ["lrange", t("l2"), 0, -1],
    ["lindex", t("l2"), 1],
    ["getdel", t("ok")],
    ["getset", t("gs"), "new"],
    ["setnx", t("gs"), "again"],
    ["mset", t("m1"), "1", t("m2"), "2"],
    ["msetnx", t("m1"), "x", t("m3"), "y"],
    ["append", t("m1"), "23"],
    ["strlen", t("m1")],
    ["incrbyfloat", t("m2"), "1.5"],
    ["decrby", t("m1"), 23],
    ["hsetnx", t("h"), "name", "other"],
    ["hexists", t("h"), "city"],
    ["hkeys", t("h")],
    ["hvals", t("h")],
    ["smismember", t("set"), "b", "zz"],
    ["rename", t("m1"), t("m4")],
    ["exists", t("m1"), t("m4")],
    ["set", t("past"), "v", "exat", 1],
    ["exists", t("past")],
    ["set", t("neg"), "v"],
    ["expire", t("neg"), -5],
    ["exists", t("neg")],
    ["set", t("kt"), "v", "px", 100_000],
    ["set", t("kt"), "w", "keepttl"],
    ["ttl", t("kt")],
    ["get", t("kt")],
    ["del", t("l"), t("missing")],
    ["subscribe", "chan"],
  ];

  const TRANSCRIPT_KEYS = ["s", "n", "big", "h", "set", "z", "zf", "l", "l2", "l3", "px", "ok", "opt", "gs"]
    .concat(["m1", "m2", "m3", "m4", "past", "neg", "kt"]);

  it.each([true, false])("a transcript of commands, base64 %s", async (base64) => {
    const answers: unknown[] = [];
    for (const backend of BACKENDS) {
      const gateway = await startFor(backend);
      try {
        const clear = () => post(gateway, "/", ["del", ...TRANSCRIPT_KEYS.map(t)]);
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
