import type { Config } from "@/lib/config";
import type { ActiveSession } from "@/lib/session/current";

/** ADMIN_SUBS names the IdP subjects (at OIDC_ISSUER) who may manage the stream. Unset: nobody. */
export function isAdmin(config: Pick<Config, "ADMIN_SUBS" | "OIDC_ISSUER">, session: ActiveSession): boolean {
  const subs = (config.ADMIN_SUBS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return session.record.iss === config.OIDC_ISSUER && subs.includes(session.record.sub);
}

export const adminActions = ["register", "verify", "status", "enable", "pause", "disable"] as const;
export type AdminAction = (typeof adminActions)[number];
