import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0"])
  .transform((v) => v === "true" || v === "1");

const httpUrl = z.url({ protocol: /^https?$/ }).transform((v) => v.replace(/\/+$/, ""));

const seconds = (fallback: number, max: number) => z.coerce.number().int().positive().max(max).default(fallback);

/**
 * Every setting Lockstep reads, in one place. `.env.example` documents each one.
 * Vercel's KV_* names are accepted for the Upstash ones and folded in by `readConfig`.
 */
export const configSchema = z.object({
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters (openssl rand -base64 32)"),
  AUTH_URL: httpUrl,
  // Kept exactly as given: `iss` is compared to it character for character (a trailing "/" matters).
  OIDC_ISSUER: z.url({ protocol: /^https?$/ }),
  OIDC_CLIENT_ID: z.string().min(1),
  OIDC_CLIENT_SECRET: z.string().min(1),
  OIDC_SCOPES: z.string().default("openid profile email"),
  UPSTASH_REDIS_REST_URL: httpUrl,
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  LOCKSTEP_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, "letters, digits and : _ . - only")
    .default("ls:"),
  SESSION_TTL_SECONDS: seconds(8 * 3600, 30 * 24 * 3600),
  REFRESH_SKEW_SECONDS: seconds(60, 3600),
  GUARD_REDIS_TIMEOUT_MS: z.coerce.number().int().min(20).max(10_000).default(500),
  GUARD_FAIL_OPEN: bool.default(false),
  APP_ID: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/, "lowercase letters, digits and - only")
    .default("lockstep"),
  APP_NAME: z.string().min(1).max(60).default("Lockstep"),
  /** Serves /bench/{raw,bare,guard} for `npm run bench`. Off in real deployments. */
  BENCH_ROUTES: bool.default(false),
});

export type Config = z.infer<typeof configSchema>;
