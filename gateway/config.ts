import { z } from "zod";
import { DEFAULT_KEY_PREFIX, DEFAULT_MAX_COMMANDS, KEY_PREFIX_PATTERN, MIN_MAX_COMMANDS } from "./command-policy";

const PORT = "must be a port number from 0 to 65535";
const MAX_COMMANDS = `must be a whole number from ${MIN_MAX_COMMANDS} (what @upstash/redis batches into one request) to 1000000`;
const KEY_PREFIX = "must be 1 to 64 letters, digits and : _ . - (the apps' LOCKSTEP_KEY_PREFIX)";

function isRedisUrl(value: string): boolean {
  try {
    return ["redis:", "rediss:"].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/**
 * The gateway's settings. Every message is written out here, so that none can repeat a value:
 * the token is a secret, and a REDIS_URL may carry a password.
 */
export const gatewayConfigSchema = z.object({
  GATEWAY_PORT: z.coerce.number({ error: PORT }).int({ error: PORT }).min(0, { error: PORT }).max(65_535, { error: PORT }).default(8079),
  GATEWAY_HOST: z.string({ error: "must be a host name or address" }).default("127.0.0.1"),
  UPSTASH_REDIS_REST_TOKEN: z.string({ error: "is required" }).min(16, { error: "must be at least 16 characters" }),
  GATEWAY_KEY_PREFIX: z.string({ error: KEY_PREFIX }).regex(KEY_PREFIX_PATTERN, { error: KEY_PREFIX }).default(DEFAULT_KEY_PREFIX),
  GATEWAY_MAX_COMMANDS: z.coerce
    .number({ error: MAX_COMMANDS })
    .int({ error: MAX_COMMANDS })
    .min(MIN_MAX_COMMANDS, { error: MAX_COMMANDS })
    .max(1_000_000, { error: MAX_COMMANDS })
    .default(DEFAULT_MAX_COMMANDS),
  REDIS_URL: z
    .string({ error: "must be a redis:// or rediss:// URL" })
    .refine(isRedisUrl, { error: "must be a redis:// or rediss:// URL" })
    .optional(),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; problems: string[] };

/** Reads the settings from the environment; an empty variable counts as unset. */
export function readGatewayConfig(env: Record<string, string | undefined>): ConfigResult {
  const input = Object.fromEntries(Object.keys(gatewayConfigSchema.shape).map((key) => [key, env[key] === "" ? undefined : env[key]]));
  const parsed = gatewayConfigSchema.safeParse(input);
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => `${String(issue.path[0] ?? "settings")} ${issue.message}`),
  };
}
