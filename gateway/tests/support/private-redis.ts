/**
 * A redis-server of a test's own on a free loopback port (never the shared one at 6379), so that
 * a test may stop and restart it. Stopped by its own PID only.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { freePort } from "../../../tests/support/processes";

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "redis-server";

/** True when the redis-server binary runs here. */
export function haveRedisServer(): boolean {
  return spawnSync(REDIS_SERVER, ["--version"], { stdio: "ignore" }).status === 0;
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Starts the server (again) on the same port and resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops it (SIGTERM to its PID) and resolves once it has exited. */
  stop(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const answers = async (): Promise<boolean> => {
    const probe = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };

  return {
    url,
    port,
    async start() {
      if (child) throw new Error("the private redis-server is already running");
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
      child = spawn(REDIS_SERVER, args, { stdio: "ignore" });
      const started = child;
      started.once("exit", () => {
        if (child === started) child = undefined;
      });
      const deadline = Date.now() + 10_000;
      while (!(await answers())) {
        if (Date.now() > deadline || child !== started) throw new Error(`redis-server did not start on port ${port}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
      running.kill("SIGTERM");
      await exited;
      child = undefined;
    },
  };
}
