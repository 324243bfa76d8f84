import type { Command, Outcome, Reply } from "./backend";

/** What the gateway writes as a response body. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * Reads one command: a JSON array of a name and its arguments. @upstash/redis sends arguments
 * as strings, numbers and booleans; Redis takes them all as strings.
 */
export function parseCommand(value: unknown, what = "the body"): Parsed<Command> {
  if (!Array.isArray(value) || value.length === 0) {
    return { ok: false, problem: `ERR ${what} must be a non-empty JSON array such as ["get","key"]` };
  }
  const [name, ...rest]: unknown[] = value;
  if (typeof name !== "string" || name === "") {
    return { ok: false, problem: `ERR ${what}: the command name must be a non-empty string` };
  }
  const args: string[] = [];
  for (const [index, arg] of rest.entries()) {
    if (typeof arg === "string") args.push(arg);
    else if ((typeof arg === "number" && Number.isFinite(arg)) || typeof arg === "boolean") args.push(String(arg));
    else return { ok: false, problem: `ERR ${what}: argument ${index + 1} must be a string or a number` };
  }
  return { ok: true, value: [name, ...args] };
}

/** Reads the body of /pipeline and /multi-exec: a non-empty JSON array of commands. */
export function parseCommandList(value: unknown): Parsed<Command[]> {
  if (!Array.isArray(value) || value.length === 0) {
    return { ok: false, problem: 'ERR the body must be a non-empty JSON array of commands such as [["get","key"]]' };
  }
  const commands: Command[] = [];
  for (const [index, item] of (value as unknown[]).entries()) {
    const parsed = parseCommand(item, `command ${index + 1}`);
    if (!parsed.ok) return parsed;
    commands.push(parsed.value);
  }
  return { ok: true, value: commands };
}

const OK = Buffer.from("OK");

/**
 * One command's result as JSON. With `Upstash-Encoding: base64` every string is base64 of its
 * bytes, except a top-level "OK": @upstash/redis passes that through undecoded (Upstash sends the
 * status reply plain), and a bulk "OK" sent the same way reads back the same.
 */
export function encodeResult(reply: Reply, base64: boolean): Json {
  if (base64 && Buffer.isBuffer(reply) && reply.equals(OK)) return "OK";
  return encode(reply, base64);
}

function encode(reply: Reply, base64: boolean): Json {
  if (reply === null || typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return reply.toString(base64 ? "base64" : "utf8");
  return reply.map((item) => encode(item, base64));
}

/** The body of /pipeline and /multi-exec: one `{result}` or `{error}` per command, in order. */
export function encodeOutcomes(outcomes: Outcome[], base64: boolean): Json {
  return outcomes.map((outcome): Json => (outcome.ok ? { result: encodeResult(outcome.value, base64) } : { error: outcome.error }));
}
