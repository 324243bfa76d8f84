import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./processes";
import { pong } from "./own-redis";

/**
 * A private Redis Cluster of three masters (no replicas) on free loopback ports, for the tests that
 * run Lockstep's native store on a cluster (the store-cluster project; the integration tier can use
 * it the same way). Never the shared Redis at 127.0.0.1:6379. Each node is a `redis-server` in
 * cluster mode with nothing persisted, in a temporary directory; the 16384 slots are split in three
 * ranges (CLUSTER ADDSLOTSRANGE), the nodes are introduced (CLUSTER MEET), and `startRedisCluster`
 * resolves once every node answers `cluster_state:ok` with the whole slot map. Each process is
 * stopped by its own PID.
 *
 * Use: `const cluster = await startRedisCluster();` … `REDIS_CLUSTER_NODES=cluster.nodes.join(",")` …
 * `await cluster.stop();`, or as a project's globalSetup: tests/support/redis-cluster-setup.ts.
 */
export type RedisCluster = {
  /** The masters' URLs (redis://127.0.0.1:<port>), as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  ports: number[];
  pids: number[];
  /** Stops every node (SIGTERM, SIGKILL after 5 s) and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
};

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "redis-server";
const SLOTS = 16_384;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  child.kill("SIGTERM");
  await exited(child);
  clearTimeout(timer);
}

/** Polls `check` every 50 ms until it is true, at most `timeoutMs`. */
async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`The test cluster: ${what} within ${timeoutMs} ms.`);
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "lockstep-redis-cluster-"));
  const children: ChildProcess[] = [];
  const outputs: string[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopNode));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const ports: number[] = [];
    const busPorts: number[] = [];
    // A port and a cluster bus port per node, all distinct (the bus is set explicitly: port + 10000,
    // Redis's default, may be above 65535 for an ephemeral port).
    while (ports.length < masters) {
      const [port, bus] = [await freePort(), await freePort()];
      if (port === bus || ports.includes(port) || ports.includes(bus) || busPorts.includes(port) || busPorts.includes(bus)) continue;
      ports.push(port);
      busPorts.push(bus);
    }
    ports.forEach((port, i) => {
      const child = spawn(
        REDIS_SERVER,
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(busPorts[i]),
          "--cluster-config-file",
          path.join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "5000",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
          "--daemonize",
          "no",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      outputs[i] = "";
      const keep = (d: Buffer) => (outputs[i] = (outputs[i] + d.toString()).slice(-4000));
      child.stdout?.on("data", keep);
      child.stderr?.on("data", keep);
      children.push(child);
    });
    await until("every node answers PING", 15_000, async () => {
      const dead = children.findIndex((c) => c.exitCode !== null);
      if (dead >= 0) throw new Error(`redis-server on port ${ports[dead]} exited:\n${outputs[dead]}`);
      return (await Promise.all(ports.map((p) => pong(p)))).every(Boolean);
    });

    const admins = ports.map((port) => new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1 }));
    try {
      for (const [i, admin] of admins.entries()) {
        const first = Math.floor((SLOTS * i) / masters);
        const last = Math.floor((SLOTS * (i + 1)) / masters) - 1;
        await admin.call("CLUSTER", "ADDSLOTSRANGE", String(first), String(last));
      }
      const [introducer] = admins;
      for (const [i, port] of ports.entries()) {
        if (i > 0) await introducer!.call("CLUSTER", "MEET", "127.0.0.1", String(port), String(busPorts[i]));
      }
      await until("every node sees the whole slot map and cluster_state:ok", 30_000, async () => {
        const infos = await Promise.all(admins.map((a) => a.call("CLUSTER", "INFO") as Promise<string>));
        return infos.every(
          (info) =>
            info.includes("cluster_state:ok") &&
            info.includes(`cluster_slots_assigned:${SLOTS}`) &&
            info.includes(`cluster_known_nodes:${masters}`),
        );
      });
    } finally {
      admins.forEach((a) => a.disconnect());
    }
    return { nodes: ports.map((p) => `redis://127.0.0.1:${p}`), ports, pids: children.map((c) => c.pid!), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
