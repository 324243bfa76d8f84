/**
 * Commands the embedded store runs itself on top of ioredis-mock's primitives, because the mock
 * gets them wrong in ways callers would notice: it matches SET's options in upper case only
 * (@upstash/redis sends "nx", "px"), drops the TTL on KEEPTTL and ignores EXPIRE's NX/XX/GT/LT.
 * Arguments have passed argumentError (embedded-checks.ts) before these run.
 */
import type { Redis } from "ioredis";
import { CommandError, type Reply } from "./backend";
import { parseExpireFlags, parseSetOptions } from "./embedded-checks";

export async function set(mock: Redis, [key = "", value = "", ...rest]: string[]): Promise<Reply> {
  const options = parseSetOptions(rest);
  if (typeof options === "string") throw new CommandError(options);
  const old = options.get ? await mock.getBuffer(key) : null;
  if (options.condition) {
    const exists = (await mock.exists(key)) === 1;
    if ((options.condition === "nx") === exists) return old;
  }
  const keptTtl = options.keepTtl ? await mock.pttl(key) : -1;
  await mock.set(key, value); // a plain SET, which also clears any TTL
  const { expiry } = options;
  if (expiry) {
    const amount = Number(expiry.amount);
    if (expiry.unit === "ex") await mock.pexpire(key, amount * 1000);
    else if (expiry.unit === "px") await mock.pexpire(key, amount);
    else if (expiry.unit === "exat") await mock.pexpireat(key, amount * 1000);
    else await mock.pexpireat(key, amount);
  } else if (keptTtl > 0) {
    await mock.pexpire(key, keptTtl);
  }
  return options.get ? old : Buffer.from("OK");
}

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with their NX/XX/GT/LT conditions. */
export async function expire(mock: Redis, name: string, [key = "", amount = "0", ...flags]: string[]): Promise<Reply> {
  const conditions = parseExpireFlags(flags);
  if (typeof conditions === "string") throw new CommandError(conditions);
  const pttl = await mock.pttl(key);
  if (pttl === -2) return 0;
  const now = Date.now();
  const target = expiryTime(name, Number(amount), now);
  // No TTL counts as an infinite one, as in Redis.
  const current = pttl === -1 ? Number.POSITIVE_INFINITY : now + pttl;
  if (conditions.has("nx") && pttl !== -1) return 0;
  if (conditions.has("xx") && pttl === -1) return 0;
  if (conditions.has("gt") && !(target > current)) return 0;
  if (conditions.has("lt") && !(target < current)) return 0;
  return mock.pexpireat(key, target);
}

/** When the key would expire, in milliseconds since the epoch. */
function expiryTime(name: string, amount: number, now: number): number {
  switch (name) {
    case "expire":
      return now + amount * 1000;
    case "pexpire":
      return now + amount;
    case "expireat":
      return amount * 1000;
    default:
      return amount;
  }
}

const ZADD_FLAGS = new Set(["NX", "XX", "GT", "LT", "CH", "INCR"]);

/** Option words the mock matches in upper case only; Redis takes any case. */
export function upperCaseKeywords(name: string, args: string[]): string[] {
  const upper = (isKeyword: (arg: string, index: number) => boolean) =>
    args.map((arg, index) => (isKeyword(arg, index) ? arg.toUpperCase() : arg));
  switch (name) {
    case "zadd": {
      // Flags sit between the key and the first score; members may be spelled like flags.
      const firstScore = args.findIndex((arg, index) => index > 0 && !ZADD_FLAGS.has(arg.toUpperCase()));
      return upper((_, index) => index > 0 && (firstScore < 0 || index < firstScore));
    }
    case "lmove":
      return upper((_, index) => index === 2 || index === 3);
    case "linsert":
      return upper((_, index) => index === 1);
    default:
      return args;
  }
}
