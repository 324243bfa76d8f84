import { configSchema, type Config } from "./schema";

export type { Config } from "./schema";

export class ConfigError extends Error {
  readonly code = "invalid_config";
  constructor(
    readonly keys: string[],
    details: string[],
  ) {
    super(`Lockstep configuration is invalid:\n${details.map((d) => `  - ${d}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

/**
 * Validates the environment once. Errors name the bad keys and the rule they break, never a value.
 */
export function parseConfig(env: Env): Config {
  const input: Env = { ...env };
  input.UPSTASH_REDIS_REST_URL ??= env.KV_REST_API_URL;
  input.UPSTASH_REDIS_REST_TOKEN ??= env.KV_REST_API_TOKEN;
  for (const key of Object.keys(input)) if (input[key] === "") input[key] = undefined;

  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const keys = [...new Set(result.error.issues.map((i) => String(i.path[0] ?? "?")))];
  const details = result.error.issues.map((i) => {
    const key = String(i.path[0] ?? "?");
    const message = i.code === "invalid_type" && input[key] === undefined ? "is required" : i.message;
    return `${key}: ${message}`;
  });
  throw new ConfigError(keys, details);
}

let cached: Config | undefined;

/** The process's configuration, read from the environment on first use. The only reader of `process.env`. */
export function getConfig(): Config {
  // GUARD_RUNTIME is the build's (next.config.ts inlines it): the runtime's environment cannot contradict the guard that was built.
  cached ??= parseConfig({ ...process.env, GUARD_RUNTIME: process.env.GUARD_RUNTIME });
  return cached;
}
