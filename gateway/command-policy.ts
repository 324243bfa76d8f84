import { createHash } from "node:crypto";
import type { Command } from "./backend";
import { MARK_SCRIPT, FEED_SCRIPT, DELETE_IF_EQUAL_SCRIPT, REVOKE_SCRIPT } from "../lib/store/revoke-script";

/**
 * What the gateway's token allows, on both backends: the commands Lockstep sends through
 * @upstash/redis (lib/store/upstash.ts) and nothing else, and of scripts only Lockstep's own. The
 * token is for Lockstep's data, not for running the server or code on it. Every request shares
 * one connection, so nothing may change that connection's state (SELECT, MULTI, SUBSCRIBE...) or
 * block it; transactions go through /multi-exec, which the gateway runs as MULTI/EXEC itself.
 * Commands that Lockstep's scripts call (ZADD, ZREMRANGEBYSCORE, PEXPIRE) run inside Redis and
 * need no place here.
 */
export const ALLOWED_COMMANDS: ReadonlySet<string> = new Set([
  // strings and keys
  "get",
  "set",
  "mget",
  "exists",
  "del",
  "expire",
  // sets: a subject's sessions, an email's subjects
  "sadd",
  "srem",
  "smembers",
  // lists: the activity log
  "lpush",
  "ltrim",
  "lrange",
  // sorted sets: the ended-sessions feed (written by REVOKE_SCRIPT and FEED_SCRIPT)
  "zrange",
  // Lockstep's scripts (lib/store/revoke-script.ts) and nothing else; EVALSHA is what
  // @upstash/redis's createScript sends first
  "eval",
  "evalsha",
]);

/** The scripts EVAL and EVALSHA may run: Lockstep's own, imported so that the list cannot drift. */
export const LOCKSTEP_SCRIPTS: readonly string[] = [REVOKE_SCRIPT, MARK_SCRIPT, FEED_SCRIPT, DELETE_IF_EQUAL_SCRIPT];

const SCRIPT_TEXTS: ReadonlySet<string> = new Set(LOCKSTEP_SCRIPTS);
const SCRIPT_SHAS: ReadonlySet<string> = new Set(LOCKSTEP_SCRIPTS.map(sha1));

const PREFIX = "ERR command not allowed by the Lockstep gateway: ";

/** Why the gateway refuses this command, or undefined when it may run. */
export function refusal([name, ...args]: Command): string | undefined {
  const lower = name.toLowerCase();
  // The name is the caller's: cut it short before it goes back in an error.
  if (!ALLOWED_COMMANDS.has(lower)) return `${PREFIX}${lower.slice(0, 64)}`;
  const [script = ""] = args;
  if (lower === "eval" && !SCRIPT_TEXTS.has(script)) {
    return `${PREFIX}eval of a script that is not Lockstep's (sha1 ${sha1(script)})`;
  }
  if (lower === "evalsha" && !SCRIPT_SHAS.has(script.toLowerCase())) {
    return `${PREFIX}evalsha of a script that is not Lockstep's (${script.slice(0, 40)})`;
  }
  return undefined;
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}
