import { createHash, randomUUID } from "node:crypto";
import RedisMock from "ioredis-mock";
import { CommandError, transactionAborted, type Backend, type Command, type Outcome, type Reply } from "./backend";
import {
  NOT_AN_INTEGER,
  OVERFLOW,
  WRONGTYPE,
  argumentError,
  arityError,
  commandTable,
  fromMock,
  incrementOf,
  isInt64,
  keysOf,
  overflows,
  scoresAsStrings,
  unknownCommand,
  type CommandSpec,
} from "./embedded-checks";
import { expire, set, upperCaseKeywords } from "./embedded-overrides";

export const EMBEDDED_WARNING =
  "gateway: WARNING: no REDIS_URL, serving from the embedded in-memory store. It is for the demo only: " +
  "it keeps nothing across restarts and is not shared between processes.";

type MockMethod = (...args: string[]) => Promise<unknown>;

const EXPIRES = new Set(["expire", "pexpire", "expireat", "pexpireat"]);
const NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL.";
/** Redis's arity of the SCRIPT subcommands the store runs (the name and subcommand count). */
const SCRIPT_ARITY = new Map([
  ["load", 3],
  ["exists", -3],
  ["flush", -2],
]);

/**
 * An in-process store on ioredis-mock (Lua through fengari, every script in SANDBOX below; the
 * gateway lets only Lockstep's own scripts through in any case). Known differences from Redis that
 * remain: errors raised inside Lua scripts have the mock's texts, and commands called from Lua
 * get none of the checks here; scripts cannot return {ok=...}, {err=...} or tables with holes;
 * redis.status_reply/error_reply do not exist; INCR-style arithmetic is floating point beyond
 * 2^53; string lengths and offsets count UTF-16 units, not bytes; integer-like hash fields list
 * first; commands the mock lacks answer "not supported by the embedded store".
 */
export async function createEmbeddedStore(): Promise<Backend> {
  // A host of its own: ioredis-mock shares data between instances with the same host and port.
  const mock = new RedisMock({ host: `embedded-${randomUUID()}` });
  const methods = mock as unknown as Record<string, unknown>;
  const table = commandTable(await mock.command("INFO"));
  // Redis's script cache: SCRIPT LOAD and EVAL add to it, EVALSHA reads it. SHA-1 is Redis's choice.
  const scripts = new Map<string, string>();

  // One command (or batch) at a time, so that checks and the command they guard, and every
  // command of a transaction, run with nothing in between, as on a real Redis.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work);
    tail = result.catch(() => undefined);
    return result;
  };

  /** Errors Redis reports while queueing (so a transaction is discarded), or undefined. */
  const queueError = (command: Command): string | undefined => {
    const [name, ...args] = command;
    const lower = name.toLowerCase();
    const spec = table.get(lower);
    if (!spec) return unknownCommand(command);
    const arity = arityError(lower, spec.arity, command.length);
    if (arity || lower !== "script") return arity;
    // SCRIPT is run here (the mock has none), so its subcommands are checked here too.
    const sub = args[0]?.toLowerCase() ?? "";
    const subArity = SCRIPT_ARITY.get(sub);
    if (subArity === undefined) return `ERR unknown subcommand '${args[0] ?? ""}'. Try SCRIPT HELP.`;
    return arityError(`script|${sub}`, subArity, command.length);
  };

  const call = async (name: string, args: string[]): Promise<unknown> => {
    // `name` is in Redis's command table, so this reaches only the mock's command methods.
    const method = methods[`${name}Buffer`];
    if (typeof method !== "function") throw new CommandError(unsupported(name));
    try {
      return await (method as MockMethod).apply(mock, args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message.startsWith("Unsupported command")) throw new CommandError(unsupported(name));
      // Redis error texts start with an upper-case code (ERR, NOSCRIPT...); the mock's often do not.
      throw new CommandError(/^[A-Z]+ /.test(message) ? message : `ERR ${message}`);
    }
  };

  const checkTypes = async (name: string, spec: CommandSpec, command: Command): Promise<void> => {
    if (!spec.keyType || spec.overwrites) return;
    // SET replaces a value of any type, unless GET asks for the old one first.
    if (name === "set" && !command.slice(3).some((arg) => arg.toLowerCase() === "get")) return;
    for (const key of keysOf(spec, command)) {
      const type = await mock.type(key);
      if (type !== "none" && type !== spec.keyType) throw new CommandError(WRONGTYPE);
    }
  };

  /** INCR and friends on a stored value that is not an integer (the mock would store NaN). */
  const checkStoredNumber = async (name: string, args: string[]): Promise<void> => {
    const by = incrementOf(name, args);
    if (by === undefined) return;
    const [key = "", field = ""] = args;
    const stored = name === "hincrby" ? await mock.hget(key, field) : await mock.get(key);
    if (stored !== null && !isInt64(stored)) {
      throw new CommandError(name === "hincrby" ? "ERR hash value is not an integer" : NOT_AN_INTEGER);
    }
    if (overflows(BigInt(stored ?? "0") + by)) throw new CommandError(OVERFLOW);
  };

  const runScript = async (name: string, args: string[]): Promise<Reply> => {
    const [first = "", ...rest] = args;
    let source = first;
    if (name === "evalsha") {
      const cached = scripts.get(first.toLowerCase());
      if (cached === undefined) throw new CommandError(NOSCRIPT);
      source = cached;
    } else {
      scripts.set(sha1(source), source);
    }
    // The script itself travels as the last argument of the sandbox (see SANDBOX).
    return fromMock(await call("eval", [SANDBOX, ...rest, source]), true);
  };

  const scriptCommand = ([sub = "", ...rest]: string[]): Reply => {
    switch (sub.toLowerCase()) {
      case "load": {
        const source = rest[0] ?? "";
        const sha = sha1(source);
        scripts.set(sha, source);
        return Buffer.from(sha);
      }
      case "exists":
        return rest.map((sha) => (scripts.has(sha.toLowerCase()) ? 1 : 0));
      default: {
        // FLUSH: queueError lets no other subcommand through.
        const mode = rest[0]?.toLowerCase();
        if (rest.length > 1 || (mode !== undefined && mode !== "sync" && mode !== "async")) {
          throw new CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        }
        scripts.clear();
        return Buffer.from("OK");
      }
    }
  };

  /** Runs a command that passed queueError. */
  const execute = async (command: Command): Promise<Reply> => {
    const [rawName, ...args] = command;
    const name = rawName.toLowerCase();
    const spec = table.get(name);
    if (!spec) throw new CommandError(unknownCommand(command));
    const problem = argumentError(name, args);
    if (problem) throw new CommandError(problem);
    await checkTypes(name, spec, command);
    await checkStoredNumber(name, args);
    if (name === "script") return scriptCommand(args);
    if (name === "eval" || name === "evalsha") return runScript(name, args);
    if (name === "set") return set(mock, args);
    if (EXPIRES.has(name)) return expire(mock, name, args);
    const reply = fromMock(await call(name, upperCaseKeywords(name, args)), false);
    return spec.keyType === "zset" ? scoresAsStrings(reply) : reply;
  };

  const attempt = async (command: Command): Promise<Outcome> => {
    const problem = queueError(command);
    if (problem) return { ok: false, error: problem };
    try {
      return { ok: true, value: await execute(command) };
    } catch (error) {
      if (error instanceof CommandError) return { ok: false, error: error.message };
      throw error;
    }
  };

  return {
    kind: "embedded",
    healthy: () => true,

    run: (command) =>
      exclusive(async () => {
        const problem = queueError(command);
        if (problem) throw new CommandError(problem);
        return execute(command);
      }),

    pipeline: (commands) =>
      exclusive(async () => {
        const outcomes: Outcome[] = [];
        for (const command of commands) outcomes.push(await attempt(command));
        return outcomes;
      }),

    transaction: (commands) =>
      exclusive(async () => {
        for (const command of commands) {
          const problem = queueError(command);
          if (problem) throw transactionAborted(problem);
        }
        const outcomes: Outcome[] = [];
        for (const command of commands) outcomes.push(await attempt(command));
        return outcomes;
      }),

    // The data lives in ioredis-mock's module-wide registry; empty it so that it can be collected.
    close: () =>
      exclusive(async () => {
        await mock.flushall();
        mock.disconnect();
      }),
  };
}

/**
 * What the embedded store runs instead of a script: a Lua chunk that runs the script (its last
 * argument) with `load(..., "t", env)` in an environment of its own. ioredis-mock runs scripts in a
 * fengari state with every standard library open (os.execute, io.open, os.exit, require...) and
 * fengari-interop's bridge to JavaScript, and hands redis.call's replies and errors back as
 * JavaScript objects, whose .constructor.constructor is JavaScript's Function. So the script sees
 * only Redis's script API (redis.call/pcall, KEYS, ARGV) and the pure libraries (string, table,
 * math and the base functions that touch nothing outside the state); no os, io, package, debug,
 * js, load, loadstring, loadfile, dofile, require, collectgarbage; source text only, no bytecode;
 * and every reply is copied into plain Lua values, every error into a string, before it sees them.
 * The gateway runs only Lockstep's own scripts anyway (command-policy.ts); this is the second wall.
 */
const SANDBOX = `
local source = ARGV[#ARGV]
ARGV[#ARGV] = nil
local mockCall, load, pcall, error, type, tostring = call, load, pcall, error, type, tostring
local gsub = string.gsub

local function plain(value)
  if type(value) ~= "userdata" then return value end
  local ok, length = pcall(function() return #value end)
  if not ok then return tostring(value) end
  local copy = {}
  -- Backwards: ioredis-mock reads a returned table as an array only in the order this gives.
  for i = length, 1, -1 do copy[i] = plain(value[i]) end
  return copy
end

local function message(problem)
  local text = gsub(tostring(problem), "^%a*Error: ", "")
  return text
end

local redis = {}
function redis.call(...)
  local ok, reply = pcall(mockCall, false, ...)
  if not ok then error(message(reply), 0) end
  if reply == nil then return false end
  return plain(reply)
end
function redis.pcall(...)
  local ok, reply = pcall(redis.call, ...)
  if ok then return reply end
  return { err = message(reply) }
end

local env = {
  KEYS = KEYS, ARGV = ARGV, redis = redis,
  string = string, table = table, math = math,
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  rawequal = rawequal, rawget = rawget, rawlen = rawlen, rawset = rawset, select = select,
  setmetatable = setmetatable, getmetatable = getmetatable, tonumber = tonumber,
  tostring = tostring, type = type, unpack = table.unpack, xpcall = xpcall,
}
env._G = env
string.dump = nil

for _, name in ipairs({ "os", "io", "package", "debug", "js", "require", "load", "loadstring",
    "loadfile", "dofile", "collectgarbage", "call", "redis", "repair" }) do
  _G[name] = nil
end

local chunk, problem = load(source, "=user_script", "t", env)
if not chunk then error(message(problem), 0) end
return chunk()
`;

function sha1(source: string): string {
  return createHash("sha1").update(source).digest("hex");
}

function unsupported(name: string): string {
  return `ERR command '${name}' is not supported by the embedded store`;
}
