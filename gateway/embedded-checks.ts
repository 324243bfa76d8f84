/**
 * What the embedded store checks before it hands a command to ioredis-mock. The mock skips most
 * of Redis's validation (no arity or type errors; INCR on "abc" stores NaN), so the checks that
 * callers can see are redone here with Redis's own error texts, so that both backends agree.
 */
import type { Command, Reply } from "./backend";

export const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
export const NOT_AN_INTEGER = "ERR value is not an integer or out of range";
export const OVERFLOW = "ERR increment or decrement would overflow";

/** What the command table says about one command. */
export interface CommandSpec {
  /** Redis's arity: exact when positive, a minimum when negative; the name counts. */
  arity: number;
  firstKey: number;
  lastKey: number;
  keyStep: number;
  /** The type every key of the command must hold, when the command works on one type. */
  keyType: string | undefined;
  /** The command replaces its first key whatever it holds (MSET, SETNX, *STORE). */
  overwrites: boolean;
}

/** Redis's ACL categories of data commands, and the key type each works on. */
const TYPE_OF_CATEGORY = new Map([
  ["@string", "string"],
  ["@bitmap", "string"],
  ["@hyperloglog", "string"],
  ["@hash", "hash"],
  ["@list", "list"],
  ["@set", "set"],
  ["@sortedset", "zset"],
  ["@geo", "zset"],
  ["@stream", "stream"],
]);

/** Reads the reply of COMMAND (Redis 7 layout) into specs by lower-case name. */
export function commandTable(rows: unknown): Map<string, CommandSpec> {
  const table = new Map<string, CommandSpec>();
  if (!Array.isArray(rows)) return table;
  for (const row of rows as unknown[]) {
    if (!Array.isArray(row)) continue;
    const [name, arity, , firstKey, lastKey, keyStep, categories, , keySpecs] = row as unknown[];
    // Module commands (FT.SEARCH...) and subcommands (CONFIG|GET) are not plain names.
    if (typeof name !== "string" || !/^[a-z][a-z0-9_-]*$/i.test(name)) continue;
    if (typeof arity !== "number" || typeof firstKey !== "number") continue;
    if (typeof lastKey !== "number" || typeof keyStep !== "number") continue;
    const types = new Set(strings(categories).flatMap((category) => TYPE_OF_CATEGORY.get(category) ?? []));
    const firstSpec: unknown = Array.isArray(keySpecs) ? keySpecs[0] : undefined;
    table.set(name.toLowerCase(), {
      arity,
      firstKey,
      lastKey,
      keyStep,
      keyType: types.size === 1 ? [...types][0] : undefined,
      overwrites: specFlags(firstSpec).includes("OW"),
    });
  }
  return table;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/** A key spec is a flat list of names and values: [..., "flags", ["RW", ...], ...]. */
function specFlags(spec: unknown): string[] {
  if (!Array.isArray(spec)) return [];
  const at = spec.indexOf("flags");
  return at >= 0 ? strings(spec[at + 1]) : [];
}

export function unknownCommand([name, ...args]: Command): string {
  // Redis lists the arguments until the list reaches 128 characters.
  let listed = "";
  for (const arg of args) {
    if (listed.length >= 128) break;
    listed += `'${arg.slice(0, 128 - listed.length)}' `;
  }
  return `ERR unknown command '${name.slice(0, 128)}', with args beginning with: ${listed}`;
}

/** Arity as in Redis's table: exact when positive, a minimum when negative; the name counts. */
export function arityError(name: string, arity: number, argc: number): string | undefined {
  const fits = arity >= 0 ? argc === arity : argc >= -arity;
  return fits ? undefined : `ERR wrong number of arguments for '${name}' command`;
}

/** The command's key arguments, by the table's first/last/step positions (the name is 0). */
export function keysOf(spec: CommandSpec, command: Command): string[] {
  if (spec.firstKey <= 0 || spec.keyStep <= 0) return [];
  const last = spec.lastKey < 0 ? command.length + spec.lastKey : spec.lastKey;
  const keys: string[] = [];
  for (let at = spec.firstKey; at <= last && at < command.length; at += spec.keyStep) {
    keys.push(command[at] as string);
  }
  return keys;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Redis's string-to-integer rule: plain decimal, no sign on zero, no leading zeros, 64 bits. */
export function isInt64(value: string | null | undefined): value is string {
  if (value === null || value === undefined || !/^(0|-?[1-9][0-9]*)$/.test(value)) return false;
  const number = BigInt(value);
  return number >= INT64_MIN && number <= INT64_MAX;
}

export function overflows(value: bigint): boolean {
  return value < INT64_MIN || value > INT64_MAX;
}

/**
 * Arguments the mock takes as anything (INCRBY by "x" stores NaN, SET ignores lower-case options),
 * checked as Redis checks them, with its texts.
 */
export function argumentError(name: string, args: string[]): string | undefined {
  switch (name) {
    case "incrby":
    case "decrby":
      return isInt64(args[1]) ? undefined : NOT_AN_INTEGER;
    case "hincrby":
      return isInt64(args[2]) ? undefined : NOT_AN_INTEGER;
    case "setex":
    case "psetex":
      return expiryError(name, args[1]);
    case "set": {
      const options = parseSetOptions(args.slice(2));
      return typeof options === "string" ? options : undefined;
    }
    case "expire":
    case "pexpire":
    case "expireat":
    case "pexpireat": {
      if (!isInt64(args[1])) return NOT_AN_INTEGER;
      const flags = parseExpireFlags(args.slice(2));
      return typeof flags === "string" ? flags : undefined;
    }
    case "eval":
    case "evalsha": {
      const numKeys = args[1];
      if (!isInt64(numKeys)) return NOT_AN_INTEGER;
      if (BigInt(numKeys) < 0n) return "ERR Number of keys can't be negative";
      if (BigInt(numKeys) > BigInt(args.length - 2)) return "ERR Number of keys can't be greater than number of args";
      return undefined;
    }
    default:
      return undefined;
  }
}

export interface SetOptions {
  condition: "nx" | "xx" | undefined;
  get: boolean;
  keepTtl: boolean;
  expiry: { unit: "ex" | "px" | "exat" | "pxat"; amount: bigint } | undefined;
}

const SYNTAX = "ERR syntax error";
const EXPIRY_UNITS = ["ex", "px", "exat", "pxat"] as const;

/** SET's options after the value, in any case, or the error Redis gives for them. */
export function parseSetOptions(options: string[]): SetOptions | string {
  const parsed: SetOptions = { condition: undefined, get: false, keepTtl: false, expiry: undefined };
  let amount: string | undefined;
  for (let at = 0; at < options.length; at += 1) {
    const word = options[at]?.toLowerCase() ?? "";
    const unit = EXPIRY_UNITS.find((candidate) => candidate === word);
    if (word === "nx" || word === "xx") {
      if (parsed.condition !== undefined && parsed.condition !== word) return SYNTAX;
      parsed.condition = word;
    } else if (word === "get") {
      parsed.get = true;
    } else if (word === "keepttl") {
      if (parsed.expiry) return SYNTAX;
      parsed.keepTtl = true;
    } else if (unit) {
      if (parsed.keepTtl || (parsed.expiry && parsed.expiry.unit !== unit)) return SYNTAX;
      amount = options[at + 1];
      if (amount === undefined) return SYNTAX;
      at += 1;
      parsed.expiry = { unit, amount: 0n };
    } else {
      return SYNTAX;
    }
  }
  if (parsed.expiry) {
    const problem = expiryError("set", amount);
    if (problem) return problem;
    parsed.expiry.amount = BigInt(amount as string);
  }
  return parsed;
}

export type ExpireCondition = "nx" | "xx" | "gt" | "lt";

/** The NX/XX/GT/LT flags of EXPIRE and friends, or the error Redis gives for them. */
export function parseExpireFlags(flags: string[]): Set<ExpireCondition> | string {
  const parsed = new Set<ExpireCondition>();
  for (const flag of flags) {
    const word = flag.toLowerCase();
    if (word !== "nx" && word !== "xx" && word !== "gt" && word !== "lt") return `ERR Unsupported option ${flag}`;
    parsed.add(word);
  }
  if (parsed.has("nx") && parsed.size > 1) return "ERR NX and XX, GT or LT options at the same time are not compatible";
  if (parsed.has("gt") && parsed.has("lt")) return "ERR GT and LT options at the same time are not compatible";
  return parsed;
}

/** The step of INCR-style commands (arguments already checked), or undefined for other commands. */
export function incrementOf(name: string, args: string[]): bigint | undefined {
  switch (name) {
    case "incr":
      return 1n;
    case "decr":
      return -1n;
    case "incrby":
      return BigInt(args[1] ?? "0");
    case "decrby":
      return -BigInt(args[1] ?? "0");
    case "hincrby":
      return BigInt(args[2] ?? "0");
    default:
      return undefined;
  }
}

function expiryError(name: string, value: string | undefined): string | undefined {
  if (!isInt64(value)) return NOT_AN_INTEGER;
  return BigInt(value) > 0n ? undefined : `ERR invalid expire time in '${name}' command`;
}

/**
 * A reply of ioredis-mock's Buffer methods as a Reply. Hashes come back as objects (flattened, as
 * RESP2 has them); a non-integer number can only have been a bulk string. Script replies follow
 * Redis's Lua conversion instead: true is 1, false is nil, numbers are truncated to integers.
 */
export function fromMock(value: unknown, lua: boolean): Reply {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === "string") return Buffer.from(value);
  if (typeof value === "boolean") return value ? 1 : lua ? null : 0;
  if (typeof value === "number") {
    if (lua) return Math.trunc(value);
    return Number.isInteger(value) ? value : Buffer.from(String(value));
  }
  if (Array.isArray(value)) return value.map((item: unknown) => fromMock(item, lua));
  if (!lua && isPlainObject(value)) {
    return Object.entries(value).flatMap(([field, item]) => [Buffer.from(field), fromMock(item, lua)]);
  }
  // A Lua table the mock could not convert (one with holes) arrives as an opaque proxy.
  return null;
}

/** RESP2 sends sorted-set scores as bulk strings; the mock returns some (ZPOPMIN, ZMSCORE) as numbers. */
export function scoresAsStrings(reply: Reply): Reply {
  if (!Array.isArray(reply)) return reply;
  return reply.map((item) => (typeof item === "number" ? Buffer.from(String(item)) : scoresAsStrings(item)));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
