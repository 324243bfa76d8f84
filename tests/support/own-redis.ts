import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./processes";

/**
 * A redis-server of the outage tier's own, on a free loopback port: the tests crash it, restart it and
 * pause it, so it must never be the shared one at 127.0.0.1:6379. It keeps an append-only file with
 * `appendfsync always` in a temporary directory, so that every write Redis acknowledged survives a
 * crash (SIGKILL) and a restart on the same port. Every process is signalled by its own PID.
 */
export type OwnRedis = {
  url: string;
  port: number;
  /** The running server's PID (a new one after each restart). */
  pid(): number;
  /** SIGKILL, as a crash or an OOM kill would: no shutdown, no last save. Resolves once it has exited. */
  crash(): Promise<void>;
  /** Starts a new redis-server on the same port and directory (it reloads the append-only file); resolves when it answers PING. */
  restart(): Promise<void>;
  /** SIGSTOP: the process keeps its port and connections but answers nothing (an unreachable or hung Redis). */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): void;
  /** Stops it for good (SIGCONT first if paused, then SIGTERM, SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
};

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "redis-server";

/** Whether a Redis at this port answers PING with PONG (not LOADING, not silence). */
export function pong(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** The process state letter from /proc/<pid>/stat ("T" once SIGSTOP took effect). */
async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), "lockstep-outage-redis-"));
  let child: ChildProcess;
  let paused = false;
  let output = "";

  const launch = async () => {
    child = spawn(
      REDIS_SERVER,
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        dir,
        "--daemonize",
        "no",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    output = "";
    child.stdout?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const spawned = child;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (spawned.exitCode !== null) throw new Error(`redis-server on port ${port} exited with code ${spawned.exitCode}:\n${output}`);
      if (await pong(port)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`redis-server on port ${port} did not answer PING within 15 s:\n${output}`);
  };

  await launch();

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => child.pid!,
    async crash() {
      const running = child;
      running.kill("SIGKILL");
      await exited(running);
    },
    restart: launch,
    async pause() {
      const pid = child.pid!;
      child.kill("SIGSTOP");
      paused = true;
      for (let i = 0; i < 100 && (await processState(pid)) !== "T"; i++) await new Promise((r) => setTimeout(r, 5));
    },
    resume() {
      if (paused) child.kill("SIGCONT");
      paused = false;
    },
    async stop() {
      const running = child;
      if (paused) running.kill("SIGCONT");
      paused = false;
      if (running.exitCode === null && running.signalCode === null) {
        const timer = setTimeout(() => running.kill("SIGKILL"), 5_000);
        running.kill("SIGTERM");
        await exited(running);
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
