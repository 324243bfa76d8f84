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

/** One structured line per security event. Callers pass codes and hashed identifiers, never a token. */
export function securityLog(entry: SecurityEvent): void {
  console.log(JSON.stringify({ at: new Date().toISOString(), kind: "security", ...entry }));
}
