import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, pipeLines, stopChild, waitForHealth } from "./processes";

/**
 * The app as the tests (and the demo's runners) build and start it: `next build` of one variant into
 * its own folder, and `next start` or `next dev` on a loopback port, ready once /api/health answers
 * with this run's nonce.
 */

/** The template's root: the Next.js app that `next build`, `next start` and `next dev` run. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Next.js's CLI from the template's own dependencies. */
const nextCli = path.join(root, "node_modules/next/dist/bin/next");

/** The two builds of the app (next.config.ts's GUARD_RUNTIME): the guard on the edge, or in the Node runtime. */
export type GuardRuntime = "edge" | "nodejs";

/** Each variant's build folder (LOCKSTEP_DIST_DIR), so that both builds can be kept and started side by side. */
export const distDirs: Record<GuardRuntime, string> = { edge: ".next", nodejs: "build/next-node" };

/** What `next build` and `next start` need to build or run one variant. */
export function variantEnv(runtime: GuardRuntime): Record<string, string> {
  return { GUARD_RUNTIME: runtime, LOCKSTEP_DIST_DIR: distDirs[runtime] };
}

export type NextProcess = { url: string; nonce: string; process: ChildProcess; stop(): Promise<void> };

/**
 * Runs `next start` (the last build) or `next dev` (hot reload) on 127.0.0.1:`port` with `env` on top of
 * this process's environment, and resolves once its /api/health answers with this run's nonce
 * (HEALTH_NONCE). `onStarted` sees the process as soon as it is spawned, so a caller can stop it while waiting.
 */
export async function startNext(options: {
  mode: "start" | "dev";
  port: number;
  env: Record<string, string>;
  source: string;
  log: (source: string, line: string) => void;
  timeoutMs?: number;
  onStarted?: (next: NextProcess) => void;
}): Promise<NextProcess> {
  const nonce = randomBytes(16).toString("base64url");
  const dev = options.mode === "dev";
  const child = spawn(process.execPath, [nextCli, options.mode, "-p", String(options.port), "-H", "127.0.0.1"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    // `next dev` forks the server: its own process group lets stop() reach both, and keeps Ctrl-C for the runner.
    detached: dev,
    env: {
      ...process.env,
      ...(dev ? { NODE_ENV: "development" } : { NODE_ENV: "production" }),
      NEXT_TELEMETRY_DISABLED: "1",
      ...options.env,
      HEALTH_NONCE: nonce,
    },
  });
  // The last lines it printed, for the error when it does not come up (the app logs no token or secret).
  const tail: string[] = [];
  pipeLines(child, options.source, (source, line) => {
    tail.push(line);
    if (tail.length > 15) tail.shift();
    options.log(source, line);
  });
  const url = `http://localhost:${options.port}`;
  const next: NextProcess = { url, nonce, process: child, stop: () => stopChild(child, dev) };
  options.onStarted?.(next);
  try {
    await waitForHealth(`${url}/api/health`, child, options.timeoutMs ?? 60_000, nonce);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}; its last lines:\n${tail.join("\n") || "(none)"}`, { cause: error });
  }
  return next;
}

/**
 * `next build` of one variant (the edge one unless told), for the test tiers, the demo and the
 * benchmarks. `bench`: with the benchmarks' baseline routes (next.config.ts, LOCKSTEP_BENCH_BUILD),
 * which no other build has.
 */
export function buildApp(
  log: (line: string) => void = () => {},
  runtime: GuardRuntime = "edge",
  options: { bench?: boolean } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nextCli, "build"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...variantEnv(runtime), LOCKSTEP_BENCH_BUILD: options.bench ? "1" : "" },
    });
    const output: string[] = [];
    pipeLines(child, "build", (_s, line) => {
      output.push(line);
      log(line);
    });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`next build failed (exit ${code}):\n${output.slice(-40).join("\n")}`)),
    );
  });
}

/** A `next start` spawned with a clean environment: its process, every line it printed, and its exit. */
export type CleanRun = { child: ChildProcess; output: string[]; exited: Promise<number | null>; port: number; url: string };

/**
 * `next start` of one variant's last build on a free loopback port, with exactly `settings` in its
 * environment (besides PATH, HOME and the variant's): what a deployment that set only those would run.
 * `settings` may use the port (e.g. for AUTH_URL). Not waited for: a test may expect it to exit.
 */
export async function startClean(
  runtime: GuardRuntime,
  settings: (port: number) => Record<string, string>,
  source = "app",
): Promise<CleanRun> {
  const port = await freePort();
  const child = spawn(process.execPath, [nextCli, "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      ...variantEnv(runtime),
      ...settings(port),
    },
  });
  const output: string[] = [];
  pipeLines(child, source, (_source, line) => {
    output.push(line);
    if (process.env.LOCKSTEP_TEST_LOGS === "1") console.log(`[${source}] ${line}`);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output, exited, port, url: `http://localhost:${port}` };
}
