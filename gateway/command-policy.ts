import { createHash } from "node:crypto";
import type { Command } from "./backend";
import { MARK_SCRIPT, FEED_SCRIPT, DELETE_IF_EQUAL_SCRIPT, REVOKE_SCRIPT } from "../lib/store/revoke-script";

/**
 * Where a command names its keys (Redis's command reference, "key specs"):
 * - `first`: its first argument, and no other;
 * - `all`: every argument;
 * - `numkeys`: EVAL/EVALSHA's `script numkeys key [key ...] arg [arg ...]`, the `numkeys` arguments
 *   after the count.
 */
type KeyPositions = "first" | "all" | "numkeys";

/**
 * What the gateway's token allows, on both backends: the commands Lockstep sends through
 * @upstash/redis (lib/store/upstash.ts) and nothing else, and of scripts only Lockstep's own. The
 * token is for Lockstep's data, not for running the server or code on it. Every request shares
 * one connection, so nothing may change that connection's state (SELECT, MULTI, SUBSCRIBE...) or
 * block it; transactions go through /multi-exec, which the gateway runs as MULTI/EXEC itself.
 * Commands that Lockstep's scripts call (ZADD, ZREMRANGEBYSCORE, PEXPIRE) run inside Redis and
 * need no place here. Each command comes with where its keys are, so that none can be allowed
 * without its keys being checked against the prefix.
 */
const COMMAND_KEYS = {
  // strings and keys: SET's options (NX, GET, KEEPTTL, EX...) name no key
  get: "first",
  set: "first",
  mget: "all",
  exists: "all",
  del: "all",
  expire: "first",
  // sets: a subject's sessions, an email's subjects
  sadd: "first",
  srem: "first",
  smembers: "first",
  // lists: the activity log
  lpush: "first",
  ltrim: "first",
  lrange: "first",
  // sorted sets: the ended-sessions feed (written by REVOKE_SCRIPT and FEED_SCRIPT). ZRANGE has
  // one key whatever its options; the form with a destination is ZRANGESTORE, not allowed.
  zrange: "first",
  // Lockstep's scripts (lib/store/revoke-script.ts) and nothing else; EVALSHA is what
  // @upstash/redis's createScript sends first. Every key those scripts touch is one of their KEYS
  // (the scripting rule Redis and Upstash set, which lib/store/revoke-script.ts follows).
  eval: "numkeys",
  evalsha: "numkeys",
} as const satisfies Record<string, KeyPositions>;

export const ALLOWED_COMMANDS: ReadonlySet<string> = new Set(Object.keys(COMMAND_KEYS));

/** The scripts EVAL and EVALSHA may run: Lockstep's own, imported so that the list cannot drift. */
export const LOCKSTEP_SCRIPTS: readonly string[] = [REVOKE_SCRIPT, MARK_SCRIPT, FEED_SCRIPT, DELETE_IF_EQUAL_SCRIPT];

const SCRIPT_TEXTS: ReadonlySet<string> = new Set(LOCKSTEP_SCRIPTS);
const SCRIPT_SHAS: ReadonlySet<string> = new Set(LOCKSTEP_SCRIPTS.map(sha1));

/**
 * The largest batch Lockstep sends is the clean-up of "end every session of a user" (SessionStore.end
 * in lib/store/upstash.ts): one /multi-exec of up to 6 commands per ended session. @upstash/redis's
 * auto-pipelining sends up to 1000 commands in one /pipeline. 10,000 covers a user with over 1,600
 * live sessions, and holds the one shared Redis connection for a fraction of a second at most.
 */
export const DEFAULT_MAX_COMMANDS = 10_000;
/** @upstash/redis 1.39 auto-pipelines up to this many commands into one request (MAX_PIPELINE_SIZE). */
export const MIN_MAX_COMMANDS = 1_000;

/** LOCKSTEP_KEY_PREFIX's default and its shape (lib/config/schema.ts): no braces, globs or spaces. */
export const DEFAULT_KEY_PREFIX = "ls:";
export const KEY_PREFIX_PATTERN = /^[A-Za-z0-9:_.-]{1,64}$/;

/** How much of a caller's key an error repeats: enough to see a wrong prefix, not a session id. */
const KEY_ECHO = 16;

const NOT_ALLOWED = "ERR command not allowed by the Lockstep gateway: ";

/**
 * The most arguments one command may carry. Lockstep's largest (an MGET of a user's session records)
 * holds one per session; far more would only tie up the shared connection (and an argument list of
 * hundreds of thousands overflows the stack of the call that sends it).
 */
export const MAX_ARGUMENTS = 10_000;

export type PolicySettings = {
  /** Every key a command names must start with it (GATEWAY_KEY_PREFIX). */
  keyPrefix: string;
  /** The most commands one /pipeline or /multi-exec request may hold (GATEWAY_MAX_COMMANDS). */
  maxCommands: number;
};

/**
 * Why a command may not run. `command`: not a command or script of Lockstep's (a pipeline refuses it
 * in its own slot, as Redis refuses an unknown command). `key`: it names a key outside the prefix, or
 * its keys cannot be told (a bad numkeys): the whole request is refused, nothing runs.
 */
export type Refusal = { kind: "command" | "key"; error: string };

export type CommandPolicy = {
  /** Why a /pipeline or /multi-exec of `count` commands is refused as a whole, or undefined. */
  batchRefusal(count: number): string | undefined;
  /** Why this command may not run, or undefined when it may. */
  refusal(command: Command): Refusal | undefined;
};

/** The gateway's policy for these settings; throws on settings that would leave a hole. */
export function commandPolicy({ keyPrefix, maxCommands }: PolicySettings): CommandPolicy {
  if (!KEY_PREFIX_PATTERN.test(keyPrefix)) {
    throw new Error("the key prefix must be 1 to 64 letters, digits and : _ . - (as LOCKSTEP_KEY_PREFIX)");
  }
  if (!Number.isSafeInteger(maxCommands) || maxCommands < 1) {
    throw new Error("the most commands per request must be a whole number of at least 1");
  }
  const outside = `ERR key outside the Lockstep key prefix ${JSON.stringify(keyPrefix)} (GATEWAY_KEY_PREFIX): `;

  return {
    batchRefusal: (count) =>
      count > maxCommands
        ? `ERR too many commands in one request: ${count}; the Lockstep gateway runs at most ${maxCommands} (GATEWAY_MAX_COMMANDS). Nothing was run.`
        : undefined,

    refusal([name, ...args]) {
      const lower = name.toLowerCase();
      if (args.length > MAX_ARGUMENTS) {
        return {
          kind: "key",
          error: `ERR too many arguments in one command: ${args.length}; the Lockstep gateway takes at most ${MAX_ARGUMENTS}. Nothing was run.`,
        };
      }
      // The name is the caller's: cut it short before it goes back in an error.
      if (!isAllowed(lower)) return { kind: "command", error: `${NOT_ALLOWED}${lower.slice(0, 64)}` };
      const [script = ""] = args;
      if (lower === "eval" && !SCRIPT_TEXTS.has(script)) {
        return { kind: "command", error: `${NOT_ALLOWED}eval of a script that is not Lockstep's (sha1 ${sha1(script)})` };
      }
      if (lower === "evalsha" && !SCRIPT_SHAS.has(script.toLowerCase())) {
        return { kind: "command", error: `${NOT_ALLOWED}evalsha of a script that is not Lockstep's (${script.slice(0, 40)})` };
      }
      const keys = keysOf(COMMAND_KEYS[lower], args);
      if (keys === undefined) {
        return {
          kind: "key",
          error: `ERR ${lower}: numkeys must be a whole number no greater than the number of arguments after it (Lockstep gateway)`,
        };
      }
      const stray = keys.find((key) => !key.startsWith(keyPrefix));
      if (stray === undefined) return undefined;
      const echo = JSON.stringify(stray.slice(0, KEY_ECHO)) + (stray.length > KEY_ECHO ? "…" : "");
      return { kind: "key", error: `${outside}${lower} ${echo}` };
    },
  };
}

function isAllowed(name: string): name is keyof typeof COMMAND_KEYS {
  return ALLOWED_COMMANDS.has(name);
}

/**
 * The keys a command names (arguments after its name), or undefined when they cannot be told. A
 * key missing where one belongs (`["get"]`) names none: Redis answers with its arity error.
 */
function keysOf(positions: KeyPositions, args: string[]): string[] | undefined {
  switch (positions) {
    case "first":
      return args.slice(0, 1);
    case "all":
      return args;
    case "numkeys": {
      // Decimal digits only, without sign or leading zeros: what Redis reads as the same number
      // (it refuses "01", "+1", " 1"), so the keys checked here are the keys Redis will see.
      const [, numkeys = "", ...rest] = args;
      if (!/^(0|[1-9][0-9]{0,9})$/.test(numkeys)) return undefined;
      const count = Number(numkeys);
      return count <= rest.length ? rest.slice(0, count) : undefined;
    }
  }
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}
