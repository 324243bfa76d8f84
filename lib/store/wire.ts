/** One Redis command: its name, in lower case, and its arguments. */
export type Command = readonly [name: string, ...args: (string | number)[]];

/**
 * The little the Redis store (lib/store/redis.ts) needs from a client, whatever carries the commands:
 * ioredis over TCP (lib/store/native.ts) or Upstash's REST protocol over HTTP (lib/store/upstash.ts).
 * Replies are RESP2 as JSON reads it: strings, integers, null and arrays. Every method rejects when a
 * command fails; the store turns that into a StoreError. Edge-safe.
 */
export interface RedisWire {
  /**
   * A Redis Cluster: every pipeline, transaction and script must keep to one hash slot, so writes
   * that span slots go one slot at a time (lib/store/keys.ts names each key's slot).
   */
  readonly cluster: boolean;
  send(command: Command): Promise<unknown>;
  /** The commands in one round trip, not atomically; their replies in order. */
  pipeline(commands: readonly Command[]): Promise<unknown[]>;
  /** MULTI … EXEC: the commands atomically; their replies in order. */
  transaction(commands: readonly Command[]): Promise<unknown[]>;
  /** A Lua script of Lockstep's (lib/store/revoke-script.ts): EVALSHA, then EVAL when Redis has not cached it. */
  script(lua: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
}
