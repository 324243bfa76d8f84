import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import http from "node:http";
import path from "node:path";
import { Redis as IORedis } from "ioredis";
import { freePort, stopChild } from "./stack";
import type { ScaleSession } from "./scale-sessions";
import type { WriteJob } from "./scale-writer";

/**
 * What `npm run bench:scale` (bench-scale.ts) needs besides the stack: a private Redis server, the
 * app process's memory and CPU time from /proc, the tabs' and the session writers' processes.
 */

/** A redis-server of the benchmark's own (no persistence): nobody else's traffic counts in its INFO. */
export type PrivateRedis = { url: string; pid: number; client: IORedis; stop(): Promise<void> };

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxclients", "1000"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
  child.stderr?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
  const url = `redis://127.0.0.1:${port}`;
  const client = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // Refused connections while the server starts are expected: connect() below reports them.
  client.on("error", () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (error) {
      client.disconnect();
      if (Date.now() > deadline || child.exitCode !== null) {
        await stopChild(child);
        throw new Error(`bench: the private redis-server did not start: ${String(error)}\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    pid: child.pid!,
    client,
    async stop() {
      client.disconnect();
      await stopChild(child);
    },
  };
}

/** Calls per command since the server started (INFO commandstats), e.g. { get: 12, evalsha: 3 }. */
export async function commandCalls(redis: IORedis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const m of (await redis.info("commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  return calls;
}

/** Calls per command between two readings, without the INFO and CLIENT calls this benchmark makes itself. */
export function callsBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [command, n] of after) {
    if (command === "info" || command.startsWith("client")) continue;
    const d = n - (before.get(command) ?? 0);
    if (d > 0) delta.set(command, d);
  }
  return delta;
}

export async function usedMemory(redis: IORedis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info("memory"))?.[1] ?? NaN);
}

/** The 1, 5 and 15 minute load averages, as `uptime` shows them. */
export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(", ");
}

/** A process's resident set size in bytes (VmRSS in /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

/** CPU seconds (user + system) of a process and its descendants, from /proc. */
export function cpuSeconds(rootPid: number): number {
  const ticks = 100; // USER_HZ on Linux
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(entry), { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / ticks });
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    total += stats.get(pid)?.cpu ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) queue.push(child);
  }
  return total;
}

/**
 * This process's CPU seconds, with those of its children that have ended (a session writer's, once
 * it exits): the benchmark's own share, never the app's (still running, so not counted here).
 */
function ownCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}

/** How long a process's main thread (a Node process's event loop) has waited for a CPU while runnable, in seconds (/proc/<pid>/schedstat). */
export function runQueueSeconds(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e9;
}

/** Over one window: each process's CPU seconds and share of one core, and how long the app's event loop waited for a CPU. */
export type CpuFigures = { seconds: number; used: Record<string, number>; share: Record<string, number>; appWaited: number };

/**
 * Starts a window over several processes (`app` among them) and this one (`bench`); the function it
 * answers ends the window and gives the figures.
 */
export function cpuWindow(pids: Record<string, number>): () => CpuFigures {
  const start = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const waitedBefore = pids.app ? runQueueSeconds(pids.app) : 0;
  const self = ownCpuSeconds();
  return () => {
    const seconds = (performance.now() - start) / 1000;
    const used: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids)) used[name] = cpuSeconds(pid) - before[name]!;
    used.bench = ownCpuSeconds() - self;
    const share = Object.fromEntries(Object.entries(used).map(([name, s]) => [name, s / seconds]));
    return { seconds, used, share, appWaited: pids.app ? runQueueSeconds(pids.app) - waitedBefore : 0 };
  };
}

/** "app 96 %, redis 4 %, ... of a core; the app's event loop waited 1.2 s for a CPU". */
export function describeCpu(figures: CpuFigures): string {
  const shares = Object.entries(figures.share)
    .map(([name, s]) => `${name} ${(s * 100).toFixed(0)} %`)
    .join(", ");
  return `${shares} of a core over ${figures.seconds.toFixed(1)} s; the app's event loop waited ${figures.appWaited.toFixed(2)} s for a CPU`;
}

/**
 * The probe preloaded into the app's process (scale-probe.mjs): on SIGUSR2 it runs a full garbage
 * collection and writes process.memoryUsage() to a file, or starts or stops a CPU profile. `env` is
 * what the app needs to load it.
 */
export type MemoryProbe = {
  env: Record<string, string>;
  read(pid: number): Promise<NodeJS.MemoryUsage>;
  /** Starts (true) or stops (false) a CPU profile of the app; stopping writes it beside the probe's file. */
  profile(pid: number, on: boolean): Promise<void>;
  /** Where the probe writes (heap snapshots and CPU profiles go beside it). */
  file: string;
  remove(): void;
};

export function memoryProbe(): MemoryProbe {
  const file = path.join(tmpdir(), `lockstep-scale-probe-${randomBytes(6).toString("hex")}.json`);
  const probe = path.join(path.dirname(new URL(import.meta.url).pathname), "scale-probe.mjs");
  /** Asks the probe for `command` and answers what it wrote. */
  const ask = async (pid: number, command: string): Promise<unknown> => {
    writeFileSync(`${file}.cmd`, command);
    const before = existsSync(file) ? statSync(file).mtimeMs : 0;
    process.kill(pid, "SIGUSR2");
    // A full GC of a large heap (and a heap snapshot, when asked) can take a while on a loaded machine.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      if (existsSync(file) && statSync(file).mtimeMs !== before) return JSON.parse(readFileSync(file, "utf8"));
    }
    throw new Error(`bench: the app's probe did not answer "${command}" within 120 s`);
  };
  return {
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${probe}`.trim(), LOCKSTEP_SCALE_PROBE_FILE: file },
    file,
    read: async (pid) => (await ask(pid, "memory")) as NodeJS.MemoryUsage,
    profile: async (pid, on) => void (await ask(pid, on ? "profile-start" : "profile-stop")),
    remove: () => {
      rmSync(file, { force: true });
      rmSync(`${file}.cmd`, { force: true });
    },
  };
}

/** One `ended` event as a tab got it: the tab, when it arrived, the ending's own time (ms), the reason. */
export type TabEnded = { tab: number; arrived: number; at: number; reason: string };

/** What opening the tabs gave: counts, HTTP statuses, and the streams' Content-Encoding as the server chose it. */
export type Opened = {
  opened: number;
  failed: number;
  seconds: number;
  statuses: Record<string, number>;
  encodings: Record<string, number>;
};

export type TabStats = { open: number; ended: number; closedEarly: number; failed: number; statuses: Record<string, number> };

/**
 * The tabs' process (scale-tab-client.ts), started with tsx's loader and driven over IPC. `ended`
 * collects every `ended` event its tabs report.
 */
export class TabClient {
  readonly ended: TabEnded[] = [];
  private readonly waiting = new Map<string, (message: Record<string, unknown>) => void>();

  private constructor(readonly process: ChildProcess) {
    process.on("message", (message: Record<string, unknown>) => {
      if (message.type === "ended") {
        for (const [tab, arrived, at, reason] of message.events as [number, number, number, string][])
          this.ended.push({ tab, arrived, at, reason });
        return;
      }
      const resolve = this.waiting.get(String(message.type));
      this.waiting.delete(String(message.type));
      resolve?.(message);
    });
  }

  static async start(): Promise<TabClient> {
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), "scale-tab-client.ts");
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const client = new TabClient(child);
    await client.reply("up", 30_000);
    return client;
  }

  get pid(): number {
    return this.process.pid!;
  }

  private reply(type: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(type);
        reject(new Error(`bench: the tab client did not answer "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(type, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  /** Opens one tab per cookie (`name=value`), `concurrency` at a time, at most `seconds` in all. */
  async open(
    appUrl: string,
    cookies: string[],
    options: { concurrency: number; seconds: number; acceptEncoding: string },
  ): Promise<Opened> {
    const url = new URL(appUrl);
    const answer = this.reply("opened", options.seconds * 1000);
    this.process.send({
      type: "open",
      port: Number(url.port),
      host: url.host,
      cookies,
      concurrency: options.concurrency,
      acceptEncoding: options.acceptEncoding,
      timeoutMs: 30_000,
    });
    return (await answer) as unknown as Opened;
  }

  async stats(): Promise<TabStats> {
    const answer = this.reply("stats", 10_000);
    this.process.send({ type: "stats" });
    return (await answer) as unknown as TabStats;
  }

  /** Waits until `count` tabs got `ended`, or `timeoutMs` passes; answers how many did. */
  async waitForEnded(count: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.ended.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Let the last batch (sent every 50 ms) arrive.
    await new Promise((r) => setTimeout(r, 100));
    return this.ended.length;
  }

  async close(): Promise<void> {
    if (this.process.connected) this.process.send({ type: "close" });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void stopChild(this.process).then(resolve), 5_000);
      if (this.process.exitCode !== null) return resolve();
      this.process.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/**
 * Writes sessions `from` … `from + count - 1` in `writers` processes of their own (scale-writer.ts),
 * each a share of the range through its own connection, `concurrency` at a time each, for at most
 * `seconds`. Answers how many were written, the longest writer's time, and the sessions kept (every
 * `keepEvery`-th of each writer's share).
 */
export async function writeInProcesses(
  job: Omit<WriteJob, "from" | "count">,
  range: { from: number; count: number; writers: number },
): Promise<{ written: number; seconds: number; kept: ScaleSession[] }> {
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), "scale-writer.ts");
  const share = Math.ceil(range.count / range.writers);
  const children: ChildProcess[] = [];
  try {
    const results = await Promise.all(
      Array.from({ length: range.writers }, (_, w) => {
        const from = range.from + w * share;
        const count = Math.max(0, Math.min(share, range.from + range.count - from));
        const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script], {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        children.push(child);
        return new Promise<{ written: number; seconds: number; kept: ScaleSession[] }>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("bench: a session writer did not answer in time")), (job.seconds + 120) * 1000);
          child.once("message", (message: { error?: string; written: number; seconds: number; kept: ScaleSession[] }) => {
            clearTimeout(timer);
            if (message.error) reject(new Error(`bench: a session writer failed: ${message.error}`));
            else resolve(message);
          });
          child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`bench: a session writer exited (${code}) before it answered`));
          });
          child.send({ ...job, from, count } satisfies WriteJob);
        });
      }),
    );
    return {
      written: results.reduce((sum, r) => sum + r.written, 0),
      seconds: Math.max(...results.map((r) => r.seconds)),
      kept: results.flatMap((r) => r.kept),
    };
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
  }
}

/** GET with a cookie on a keep-alive agent: the status, the body read and dropped. */
export function statusOf(agent: http.Agent, url: URL, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, headers: { cookie } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}
