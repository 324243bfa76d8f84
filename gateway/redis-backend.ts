import { Redis, ReplyError as IoredisReplyError } from "ioredis";
import { BackendUnavailableError, CommandError, transactionAborted, type Backend, type Command, type Outcome, type Reply } from "./backend";

// ioredis types ReplyError as `any`; this is what it is: an Error, with the queueing errors on EXECABORT.
const ReplyError = IoredisReplyError as new (message: string) => Error & { previousErrors?: Error[] };

/** host:port/db of a Redis URL, without user or password, for log lines and errors. */
export function describeRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("the Redis URL is not a valid URL"); // without it: it may hold a password
  }
  const { protocol, hostname, port, pathname } = parsed;
  return `${protocol}//${hostname}:${port || "6379"}${pathname.length > 1 ? pathname : ""}`;
}

/**
 * How long to wait before reconnection attempt `attempt` (from 1): 25 ms more each time up to
 * 150 ms, plus up to 50 ms of jitter, so under 200 ms however long Redis was away. Reconnecting
 * to a Redis that is still down costs one refused connection, so there is no reason to back off
 * further, and a Redis that is back is served again within one delay rather than after seconds.
 * The jitter keeps gateways that lost the same Redis from all reconnecting in the same instant.
 */
export function reconnectDelay(attempt: number): number {
  return Math.min(25 * attempt, 150) + Math.floor(Math.random() * 50);
}

/** Connects once to the Redis at `url`; every request shares this one connection. */
export async function connectRedis(url: string, log: (line: string) => void): Promise<Backend> {
  const where = describeRedisUrl(url);
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: "lockstep-gateway",
    // While Redis is away, fail at once rather than queue (callers get a 503 in milliseconds; the
    // edge guard has a short timeout of its own and decides what an unanswered check means).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A Redis that accepts but does not answer (frozen, or a dead network path) costs a caller at
    // most this long: as long as Lockstep's handler client waits (lib/store/upstash-client.ts).
    commandTimeout: 2_000,
    connectTimeout: 2_000,
    retryStrategy: reconnectDelay,
  });

  // One line when the connection drops and one when it is back, not one per reconnection attempt.
  let state: "connecting" | "up" | "down" = "connecting";
  let lastError: Error | undefined;
  client.on("error", (error: Error) => {
    lastError = error;
    if (state === "up") log(`gateway: lost Redis at ${where}: ${error.message}`);
    if (state !== "connecting") state = "down";
  });
  client.on("ready", () => {
    if (state === "down") log(`gateway: Redis at ${where} is back`);
    state = "up";
  });

  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const reason = lastError?.message ?? (error instanceof Error ? error.message : String(error));
    throw new Error(`could not connect to Redis at ${where}: ${reason}`);
  }

  // ioredis turns the reply of a command named exactly "hgetall" (its one reply transformer) into
  // an object; any other spelling reaches Redis untouched, and Redis does not mind the case.
  const send = (command: Command) => {
    const [name, ...args] = command;
    return { name: name === "hgetall" ? "HGETALL" : name, args };
  };

  const outcomes = (rows: [Error | null, unknown][] | null): Outcome[] => {
    if (!rows) throw new BackendUnavailableError("Redis did not answer the batch");
    return rows.map(([error, value]) => {
      if (!error) return { ok: true, value: toReply(value) };
      if (error instanceof ReplyError) return { ok: false, error: error.message };
      throw unavailable(error);
    });
  };

  return {
    kind: "redis",
    healthy: () => client.status === "ready",

    async run(command) {
      const { name, args } = send(command);
      try {
        return toReply(await client.callBuffer(name, ...args));
      } catch (error) {
        if (error instanceof ReplyError) throw new CommandError(error.message);
        throw unavailable(error);
      }
    },

    async pipeline(commands) {
      const pipeline = client.pipeline();
      for (const command of commands) {
        const { name, args } = send(command);
        pipeline.callBuffer(name, ...args);
      }
      return outcomes(await pipeline.exec());
    },

    async transaction(commands) {
      const multi = client.multi();
      for (const command of commands) {
        const { name, args } = send(command);
        multi.callBuffer(name, ...args);
      }
      let rows: [Error | null, unknown][] | null;
      try {
        rows = await multi.exec();
      } catch (error) {
        if (error instanceof ReplyError) {
          throw transactionAborted(error.previousErrors?.[0]?.message ?? error.message);
        }
        throw unavailable(error);
      }
      return outcomes(rows);
    },

    async close() {
      if (client.status === "ready") await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}

function unavailable(error: unknown): BackendUnavailableError {
  const message = error instanceof Error ? error.message : String(error);
  return new BackendUnavailableError(`Redis is unavailable: ${message}`);
}

/**
 * ioredis's reply (with Buffer replies) as a Reply. An error inside an array (a script returning
 * {err=...} in a table) has no JSON form of its own and travels as its message.
 */
function toReply(value: unknown): Reply {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value) || typeof value === "number") return value;
  if (Array.isArray(value)) return value.map(toReply);
  if (value instanceof Error) return Buffer.from(value.message);
  return Buffer.from(String(value));
}
