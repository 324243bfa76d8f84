import { z } from "zod";
import { policyOverridesSchema } from "@/lib/ssf/policy";
import { ClientKeyError, validateClientPrivateJwk } from "./client-key";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

const httpUrl = z.url({ protocol: /^https?$/ }).transform((v) => v.replace(/\/+$/, ""));

/** A setting that holds JSON; what it must be is piped after. The error shows an example, never the value. */
const json = (example: string) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: `is not JSON (expected an object such as ${example})` });
      return z.NEVER;
    }
  });

const seconds = (fallback: number, max: number) => z.coerce.number().int().positive().max(max).default(fallback);

/**
 * Every setting Lockstep reads, in one place. `.env.example` documents each one.
 * Vercel's KV_* names are accepted for the Upstash ones and folded in by `readConfig`.
 */
export const configSchema = z
  .object({
    AUTH_SECRET: z.string().min(32, "must be at least 32 characters (openssl rand -base64 32)"),
    AUTH_URL: httpUrl,
    // Kept exactly as given: `iss` is compared to it character for character (a trailing "/" matters).
    OIDC_ISSUER: z.url({ protocol: /^https?$/ }),
    OIDC_CLIENT_ID: z.string().min(1),
    /** Required unless OIDC_CLIENT_AUTH_METHOD=private_key_jwt (see the rule below). */
    OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    /**
     * How this client authenticates at the IdP's token, introspection, revocation and PAR endpoints:
     * `client_secret_basic` (RFC 6749 §2.3.1, the default), `client_secret_post`, or `private_key_jwt`
     * (RFC 7523, OpenID Connect Core §9: a JWT signed with OIDC_CLIENT_PRIVATE_KEY).
     */
    OIDC_CLIENT_AUTH_METHOD: z.enum(["client_secret_basic", "client_secret_post", "private_key_jwt"]).default("client_secret_basic"),
    /**
     * With private_key_jwt: this client's private key, a JWK as JSON with `kid` and `alg` (its public
     * half registered at the IdP); asymmetric only. Its shape is checked below (./client-key.ts).
     */
    OIDC_CLIENT_PRIVATE_KEY: z.string().optional(),
    /**
     * Pushed Authorization Requests (RFC 9126): `auto` pushes the authorization request when the IdP's
     * metadata has a pushed_authorization_request_endpoint; `require` refuses to sign in without one
     * (and says so at start-up); `off` never pushes.
     */
    OIDC_PAR: z.enum(["auto", "require", "off"]).default("auto"),
    OIDC_SCOPES: z.string().default("openid profile email"),
    /** The alg the IdP signs ID tokens (and so logout tokens) with; any other is refused (BCL §2.6 step 3). */
    OIDC_ID_TOKEN_ALG: z
      .enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"])
      .default("RS256"),
    /**
     * RP-initiated logout: `omit` sends no id_token_hint (a GET with client_id; the IdP may ask the
     * user to confirm); `post` sends it in a form POST, for IdPs that accept POST at their
     * end_session_endpoint and still see their session cookie there (same site, or SameSite=None).
     */
    OIDC_END_SESSION_ID_TOKEN_HINT: z.enum(["omit", "post"]).default("omit"),
    /** When ID tokens are encrypted for this client: its private key (a JWK, JSON) and the registered algs. */
    OIDC_ID_TOKEN_DECRYPTION_KEY: z.string().optional(),
    OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ALG: z.string().optional(),
    OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ENC: z.string().default("A128CBC-HS256"),
    /** Registered as backchannel_logout_session_required: logout tokens without `sid` are refused (BCL §2.2). */
    BCL_SESSION_REQUIRED: bool.default(false),
    /** Registered as frontchannel_logout_session_required: front-channel requests without iss and sid are ignored (FCL §2). */
    FCL_SESSION_REQUIRED: bool.default(true),
    /** Clock leeway for logout tokens' iat and exp, in seconds. */
    BCL_CLOCK_LEEWAY_SECONDS: z.coerce.number().int().min(0).max(300).default(60),
    /** Logout tokens issued longer ago than this are refused, in seconds. */
    BCL_MAX_TOKEN_AGE_SECONDS: z.coerce.number().int().min(30).max(86_400).default(600),
    /**
     * Where the guard runs, fixed at build time (next.config.ts builds middleware.edge.ts or
     * proxy.node.ts, and writes the choice into the build): `edge` (the default; Vercel's edge
     * middleware, Redis over REST) or `nodejs` (Node servers; on REDIS_URL's native connection).
     */
    GUARD_RUNTIME: z.enum(["edge", "nodejs"]).default("edge"),
    /**
     * Upstash's REST protocol: Upstash, or the gateway. Required unless the guard runs in the Node
     * runtime and REDIS_URL is set (see the rule below): the edge guard cannot open a TCP
     * connection, so it reaches Redis only this way.
     */
    UPSTASH_REDIS_REST_URL: httpUrl.optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
    /**
     * A native Redis connection (redis:// or rediss://) for everything in the Node runtime: route
     * handlers, pages, Auth.js callbacks and, with GUARD_RUNTIME=nodejs, the guard (lib/store/native.ts).
     * Unset: they use UPSTASH_* too. With the edge guard, the same Redis and keys as its UPSTASH_*
     * (the gateway in front of this Redis, or Upstash's own redis(s):// endpoint).
     */
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" }).optional(),
    /**
     * Instead of REDIS_URL: a Redis Cluster, as some of its nodes' URLs, comma-separated (the client
     * learns the others from them). One scheme and one set of credentials for all; every command
     * Lockstep sends touches one hash slot (lib/store/keys.ts).
     */
    REDIS_CLUSTER_NODES: z
      .string()
      .transform((text) =>
        text
          .split(",")
          .map((u) => u.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.url({ protocol: /^rediss?$/, error: "must be redis:// or rediss:// URLs, comma-separated" })).min(1))
      .optional(),
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
    /**
     * Session Management 1.0 in open tabs: `auto` uses the IdP's check_session_iframe when its
     * discovery publishes one (SM §3.3); `off` never loads it (an IdP on another site, whose iframe
     * sees no cookie, or an app that should rely on other mechanisms).
     */
    SESSION_MANAGEMENT: z.enum(["auto", "off"]).default("auto"),
    /** How often a tab asks the IdP's check_session_iframe whether the IdP session changed (SM §3.1). */
    SESSION_CHECK_INTERVAL_MS: z.coerce.number().int().min(500).max(600_000).default(3_000),
    /** How often each server instance reads the ended-sessions feed for its open tabs. */
    LIVE_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(10_000).default(250),
    /** Accent colour of the UI (a CSS colour), so that two apps side by side are told apart. */
    APP_ACCENT: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "a #rrggbb colour")
      .default("#4338ca"),
    /**
     * Liveness (lib/liveness/): re-check each active session at the IdP every interval. `auto` turns it
     * on when the IdP pushes nothing (its discovery does not offer back-channel logout and SSF_ISSUER
     * is unset); `on` and `off` decide regardless.
     */
    LIVENESS: z.enum(["auto", "on", "off"]).default("auto"),
    /** How often an active session is re-checked at the IdP, in seconds. */
    LIVENESS_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(86_400).default(60),
    /** Which proof to ask the IdP for: `auto` (introspection, else refresh, else userinfo) or one of them. */
    LIVENESS_METHOD: z.enum(["auto", "introspection", "refresh", "userinfo"]).default("auto"),
    /** Shared Signals: the transmitter's issuer URL (everything else is discovered from it). Unset: SSF is off. */
    SSF_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
    /** How SETs arrive: pushed to /api/ssf/events (RFC 8935) or polled from the transmitter (RFC 8936). */
    SSF_DELIVERY: z.enum(["push", "poll"]).default("push"),
    /** The Authorization value the transmitter must send with each push; also given to it at stream creation. */
    SSF_PUSH_AUTHORIZATION: z.string().min(16, "must be at least 16 characters").optional(),
    /** Bearer token for the transmitter's stream management (and poll) endpoints. */
    SSF_MANAGEMENT_TOKEN: z.string().min(1).optional(),
    /** Per-event overrides of the SSF policy table, JSON: {"session-revoked":"end_sessions", ...}. */
    SSF_POLICY: json('{"session-revoked":"end_sessions"}').pipe(policyOverridesSchema).default({}),
    /** Signing algorithms accepted on SETs, comma-separated; asymmetric only (SSF §4.1.4: no none, no shared secrets). */
    SSF_ALGORITHMS: z
      .string()
      .transform((text) =>
        text
          .split(",")
          .map((a) => a.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"])).min(1))
      .default(["RS256"]),
    /** SETs issued longer ago than this are refused, in seconds (poll streams may hold SETs a while). */
    SSF_MAX_SET_AGE_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(86_400),
    /** IdP subjects (comma-separated) allowed on the admin page /admin/ssf. Unset: no admin page. */
    ADMIN_SUBS: z.string().optional(),
    /** Bearer secret for GET /api/ssf/poll (a scheduled job on Vercel sends it as Authorization). */
    CRON_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
    /**
     * The upstream base URL of each remote API declared in apis.ts, per deployment, as JSON:
     * {"statements":"https://api.example.com/statements"}. Overrides apis.ts's own `upstream`; an
     * API with neither is off. Checked at start-up (lib/api/registry.ts resolveApis).
     */
    REMOTE_API_URLS: json('{"statements":"https://api.example.com/"}').pipe(z.record(z.string(), z.string())).default({}),
    /**
     * The largest request body the remote-API proxy sends on (bytes): more is refused with 413. At most
     * 10 MiB − 1: Next buffers a request body for the guard (middleware or proxy) up to
     * `proxyClientMaxBodySize` (10 MiB) and passes on only that much, so a larger limit could forward a truncated body.
     */
    REMOTE_API_MAX_REQUEST_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .max(10 * 1024 * 1024 - 1)
      .default(8 * 1024 * 1024),
    /** The largest upstream answer body the proxy passes back (bytes): a larger declared one is a 502, a longer stream is cut. */
    REMOTE_API_MAX_RESPONSE_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .max(1024 * 1024 * 1024)
      .default(32 * 1024 * 1024),
    /** How long an upstream may take to connect and send its status and headers (ms): then 504. */
    REMOTE_API_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
    /** How long a whole upstream exchange may take, bodies included (ms): then 504, or the stream is cut. */
    REMOTE_API_TOTAL_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
    /**
     * OpenTelemetry (lib/telemetry/, docs/observability.md): the OTLP/HTTP collector that traces and
     * metrics go to. The general endpoint gets /v1/traces and /v1/metrics appended; a per-signal one
     * is used as it is and wins. None set: no SDK is loaded and nothing is recorded.
     */
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: httpUrl.optional(),
    /** The `service.name` of what is exported; default `lockstep-<APP_ID>`. */
    OTEL_SERVICE_NAME: z.string().min(1).max(100).optional(),
    /** How often metrics are exported (ms; OpenTelemetry's default, 60 s). */
    OTEL_METRIC_EXPORT_INTERVAL: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
    /** OpenTelemetry's own off switch: no SDK even with an endpoint set. */
    OTEL_SDK_DISABLED: bool.default(false),
    /** Serves /bench/{raw,bare,guard} for `npm run bench`. Off in real deployments. */
    BENCH_ROUTES: bool.default(false),
    /** Echoed by /api/health in X-Lockstep-Nonce; the demo and dev runners set a random one per process. */
    HEALTH_NONCE: z.string().max(128).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.REDIS_URL && c.REDIS_CLUSTER_NODES) {
      ctx.addIssue({ code: "custom", path: ["REDIS_CLUSTER_NODES"], message: "cannot be set with REDIS_URL: one Redis or one cluster" });
    }
    // (Refinements run even when a field failed its own rule: only URLs that parse are compared.)
    const nodes = Array.isArray(c.REDIS_CLUSTER_NODES) ? c.REDIS_CLUSTER_NODES.flatMap((u) => (URL.canParse(u) ? [new URL(u)] : [])) : [];
    if (nodes.length > 0) {
      // One client connects to every node with the same options: the nodes must agree on them.
      const shapes = new Set(nodes.map((url) => JSON.stringify([url.protocol, url.username, url.password])));
      if (shapes.size > 1) {
        ctx.addIssue({ code: "custom", path: ["REDIS_CLUSTER_NODES"], message: "must all have the same scheme and credentials" });
      }
      if (nodes.some((url) => !["", "/", "/0"].includes(url.pathname))) {
        ctx.addIssue({ code: "custom", path: ["REDIS_CLUSTER_NODES"], message: "cannot name a database: a cluster has only database 0" });
      }
    }
    // The edge guard needs the REST settings whether or not REDIS_URL is set: it runs in the edge
    // runtime, where only fetch reaches Redis. With the guard in the Node runtime, REDIS_URL (or
    // REDIS_CLUSTER_NODES) alone serves everything.
    const restNeeded = !(c.GUARD_RUNTIME === "nodejs" && (c.REDIS_URL || c.REDIS_CLUSTER_NODES));
    for (const key of ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"] as const) {
      if (!restNeeded || c[key] !== undefined) continue;
      ctx.addIssue({
        code: "custom",
        path: [key],
        message:
          c.REDIS_URL || c.REDIS_CLUSTER_NODES
            ? "is required even with REDIS_URL or REDIS_CLUSTER_NODES while the guard runs on the edge (GUARD_RUNTIME=edge): the edge guard (middleware.edge.ts) reaches Redis only over REST (Upstash, or the gateway in front of the same Redis); build with GUARD_RUNTIME=nodejs to need no REST settings"
            : "is required (Upstash, or the gateway; KV_REST_API_* are accepted too), or REDIS_URL or REDIS_CLUSTER_NODES with GUARD_RUNTIME=nodejs",
      });
    }
    if (c.SSF_ISSUER && !c.SSF_MANAGEMENT_TOKEN) {
      ctx.addIssue({
        code: "custom",
        path: ["SSF_MANAGEMENT_TOKEN"],
        message: "is required when SSF_ISSUER is set (stream management and polling use it)",
      });
    }
    if (c.OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ALG && !c.OIDC_ID_TOKEN_DECRYPTION_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["OIDC_ID_TOKEN_DECRYPTION_KEY"],
        message: "is required when OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ALG is set",
      });
    }
  })
  // The client's credentials are checked even when another setting is bad, so that one error names
  // every missing key (a missing secret is as much an error as a malformed URL).
  .superRefine(
    (c, ctx) => {
      if (c.OIDC_CLIENT_AUTH_METHOD === "private_key_jwt" && !c.OIDC_CLIENT_PRIVATE_KEY) {
        ctx.addIssue({
          code: "custom",
          path: ["OIDC_CLIENT_PRIVATE_KEY"],
          message: "is required when OIDC_CLIENT_AUTH_METHOD=private_key_jwt",
        });
      }
      // Checked whenever given, so that a key kept for a later switch to private_key_jwt is sound too.
      if (typeof c.OIDC_CLIENT_PRIVATE_KEY === "string") {
        try {
          validateClientPrivateJwk(c.OIDC_CLIENT_PRIVATE_KEY);
        } catch (error) {
          if (!(error instanceof ClientKeyError)) throw error;
          ctx.addIssue({ code: "custom", path: ["OIDC_CLIENT_PRIVATE_KEY"], message: error.message });
        }
      }
      if (c.OIDC_CLIENT_AUTH_METHOD !== "private_key_jwt" && !c.OIDC_CLIENT_SECRET) {
        ctx.addIssue({
          code: "custom",
          path: ["OIDC_CLIENT_SECRET"],
          message: "is required (or set OIDC_CLIENT_AUTH_METHOD=private_key_jwt)",
        });
      }
    },
    { when: () => true },
  );

/**
 * The validated configuration. The rule above guarantees the REST settings (UPSTASH_*) unless the
 * guard runs in the Node runtime on REDIS_URL; restSettings() (lib/store/upstash-client.ts) says so
 * plainly if a REST client is asked for without them.
 */
export type Config = z.infer<typeof configSchema>;
