import type { JWTVerifyGetKey } from "jose";
import { remoteKeySet } from "@/lib/oidc/remote-keys";
import { z } from "zod";

/** SSF §7.1: the fields of a transmitter's configuration that the receiver uses. */
export const transmitterConfigSchema = z.looseObject({
  spec_version: z.string().optional(),
  issuer: z.string(),
  jwks_uri: z.string().optional(),
  delivery_methods_supported: z.array(z.string()).optional(),
  configuration_endpoint: z.string().optional(),
  status_endpoint: z.string().optional(),
  add_subject_endpoint: z.string().optional(),
  remove_subject_endpoint: z.string().optional(),
  verification_endpoint: z.string().optional(),
  critical_subject_members: z.array(z.string()).optional(),
  default_subjects: z.string().optional(),
});

export type TransmitterConfig = z.infer<typeof transmitterConfigSchema>;

export class TransmitterError extends Error {
  constructor(
    readonly code: "discovery_failed" | "issuer_mismatch" | "management_failed" | "iss_mismatch" | "not_supported",
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "TransmitterError";
  }
}

/**
 * SSF §7.2: `/.well-known/ssf-configuration` goes between the host and the issuer's path, after
 * dropping a trailing "/": https://tr.example.com/issuer1 → https://tr.example.com/.well-known/ssf-configuration/issuer1.
 */
export function configurationUrl(issuer: string): URL {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = `/.well-known/ssf-configuration${path}`;
  url.search = "";
  url.hash = "";
  return url;
}

/** Fetches and checks the transmitter's configuration. SSF §7.2.4: its `issuer` must be the one we asked for, exactly. */
export async function discoverTransmitter(issuer: string, fetcher: typeof fetch = fetch): Promise<TransmitterConfig> {
  let response: Response;
  try {
    response = await fetcher(configurationUrl(issuer), { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    throw new TransmitterError("discovery_failed", `The transmitter's configuration could not be fetched: ${(error as Error).message}`);
  }
  if (!response.ok)
    throw new TransmitterError("discovery_failed", `The transmitter's configuration answered HTTP ${response.status}.`, response.status);
  const parsed = transmitterConfigSchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new TransmitterError("discovery_failed", "The transmitter's configuration is not a valid SSF configuration.");
  if (parsed.data.issuer !== issuer) {
    throw new TransmitterError(
      "issuer_mismatch",
      "The transmitter's configuration names another issuer than the one it was fetched for (SSF §7.2.4).",
    );
  }
  return parsed.data;
}

let cached: { issuer: string; config: Promise<TransmitterConfig> } | undefined;

/** This process's view of the transmitter (cached; a failed discovery is tried again next time). */
export function getTransmitter(issuer: string): Promise<TransmitterConfig> {
  if (cached?.issuer !== issuer) {
    const config = discoverTransmitter(issuer);
    cached = { issuer, config };
    config.catch(() => {
      if (cached?.config === config) cached = undefined;
    });
  }
  return cached.config;
}

/** The transmitter's signing keys from its jwks_uri (SSF §4.1.4; see remoteKeySet for the caching). */
export function transmitterKeys(issuer: string): JWTVerifyGetKey {
  return async (header, token) => {
    const { jwks_uri } = await getTransmitter(issuer);
    if (!jwks_uri) throw new TypeError("The transmitter publishes no jwks_uri.");
    return remoteKeySet(jwks_uri)(header, token);
  };
}
