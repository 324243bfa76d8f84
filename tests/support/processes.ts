import type { ChildProcess } from "node:child_process";
import net from "node:net";

/**
 * Child processes and ports for the test tiers and the demo's runners: a free loopback port, waiting
 * for a server's health answer, its output line by line, and stopping it by its PID.
 */

/** A port nothing listens on at 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The header /api/health echoes HEALTH_NONCE in: how a runner tells its own app from whatever else answers on the port. */
export const NONCE_HEADER = "x-lockstep-nonce";

/**
 * Waits until `url` answers 200 and, when `nonce` is given, echoes it in X-Lockstep-Nonce: an answer
 * from another server on the same port does not count. Fails at once when the process exits.
 */
export async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number, nonce?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let impostor = false;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${url}: the process exited (${child.exitCode ?? child.signalCode}) before it answered`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok && (nonce === undefined || response.headers.get(NONCE_HEADER) === nonce)) return;
      if (response.ok) impostor = true;
    } catch {
      // not up yet
    }
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
