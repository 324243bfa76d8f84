import { createHash } from "node:crypto";

/** A short, stable, non-reversible stand-in for an identifier (sid, sub, session id) in logs. */
export function hashId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return createHash("sha256").update(value).digest("base64url").slice(0, 16);
}

export type SecurityEvent = {
  event: string;
  outcome: "ok" | "rejected" | "error";
  code?: string;
  [field: string]: string | number | boolean | undefined;
};

/**
 * One structured line per security event on stdout. Callers pass codes and hashed identifiers, never
 * a token. Written to the stream itself, not through console.log, which Next wraps in route handlers
 * (console-dim, console-exit) at a cost a signal receiver, with a line or more per signal, can measure
 * (docs/benchmarks.md). Node runtime only (node:crypto above); on Linux a write to a pipe or a file
 * is synchronous, as console.log's is.
 */
export function securityLog(entry: SecurityEvent): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), kind: "security", ...entry })}\n`);
}
