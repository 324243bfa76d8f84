import * as crypto from "node:crypto";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * What `npm run demo` and `npm run dev` check before they build or start anything: the ports, and
 * whether this Node.js can run the demo IdP. Light on purpose (no oidc-provider, no Next.js), so that
 * a busy port is reported within a second.
 */

/** The template's root: the Next.js app that `next build`, `next start` and `next dev` run. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A port a runner is about to listen on, what for, and the setting that moves it. */
export type PortClaim = { port: number; what: string; variable: string };

/** Whether something already listens on `port` at `host` (false when that address family is missing here). */
function listening(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE" || error.code === "EACCES"));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/**
 * The claimed ports that are taken, on 127.0.0.1 or ::1 (browsers and fetch try both for "localhost").
 * Also the claims that name the same port twice. Quick: no connection is made.
 */
export async function busyPorts(claims: PortClaim[]): Promise<{ claim: PortClaim; reason: string }[]> {
  const busy: { claim: PortClaim; reason: string }[] = [];
  const seen = new Map<number, PortClaim>();
  for (const claim of claims) {
    const earlier = seen.get(claim.port);
    if (earlier) {
      busy.push({ claim, reason: `is also given to ${earlier.what} (${earlier.variable})` });
      continue;
    }
    seen.set(claim.port, claim);
    if ((await listening(claim.port, "127.0.0.1")) || (await listening(claim.port, "::1"))) busy.push({ claim, reason: "is in use" });
  }
  return busy;
}

/** One line per busy port, e.g. "Port 8079 (the Redis gateway) is in use: stop what is using it, or set DEMO_GATEWAY_PORT to a free port." */
export function describeBusy(busy: { claim: PortClaim; reason: string }[]): string[] {
  return busy.map(
    ({ claim, reason }) =>
      `Port ${claim.port} (${claim.what}) ${reason}: ${reason === "is in use" ? "stop what is using it, or " : ""}set ${claim.variable} to a free port.`,
  );
}

/**
 * oidc-provider 9 warns "Unsupported runtime" at import unless `process.release.lts` is Jod (Node 22)
 * or later (node_modules/oidc-provider/lib/index.js). It is only a warning: the demo IdP and its tests
 * run on Node 20 from 20.18, which has the two newer APIs it calls (URL.parse, crypto.hash).
 * Answers the error that stops the demo, or the one line that explains the warning, or nothing.
 */
export function nodeCheck(): { error: string } | { notice: string } | undefined {
  if (typeof URL.parse !== "function" || typeof (crypto as { hash?: unknown }).hash !== "function") {
    return {
      error: `The demo IdP (oidc-provider 9) needs Node.js 20.18 or later (22 recommended, see .nvmrc); this is ${process.version}.`,
    };
  }
  const lts = process.release.lts;
  if (lts && lts.charCodeAt(0) >= "J".charCodeAt(0)) return undefined;
  return {
    notice:
      `Node.js ${process.version}: the demo IdP's oidc-provider prints "Unsupported runtime" below because it supports ` +
      "Node 22 LTS and later; the demo works on 20.18+. Use Node 22 (nvm use, see .nvmrc) to drop the warning.",
  };
}

/** Whether something accepts a TCP connection at a redis:// URL's host and port within a second (the benchmarks' "is there a real Redis?"). */
export function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(1000, () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(false));
    socket.once("connect", () => (socket.destroy(), resolve(true)));
  });
}
