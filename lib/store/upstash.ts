import type { Requester } from "@upstash/redis";
import type { Keys } from "./keys";
import type { Stores } from "./ports";
import { redisStores } from "./redis";
import type { Command, RedisWire } from "./wire";

type Reply = { result?: unknown; error?: string };

/** A reply's result, or its error thrown with Redis's words (never the command: it may carry a token). */
function resultOf(reply: Reply | undefined): unknown {
  if (!reply || typeof reply !== "object") throw new Error("The REST Redis endpoint answered in an unexpected shape.");
  if (reply.error !== undefined) throw new Error(reply.error);
  return reply.result;
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A RedisWire over Upstash's REST protocol (Upstash, or the gateway in front of a Redis): a command
 * is a POST of its JSON array, `/pipeline` and `/multi-exec` take a list of them. Commands sent in
 * the same tick go out together in one `/pipeline` request (each keeps its own reply or error), as
 * @upstash/redis's auto-pipelining does. Never a Cluster: the endpoint is one Redis to its clients.
 * Edge-safe: the requester is @upstash/redis's (fetch) or lib/store/node-requester.ts (node:http).
 */
export function restWire(requester: Requester): RedisWire {
  let batch: { command: Command; resolve: (value: unknown) => void; reject: (error: unknown) => void }[] | undefined;
  const shas = new Map<string, Promise<string>>();

  const flush = async () => {
    const sent = batch ?? [];
    batch = undefined;
    try {
      if (sent.length === 1) {
        sent[0]!.resolve(resultOf((await requester.request({ body: sent[0]!.command })) as Reply));
        return;
      }
      const replies = (await requester.request({ path: ["pipeline"], body: sent.map((s) => s.command) })) as unknown as Reply[];
      sent.forEach((s, i) => {
        try {
          s.resolve(resultOf(replies[i]));
        } catch (error) {
          s.reject(error);
        }
      });
    } catch (error) {
      for (const s of sent) s.reject(error);
    }
  };

  const many = async (path: "pipeline" | "multi-exec", commands: readonly Command[]) => {
    const replies = (await requester.request({ path: [path], body: commands })) as unknown as Reply[];
    if (!Array.isArray(replies) || replies.length !== commands.length)
      throw new Error("The REST Redis endpoint answered in an unexpected shape.");
    return replies.map(resultOf);
  };

  const send = (command: Command) =>
    new Promise<unknown>((resolve, reject) => {
      if (!batch) {
        batch = [];
        queueMicrotask(() => void flush());
      }
      batch.push({ command, resolve, reject });
    });

  return {
    cluster: false,
    send,
    pipeline: (commands) => many("pipeline", commands),
    transaction: (commands) => many("multi-exec", commands),
    script: async (lua, keys, args) => {
      let sha = shas.get(lua);
      if (!sha) shas.set(lua, (sha = sha1Hex(lua)));
      try {
        return await send(["evalsha", await sha, keys.length, ...keys, ...args]);
      } catch (error) {
        if (!String((error as Error)?.message).includes("NOSCRIPT")) throw error;
        return send(["eval", lua, keys.length, ...keys, ...args]);
      }
    },
  };
}

/**
 * The stores on Redis over REST (lib/store/redis.ts over restWire): @upstash/redis's HttpClient over
 * fetch on the edge, node:http in the Node runtime (lib/store/upstash-client.ts makes either).
 */
export function upstashStores(requester: Requester, k: Keys, ttlSeconds: number): Stores {
  return redisStores(restWire(requester), k, ttlSeconds);
}
