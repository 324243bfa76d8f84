/**
 * An HTTP server that speaks Upstash's Redis REST protocol, so that @upstash/redis can talk to a
 * plain Redis (or, for the demo, an embedded store). The wire format follows what the client sends
 * and reads (node_modules/@upstash/redis, HttpClient): POST / with one command, POST /pipeline and
 * POST /multi-exec with a list; `{"result": ...}` or `{"error": "..."}`; errors with status 400, or
 * 413 for a body or a batch beyond the gateway's limits. What may run is command-policy.ts's call.
 */
import { isSameSecret } from "../lib/http/constant-time";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { BlockList, type AddressInfo } from "node:net";
import { BackendUnavailableError, CommandError, transactionAborted, type Command, type Outcome } from "./backend";
import { commandPolicy, DEFAULT_MAX_COMMANDS, type Refusal } from "./command-policy";
import { connectRedis } from "./redis-backend";
import { encodeOutcomes, encodeResult, parseCommand, parseCommandList, type Json } from "./wire";

export interface GatewayOptions {
  /** Where to listen; a loopback address unless allowNonLoopback. Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** The bearer token callers must send (UPSTASH_REDIS_REST_TOKEN). */
  token: string;
  /** A Redis to proxy to; without it the embedded demo store serves. */
  redisUrl?: string;
  /**
   * Every key a command names must start with this (GATEWAY_KEY_PREFIX): the apps'
   * LOCKSTEP_KEY_PREFIX, so that the token reaches Lockstep's keys and no other app's.
   */
  keyPrefix: string;
  /** The most commands one /pipeline or /multi-exec may hold (GATEWAY_MAX_COMMANDS); default DEFAULT_MAX_COMMANDS. */
  maxCommands?: number;
  /** Listening beyond this machine has to be asked for. */
  allowNonLoopback?: boolean;
  log?: (line: string) => void;
}

export interface Gateway {
  url: string;
  backend: "redis" | "embedded";
  close(): Promise<void>;
}

const MIN_TOKEN_LENGTH = 16;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const COMMAND_PATHS = new Set(["/", "/pipeline", "/multi-exec"]);

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  try {
    return loopback.check(bare, bare.includes(":") ? "ipv6" : "ipv4");
  } catch {
    return false; // not an IP address: a name that might resolve anywhere
  }
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? ((line: string) => console.log(line));
  if (!isLoopback(host) && opts.allowNonLoopback !== true) {
    throw new Error(
      `refusing to listen on ${host}: not a loopback address. The gateway is meant for this machine; ` +
        "pass allowNonLoopback: true to expose it.",
    );
  }
  if (opts.token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`the gateway token must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  const policy = commandPolicy({ keyPrefix: opts.keyPrefix, maxCommands: opts.maxCommands ?? DEFAULT_MAX_COMMANDS });

  // The embedded store (ioredis-mock, a development dependency) is loaded only when it is used.
  const embedded = opts.redisUrl ? undefined : await import("./embedded-backend");
  const backend = embedded ? await embedded.createEmbeddedStore() : await connectRedis(opts.redisUrl as string, log);
  if (embedded) log(embedded.EMBEDDED_WARNING);

  const authorized = tokenCheck(opts.token);
  const server = createServer({ keepAlive: true, noDelay: true, requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A caller that hung up mid-request is not the gateway's fault.
      if (req.destroyed) return;
      log(`gateway: internal error: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) send(res, 500, { error: "ERR internal gateway error" });
      else res.destroy();
    });
  });
  // Callers keep their connections for the next request; idle ones are closed after this long.
  server.keepAliveTimeout = 30_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?", 1)[0]?.replace(/(.)\/+$/, "$1") ?? "/";
    if (path === "/healthz") {
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "Method not allowed" });
      const ok = backend.healthy();
      return send(res, ok ? 200 : 503, { ok, backend: backend.kind });
    }
    if (req.method !== "POST") return send(res, 405, { error: "Method not allowed" }, { Allow: "POST" });
    if (!authorized(req.headers.authorization)) return send(res, 401, { error: "Unauthorized" });
    if (!COMMAND_PATHS.has(path)) return send(res, 404, { error: "Not found" });
    const format = header(req, "upstash-response-format");
    if (format !== undefined && format.toLowerCase() !== "json") {
      return send(res, 400, { error: "ERR only the json response format is supported" });
    }

    const body = await readBody(req);
    if (body === undefined) {
      return send(res, 413, { error: `ERR the body is larger than ${MAX_BODY_BYTES} bytes` }, { Connection: "close" });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      return send(res, 400, { error: "ERR the body is not valid JSON" });
    }
    const base64 = header(req, "upstash-encoding")?.toLowerCase() === "base64";
    try {
      const [status, json] = await execute(path, parsed, base64);
      send(res, status, json);
    } catch (error) {
      if (error instanceof CommandError) return send(res, 400, { error: error.message });
      if (error instanceof BackendUnavailableError) return send(res, 503, { error: `ERR ${error.message}` });
      throw error;
    }
  }

  async function execute(path: string, body: unknown, base64: boolean): Promise<[number, Json]> {
    if (path === "/") {
      const command = parseCommand(body);
      if (!command.ok) return [400, { error: command.problem }];
      const refused = policy.refusal(command.value);
      if (refused) return [400, { error: refused.error }];
      return [200, { result: encodeResult(await backend.run(command.value), base64) }];
    }
    // Counted before anything else is read: a batch over the limit costs no more than its JSON.
    const tooMany = Array.isArray(body) ? policy.batchRefusal(body.length) : undefined;
    if (tooMany) return [413, { error: tooMany }];
    const commands = parseCommandList(body);
    if (!commands.ok) return [400, { error: commands.problem }];
    const refusals = commands.value.map(policy.refusal);
    // A key outside the prefix refuses the whole request, before any of it runs.
    const stray = refusals.findIndex((refused) => refused?.kind === "key");
    if (stray >= 0) {
      const of = commands.value.length;
      return [400, { error: `${refusals[stray]?.error} (command ${stray + 1} of ${of}; nothing was run)` }];
    }
    if (path === "/pipeline") return [200, encodeOutcomes(await runPipeline(commands.value, refusals), base64)];
    const refused = refusals.find((reason) => reason !== undefined);
    if (refused) throw transactionAborted(refused.error);
    return [200, encodeOutcomes(await backend.transaction(commands.value), base64)];
  }

  /** A command that is not Lockstep's fails in its own slot; the others still run, as in a pipeline. */
  async function runPipeline(commands: Command[], refusals: (Refusal | undefined)[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = refusals.map((refused) => (refused ? { ok: false, error: refused.error } : { ok: true, value: null }));
    const slots = outcomes.flatMap((outcome, index) => (outcome.ok ? [index] : []));
    if (slots.length === 0) return outcomes;
    const ran = await backend.pipeline(slots.map((index) => commands[index] as Command));
    slots.forEach((slot, at) => {
      outcomes[slot] = ran[at] ?? { ok: false, error: "ERR no reply" };
    });
    return outcomes;
  }

  try {
    await listen(server, opts.port, host);
  } catch (error) {
    await backend.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    backend: backend.kind,
    close: () => {
      closing ??= (async () => {
        // Give requests in flight a moment, then cut whatever is still open.
        const cutoff = setTimeout(() => server.closeAllConnections(), 2_000);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        clearTimeout(cutoff);
        await backend.close();
      })();
      return closing;
    },
  };
}

/** Compares bearer tokens in constant time (lib/http/constant-time.ts). */
function tokenCheck(token: string): (header: string | undefined) => boolean {
  return (header) => {
    const match = /^Bearer (.+)$/i.exec(header ?? "");
    return isSameSecret(match?.[1] ?? "", token) && match !== null;
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The request body, or undefined when it is larger than MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        resolve(undefined);
      } else {
        chunks.push(chunk);
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
