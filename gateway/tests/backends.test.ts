/**
 * The two backends behind the gateway's command policy, driven directly (not over HTTP, so not
 * limited to the commands Lockstep sends): the embedded store must give the same bytes as a real
 * Redis for every command it implements, and its scripts must run sealed off from the process.
 */
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError, type Backend, type Command } from "../backend";
import { createEmbeddedStore } from "../embedded-backend";
import { connectRedis } from "../redis-backend";
import { encodeOutcomes, encodeResult, type Json } from "../wire";
import { testRedisUrl } from "../../tests/support/require-redis";

const RUN = `lockstep-test:gw-backends:${randomUUID().slice(0, 8)}:`;
const key = (name: string) => `${RUN}${name}`;
const asCommand = (row: (string | number)[]): Command => row.map(String) as Command;

afterAll(async () => {
  const redis = new IORedis(testRedisUrl);
  try {
    for await (const keys of redis.scanStream({ match: `${RUN}*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
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
  ];

  const TRANSCRIPT_KEYS = ["s", "n", "big", "h", "set", "z", "zf", "l", "l2", "l3", "px", "ok", "opt", "gs"].concat([
    "m1",
    "m2",
    "m3",
    "m4",
    "past",
    "neg",
    "kt",
  ]);

  /** The transcript as a pipeline, then one command at a time, as the gateway would encode it. */
  async function answers(backend: Backend, base64: boolean): Promise<Json> {
    const commands = transcript.map(asCommand);
    const clear = () => backend.run(["del", ...TRANSCRIPT_KEYS.map(t)]);
    const pipelined = encodeOutcomes(await backend.pipeline(commands), base64);
    await clear();
    const single: Json[] = [];
    for (const command of commands) {
      try {
        single.push({ result: encodeResult(await backend.run(command), base64) });
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        single.push({ error: error.message });
      }
    }
    await clear();
    return { pipelined, single };
  }

  it.each([true, false])("a transcript of commands, base64 %s", async (base64) => {
    const redis = await connectRedis(testRedisUrl, () => {});
    const embedded = await createEmbeddedStore();
    try {
      const fromRedis = await answers(redis, base64);
      expect(await answers(embedded, base64)).toEqual(fromRedis);
    } finally {
      await Promise.all([redis.close(), embedded.close()]);
    }
  });
});

describe("the embedded store's scripts run sealed off from the process", () => {
  let store: Backend;
  const evaluate = (source: string, ...args: string[]) => store.run(["eval", source, "0", ...args]);
  const text = async (source: string) => String(await evaluate(source));

  beforeAll(async () => {
    store = await createEmbeddedStore();
  });

  afterAll(async () => {
    await store?.close();
  });

  it("has no os, io, package, debug, js, load, loadstring, loadfile, dofile or require", async () => {
    const names = ["os", "io", "package", "debug", "js", "load", "loadstring", "loadfile", "dofile", "require"];
    for (const name of names) expect(await text(`return type(${name})`), name).toBe("nil");
    expect(await text("return type(_G.os) .. type(string.dump) .. type(collectgarbage)")).toBe("nilnilnil");
    expect(await text("return type(string) .. type(table) .. type(math) .. type(redis.call)")).toBe("tabletabletablefunction");
  });

  it("cannot run a program, read the environment, or stop the process", async () => {
    const marker = join(tmpdir(), `lockstep-gateway-sandbox-${randomUUID()}`);
    await expect(evaluate(`os.execute("touch ${marker}") return 1`)).rejects.toThrow(/attempt to index a nil value \(global 'os'\)/);
    await expect(evaluate(`local f = io.open("${marker}", "w") f:write("x") f:close() return 1`)).rejects.toThrow(/global 'io'/);
    await expect(evaluate('return os.getenv("UPSTASH_REDIS_REST_TOKEN")')).rejects.toThrow(/global 'os'/);
    await expect(evaluate("os.exit(1) return 1")).rejects.toThrow(/global 'os'/);
    await expect(evaluate('return require("os").getenv("HOME")')).rejects.toThrow(/global 'require'/);
    await expect(evaluate('return load("return 1")()')).rejects.toThrow(/global 'load'/);
    expect(existsSync(marker)).toBe(false);
    expect(await evaluate("return 7")).toBe(7); // and the process is still here
  });

  it("gets redis.call's replies and errors as plain Lua values, not JavaScript objects", async () => {
    const set = key("sandbox:set");
    await store.run(["sadd", set, "a", "b"]);
    // A JavaScript array's .constructor.constructor is Function: a way out, if a reply were one.
    const reply = `local r = redis.call('smembers', '${set}') return {type(r), #r, type(r.constructor)}`;
    expect(await evaluate(reply)).toEqual([Buffer.from("table"), 2, Buffer.from("nil")]);
    const caught = "local ok, e = pcall(redis.call, 'nosuchcommand') return {tostring(ok), type(e)}";
    expect(await evaluate(caught)).toEqual([Buffer.from("false"), Buffer.from("string")]);
    expect(await text("return type(redis.pcall('nosuchcommand').err)")).toBe("string");
    await expect(evaluate("return string.rep('x', 3) .. tostring(math.floor(2.5))")).resolves.toEqual(Buffer.from("xxx2"));
  });

  it("refuses bytecode", async () => {
    // A precompiled chunk starts with ESC "Lua"; load() in text mode rejects it.
    await expect(evaluate("\u001bLua\u0053")).rejects.toThrow(/binary chunk|attempt to load/);
  });
});
