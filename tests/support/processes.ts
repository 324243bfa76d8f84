import type { ChildProcess } from "node:child_process";
import net from "node:net";

/**
 * Child processes and ports for the test tiers and the demo's runners: a free loopback port, waiting
 * for a server's health answer, its output line by line, and stopping it by its PID.
 */

/**
 * Ports for test servers come from below the OS's ephemeral range (32768 and up on Linux, 49152 and up
 * on macOS and Windows), where the outgoing connections of tests running in parallel take their local
 * ports: a port picked there and released could be taken by one before the server binds it.
 */
const PORT_RANGE = { from: 20_000, to: 32_000 };
/** Ports this process has handed out: never handed out twice. */
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port nothing listens on right now, outside the ephemeral range and not handed out before
 * by this process. Picked at random, so that test workers in other processes rarely try the same one.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port between ${PORT_RANGE.from} and ${PORT_RANGE.to}`);
}

/** The header /api/health echoes HEALTH_NONCE in: how a runner tells its own app from whatever else answers on the port. */
export const NONCE_HEADER = "x-lockstep-nonce";

/**
 * `promise`'s value, or `fallback()`'s if it has not settled within `ms` (the timer is cleared either
 * way). A fallback that throws rejects the result: a deadline that is an error. `promise` itself is
 * not stopped.
 */
export function bounded<T>(promise: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(fallback());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * One GET of `url` whose whole answer, body included, comes within `ms`; undefined when it does not
 * (refused, failed or late). The deadline is raced, not left to the request's abort signal alone:
 * Node's fetch can leave a body read pending for ever when its signal aborts after the headers came,
 * which is when a server still warming up under load answers.
 */
export function probe(url: string, ms: number): Promise<{ ok: boolean; status: number; headers: Headers } | undefined> {
  const controller = new AbortController();
  const answer = (async () => {
    const response = await fetch(url, { signal: controller.signal });
    // Read to the end, so that the connection is idle and a server that stops need not wait for it.
    await response.arrayBuffer();
    return { ok: response.ok, status: response.status, headers: response.headers };
  })().catch(() => undefined);
  return bounded(answer, ms, () => {
    controller.abort();
    return undefined;
  });
}

/**
 * Waits until `url` answers 200 and, when `nonce` is given, echoes it in X-Lockstep-Nonce: an answer
 * from another server on the same port does not count. Fails at once when the process exits, and
 * after `timeoutMs` whatever the server does.
 */
export async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number, nonce?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let impostor = false;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${url}: the process exited (${child.exitCode ?? child.signalCode}) before it answered`);
    }
    const response = await probe(url, 1000);
    if (response?.ok && (nonce === undefined || response.headers.get(NONCE_HEADER) === nonce)) return;
    if (response?.ok) impostor = true;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(
    impostor
      ? `${url} answered, but not from the process this run started (another server on that port?)`
      : `${url} did not answer within ${timeoutMs} ms`,
  );
}

/** Hands each non-empty line the child prints (stdout and stderr) to `log`, tagged with `source`. */
export function pipeLines(child: ChildProcess, source: string, log: (source: string, line: string) => void) {
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = "";
    stream?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) log(source, line);
    });
  }
}

/**
 * Stops a child by its PID: SIGTERM, then SIGKILL after 5 s. A child started with `detached` leads its
 * own process group (`next dev` forks its server), so the whole group gets the signal.
 */
export function stopChild(child: ChildProcess, group = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  const signal = (name: NodeJS.Signals) => {
    try {
      if (group) process.kill(-pid, name);
      else child.kill(name);
    } catch {
      // already gone
    }
  };
  return new Promise((resolve) => {
    const timer = setTimeout(() => signal("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    signal("SIGTERM");
  });
}
