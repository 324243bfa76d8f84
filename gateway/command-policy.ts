import type { Command } from "./backend";

/**
 * Commands the gateway refuses on both backends. Every request shares one connection, so nothing
 * may change that connection's state or block it, and the token is for data, not for running the
 * server. Transactions go through /multi-exec instead of MULTI/EXEC.
 */
const NOT_ALLOWED = new Set([
  // connection state
  "multi", "exec", "discard", "watch", "unwatch", "select", "hello", "auth", "reset", "quit", "client",
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor",
  "sync", "psync", "replconf", "readonly", "readwrite", "asking",
  // blocking
  "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop", "wait", "waitaof",
  // server administration
  "shutdown", "debug", "config", "module", "acl", "replicaof", "slaveof", "failover", "cluster",
  "save", "bgsave", "bgrewriteaof", "migrate", "swapdb",
]);

/** Why the gateway refuses this command, or undefined when it may run. */
export function refusal([name, ...args]: Command): string | undefined {
  const lower = name.toLowerCase();
  const blockingRead =
    (lower === "xread" || lower === "xreadgroup") && args.some((arg) => arg.toLowerCase() === "block");
  if (NOT_ALLOWED.has(lower) || blockingRead) {
    return `ERR command '${lower}' is not allowed through the gateway`;
  }
  return undefined;
}
