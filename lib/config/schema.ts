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
 * Every setting Lockstep reads, in one place. Each one's `.meta({...})` describes it once: group,
 * meaning and, where the schema cannot say them, default and values; `npm run docs:settings` writes
 * docs/configuration.md's tables from it (scripts/settings-docs.ts). `.env.example` lists each one.
 * Vercel's KV_* names are accepted for the Upstash ones and folded in by `readConfig`.
 */
export const configSchema = z
  .object({
    AUTH_SECRET: z
      .string()
      .min(32, "must be at least 32 characters (openssl rand -base64 32)")
      .meta({ group: "app", description: "32+ random characters; encrypts the session cookie.", allowed: "32+ characters" }),
    AUTH_URL: httpUrl.meta({ group: "app", description: "The app's public base URL.", allowed: "an `http(s)` URL" }),
    // Kept exactly as given: `iss` is compared to it character for character (a trailing "/" matters).
    OIDC_ISSUER: z
      .url({ protocol: /^https?$/ })
      .meta({ group: "idp", description: "The IdP's issuer, exactly (a trailing slash matters).", allowed: "an `http(s)` URL" }),
    OIDC_CLIENT_ID: z.string().min(1).meta({ group: "idp", description: "This app's client id at the IdP." }),
    /** Required unless OIDC_CLIENT_AUTH_METHOD=private_key_jwt (see the rule below). */
    OIDC_CLIENT_SECRET: z.string().min(1).optional().meta({
      group: "idp",
      description: "This app's client secret at the IdP.",
      defaultShown: "required, unless `OIDC_CLIENT_AUTH_METHOD=private_key_jwt`",
    }),
    /**
     * How this client authenticates at the IdP's token, introspection, revocation and PAR endpoints:
     * `client_secret_basic` (RFC 6749 §2.3.1, the default), `client_secret_post`, or `private_key_jwt`
     * (RFC 7523, OpenID Connect Core §9: a JWT signed with OIDC_CLIENT_PRIVATE_KEY).
     */
    OIDC_CLIENT_AUTH_METHOD: z.enum(["client_secret_basic", "client_secret_post", "private_key_jwt"]).default("client_secret_basic").meta({
      group: "idp",
      description:
        "How the client authenticates wherever the IdP asks: at the token endpoint (Auth.js's code exchange and Lockstep's refresh), and at the introspection, revocation and PAR endpoints. The values are `client_secret_basic` (RFC 6749 §2.3.1), `client_secret_post` (the same secret, sent in the body) and `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9). With `private_key_jwt`, each request carries a new signed assertion: `iss` = `sub` = the client id, a fresh `jti`, and `exp` 60 s ahead. Lockstep's own assertions have `aud` = the issuer. Auth.js's code exchange sends `aud` = [issuer, token endpoint]. Most IdPs accept that; an IdP that wants the issuer alone (FAPI 2.0) does not. Register the same method at the IdP.",
    }),
    /**
     * With private_key_jwt: this client's private key, a JWK as JSON with `kid` and `alg` (its public
     * half registered at the IdP); asymmetric only. Its shape is checked below (./client-key.ts).
     */
    OIDC_CLIENT_PRIVATE_KEY: z.string().optional().meta({
      group: "idp",
      description:
        "This client's private key as a JWK (JSON). It must be asymmetric (`kty` `RSA`, `EC` or `OKP`) and private (with `d`, and the CRT members for RSA). It needs a `kid`, which tells the IdP which registered key to use. It needs an `alg` that signs and fits the key: `RS256`–`RS512`, `PS256`–`PS512`, `ES256` (P-256), `ES384` (P-384), `ES512` (P-521) or `Ed25519`. An Ed25519 key is named `Ed25519`, not `EdDSA`, because that is what its assertions say (RFC 9864). If present, `use` must be `sig`. The app checks the key at start-up, even when another method is chosen, and stops with an error that names the setting and never prints the key. It is imported once per process, non-extractable. If WebCrypto refuses it (a point off its curve), Lockstep logs `oidc.client_key` with `client_key_unusable` and sends no request that needs the key. Register only the public half at the IdP (`jwks`).",
      defaultShown: "unset; required with `private_key_jwt`",
      allowed: "a private JWK, as JSON",
    }),
    /**
     * Pushed Authorization Requests (RFC 9126): `auto` pushes the authorization request when the IdP's
     * metadata has a pushed_authorization_request_endpoint; `require` refuses to sign in without one
     * (and says so at start-up); `off` never pushes.
     */
    OIDC_PAR: z.enum(["auto", "require", "off"]).default("auto").meta({
      group: "idp",
      description:
        "Pushed Authorization Requests (RFC 9126). With PAR, the sign-in's and the silent re-check's requests (state, nonce, PKCE challenge, redirect URI, scopes, resource indicators) go to the IdP on the back channel, authenticated as this client. The browser then carries only `client_id` and `request_uri`. `auto` pushes when the IdP's discovery document has a `pushed_authorization_request_endpoint`. `require` always pushes, and refuses to sign in when the IdP has no such endpoint (the sign-in error page, code `par_unsupported`). `off` never pushes. The start-up line `oidc.client` says which applies (see below). A push that fails sends the browser to the sign-in error page, with code `par_refused` (the IdP answered with an error) or `par_failed` (no usable answer), and logs `oidc.par` with the same code.",
    }),
    OIDC_SCOPES: z.string().default("openid profile email").meta({ group: "idp", description: "Scopes asked for at sign-in." }),
    /** The alg the IdP signs ID tokens (and so logout tokens) with; any other is refused (BCL §2.6 step 3). */
    OIDC_ID_TOKEN_ALG: z
      .enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"])
      .default("RS256")
      .meta({ group: "idp", description: "The only alg accepted on logout tokens (as registered for ID tokens)." }),
    /**
     * RP-initiated logout: `omit` sends no id_token_hint (a GET with client_id; the IdP may ask the
     * user to confirm); `post` sends it in a form POST, for IdPs that accept POST at their
     * end_session_endpoint and still see their session cookie there (same site, or SameSite=None).
     */
    OIDC_END_SESSION_ID_TOKEN_HINT: z.enum(["omit", "post"]).default("omit").meta({
      group: "idp",
      description:
        "RP-initiated logout: `omit` sends no `id_token_hint` (a GET with `client_id`; the IdP may ask the user to confirm); `post` sends it in a form POST, for IdPs that accept POST at `end_session_endpoint` and still see their session cookie there (same site, or `SameSite=None`).",
    }),
    /** When ID tokens are encrypted for this client: its private key (a JWK, JSON) and the registered algs. */
    OIDC_ID_TOKEN_DECRYPTION_KEY: z.string().optional().meta({
      group: "idp",
      description: "With `OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ALG`: this client's private key (a JWK as JSON) that decrypts logout tokens.",
      defaultShown: "unset; required with `OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ALG`",
      allowed: "a private JWK, as JSON",
    }),
    OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ALG: z.string().optional().meta({
      group: "idp",
      description:
        "When ID token encryption is registered for this client: its `id_token_encrypted_response_alg`. Logout tokens must then be encrypted. (Auth.js does not decrypt encrypted ID tokens at sign-in; this covers logout tokens.)",
    }),
    OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ENC: z.string().default("A128CBC-HS256").meta({
      group: "idp",
      description: "With `OIDC_ID_TOKEN_ENCRYPTED_RESPONSE_ALG`: the registered `id_token_encrypted_response_enc`.",
    }),
    /** Registered as backchannel_logout_session_required: logout tokens without `sid` are refused (BCL §2.2). */
    BCL_SESSION_REQUIRED: bool
      .default(false)
      .meta({ group: "logout", description: "Refuse logout tokens without `sid` (match your `backchannel_logout_session_required`)." }),
    /** Registered as frontchannel_logout_session_required: front-channel requests without iss and sid are ignored (FCL §2). */
    FCL_SESSION_REQUIRED: bool.default(true).meta({
      group: "logout",
      description:
        "Ignore front-channel requests without `iss` and `sid` (match your `frontchannel_logout_session_required`). With `false`, such a request ends the session its cookie names, which works only when the IdP's logout page and the app are the same site (then the browser sends the app's `SameSite=Lax` cookie in the frame); across sites no cookie comes, nothing ends, and the log says `no_iss_sid_no_cookie`.",
    }),
    /** Clock leeway for logout tokens' iat and exp, in seconds. */
    BCL_CLOCK_LEEWAY_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(300)
      .default(60)
      .meta({ group: "logout", description: "Leeway for a logout token's `iat` and `exp`." }),
    /** Logout tokens issued longer ago than this are refused, in seconds. */
    BCL_MAX_TOKEN_AGE_SECONDS: z.coerce
      .number()
      .int()
      .min(30)
      .max(86_400)
      .default(600)
      .meta({ group: "logout", description: "Logout tokens issued longer ago are refused." }),
    /**
     * Where the guard runs, fixed at build time (next.config.ts builds middleware.edge.ts or
     * proxy.node.ts, and writes the choice into the build): `edge` (the default; Vercel's edge
     * middleware, Redis over REST) or `nodejs` (Node servers; on REDIS_URL's native connection).
     */
    GUARD_RUNTIME: z.enum(["edge", "nodejs"]).default("edge").meta({
      group: "store",
      description:
        "Read by `next build` (and `next dev`), and written into the build: `edge` builds the edge middleware (`middleware.edge.ts`, Redis over REST: what Vercel runs); `nodejs` builds the Node runtime's proxy (`proxy.node.ts`, on `REDIS_URL`'s native connection, or on REST without it). Anything else stops the build. Setting it at `next start` changes nothing: the build decides. `npm run ssf` runs no guard: with `REDIS_URL` (or `REDIS_CLUSTER_NODES`) and no `GUARD_RUNTIME` it needs no REST settings.",
    }),
    /**
     * Upstash's REST protocol: Upstash, or the gateway. Required unless the guard runs in the Node
     * runtime and REDIS_URL is set (see the rule below): the edge guard cannot open a TCP
     * connection, so it reaches Redis only this way.
     */
    UPSTASH_REDIS_REST_URL: httpUrl.optional().meta({
      group: "store",
      description:
        "Upstash's REST URL, or the gateway's (`KV_REST_API_URL` is accepted too). The edge guard (`middleware.edge.ts`) reaches Redis only this way (the edge runtime has `fetch`, no TCP), so with `GUARD_RUNTIME=edge` it stays required even when `REDIS_URL` serves the route handlers.",
      defaultShown: "required, unless `GUARD_RUNTIME=nodejs` with `REDIS_URL` or `REDIS_CLUSTER_NODES`",
      allowed: "an `http(s)` URL",
    }),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional().meta({
      group: "store",
      description: "The token for `UPSTASH_REDIS_REST_URL` (`KV_REST_API_TOKEN` is accepted too).",
      defaultShown: "required, unless `GUARD_RUNTIME=nodejs` with `REDIS_URL` or `REDIS_CLUSTER_NODES`",
    }),
    /**
     * A native Redis connection (redis:// or rediss://) for everything in the Node runtime: route
     * handlers, pages, Auth.js callbacks and, with GUARD_RUNTIME=nodejs, the guard (lib/store/native.ts).
     * Unset: they use UPSTASH_* too. With the edge guard, the same Redis and keys as its UPSTASH_*
     * (the gateway in front of this Redis, or Upstash's own redis(s):// endpoint).
     */
    REDIS_URL: z
      .url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" })
      .optional()
      .meta({
        group: "store",
        description:
          "Set: route handlers, pages, Auth.js callbacks and, with `GUARD_RUNTIME=nodejs`, the guard use a native connection to this Redis (`lib/store/native.ts`, ioredis: one connection per process, 2 s connect and command timeouts (the guard's own bound is `GUARD_REDIS_TIMEOUT_MS`), fail fast while disconnected, reconnects with a back-off capped at 1 s) instead of REST. With the edge guard it must be the same Redis (and the same `LOCKSTEP_KEY_PREFIX`) that `UPSTASH_*` reach: the gateway in front of it, or your Upstash database's own `rediss://` endpoint. Unset: everything uses `UPSTASH_*`.",
        allowed: "a `redis://` or `rediss://` URL",
      }),
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
      .optional()
      .meta({
        group: "store",
        description:
          "Instead of `REDIS_URL`, for a Redis Cluster: some of its nodes as `redis://` or `rediss://` URLs, comma-separated (`redis://10.0.0.1:7000,redis://10.0.0.2:7000`); the client (ioredis `Cluster`) learns the others from them. All with the same scheme and credentials, no database number; not together with `REDIS_URL`. With `GUARD_RUNTIME=nodejs` the guard uses it too, and no REST setting is needed. Every command Lockstep sends touches one hash slot (see [Redis Cluster](architecture.md#redis-cluster)). A store operation fails (503) after 5 s at most, even while the cluster has no slot map.",
        allowed: "`redis://` or `rediss://` URLs, comma-separated",
      }),
    LOCKSTEP_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_.-]{1,64}$/, "letters, digits and : _ . - only")
      .default("ls:")
      .meta({
        group: "store",
        description:
          "Prefix of every Redis key Lockstep writes (letters, digits and `: _ . -`: never a brace, which would change the keys' hash slots).",
        allowed: "`A-Z`, `a-z`, `0-9`, `: _ . -`; 1 to 64",
      }),
    SESSION_TTL_SECONDS: seconds(8 * 3600, 30 * 24 * 3600).meta({
      group: "sessions",
      description: "Longest a session lives; also the TTL of every key Lockstep writes.",
    }),
    REFRESH_SKEW_SECONDS: seconds(60, 3600).meta({
      group: "sessions",
      description: "Refresh an access token this long before it expires.",
    }),
    GUARD_REDIS_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(20)
      .max(10_000)
      .default(500)
      .meta({ group: "store", description: "How long the guard waits for Redis (one attempt, no retries), in either runtime." }),
    GUARD_FAIL_OPEN: bool.default(false).meta({
      group: "store",
      description:
        "`false`: when Redis cannot answer, the guard refuses with 503. `true`: the guard lets requests through (logged); routes that need no session work, pages that need one say it cannot be checked right now, and APIs that need one still answer 503. Nothing is ever served as signed in without the check.",
    }),
    APP_ID: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/, "lowercase letters, digits and - only")
      .default("lockstep")
      .meta({
        group: "app",
        description: "Lowercase id in cookie names; give each app on one host its own (cookies ignore ports).",
        allowed: "`a-z`, `0-9`, `-`; 1 to 32",
      }),
    APP_NAME: z
      .string()
      .min(1)
      .max(60)
      .default("Lockstep")
      .meta({ group: "app", description: "Name shown in the UI.", allowed: "1 to 60 characters" }),
    /**
     * Session Management 1.0 in open tabs: `auto` uses the IdP's check_session_iframe when its
     * discovery publishes one (SM §3.3); `off` never loads it (an IdP on another site, whose iframe
     * sees no cookie, or an app that should rely on other mechanisms).
     */
    SESSION_MANAGEMENT: z.enum(["auto", "off"]).default("auto").meta({
      group: "sessions",
      description:
        "Session Management 1.0 in open tabs: `auto` loads the IdP's `check_session_iframe` when its discovery document publishes one; `off` never does (an IdP on another site, whose iframe sees no cookie; or to rely on other mechanisms).",
    }),
    /** How often a tab asks the IdP's check_session_iframe whether the IdP session changed (SM §3.1). */
    SESSION_CHECK_INTERVAL_MS: z.coerce
      .number()
      .int()
      .min(500)
      .max(600_000)
      .default(3_000)
      .meta({ group: "sessions", description: "How often a tab asks the IdP's `check_session_iframe`." }),
    /** How often each server instance reads the ended-sessions feed for its open tabs. */
    LIVE_POLL_INTERVAL_MS: z.coerce
      .number()
      .int()
      .min(50)
      .max(10_000)
      .default(250)
      .meta({ group: "sessions", description: "How often each server instance reads the ended-sessions feed while tabs listen." }),
    /** Open live-update streams (/api/session/events) one server process holds at most; beyond it, 503 with Retry-After. */
    LIVE_MAX_STREAMS: z.coerce.number().int().min(1).max(1_000_000).default(10_000).meta({
      group: "sessions",
      description:
        "Live-update streams (`/api/session/events`) one server process holds open at most. Beyond it a new stream is answered `503` with `Retry-After`, and the tab tries again then. A session holds at most 10 streams per process (`429` beyond). Each open stream costs memory and a file descriptor, and a browser's tabs share one: see [benchmarks](benchmarks.md).",
    }),
    /** A live-update stream's longest life; the tab then opens a new one (spread by up to a tenth, so that tabs do not renew together). */
    LIVE_STREAM_MAX_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900).meta({
      group: "sessions",
      description:
        "The longest life of one live-update stream, in seconds. The server then sends `renew` and closes it, and the tab opens a new one at once (each stream's life is shortened by up to a tenth, so that tabs opened together do not renew together).",
    }),
    /** Accent colour of the UI (a CSS colour), so that two apps side by side are told apart. */
    APP_ACCENT: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "a #rrggbb colour")
      .default("#4338ca")
      .meta({ group: "app", description: "The UI's accent colour (`#rrggbb`), to tell apps apart.", allowed: "`#rrggbb`" }),
    /**
     * Liveness (lib/liveness/): re-check each active session at the IdP every interval. `auto` turns it
     * on when the IdP pushes nothing (its discovery does not offer back-channel logout and SSF_ISSUER
     * is unset); `on` and `off` decide regardless.
     */
    LIVENESS: z.enum(["auto", "on", "off"]).default("auto").meta({
      group: "liveness",
      description:
        "Re-check each active session at the IdP (see [Liveness](protocols.md#liveness-where-the-idp-pushes-nothing)). `auto`: on when the IdP's discovery document does not say `backchannel_logout_supported: true` and `SSF_ISSUER` is unset; `on`: always (set it if you registered no `backchannel_logout_uri` at an IdP that offers it); `off`: never. The choice is logged at start-up (`liveness.plan`).",
    }),
    /** How often an active session is re-checked at the IdP, in seconds. */
    LIVENESS_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(86_400).default(60).meta({
      group: "liveness",
      description:
        "How often an active session is re-checked, 5 to 86400. A session is refused within this plus about 10 s of a sign-out at the IdP.",
    }),
    /** Which proof to ask the IdP for: `auto` (introspection, else refresh, else userinfo) or one of them. */
    LIVENESS_METHOD: z.enum(["auto", "introspection", "refresh", "userinfo"]).default("auto").meta({
      group: "liveness",
      description:
        "The proof asked for: `introspection` (RFC 7662, of the refresh token), `refresh` (a refresh-token grant), `userinfo` (with the access token, one refresh after a 401); `auto` takes the first the IdP's metadata and the session's tokens allow, in that order, and moves on from introspection if the IdP refuses it to this client.",
    }),
    /** Shared Signals: the transmitter's issuer URL (everything else is discovered from it). Unset: SSF is off. */
    SSF_ISSUER: z
      .url({ protocol: /^https?$/ })
      .optional()
      .meta({ group: "ssf", description: "The SSF transmitter's issuer.", defaultShown: "unset (SSF off)", allowed: "an `http(s)` URL" }),
    /** How SETs arrive: pushed to /api/ssf/events (RFC 8935) or polled from the transmitter (RFC 8936). */
    SSF_DELIVERY: z.enum(["push", "poll"]).default("push").meta({ group: "ssf", description: "`push` or `poll`." }),
    /** The Authorization value the transmitter must send with each push; also given to it at stream creation. */
    SSF_PUSH_AUTHORIZATION: z.string().min(16, "must be at least 16 characters").optional().meta({
      group: "ssf",
      description: "The `Authorization` value every push must carry (16+ characters); given to the transmitter at registration.",
      allowed: "16+ characters",
    }),
    /** Bearer token for the transmitter's stream management (and poll) endpoints. */
    SSF_MANAGEMENT_TOKEN: z.string().min(1).optional().meta({
      group: "ssf",
      description: "Bearer token for the transmitter's stream management and poll endpoints.",
      defaultShown: "unset; required with `SSF_ISSUER`",
    }),
    /** Per-event overrides of the SSF policy table, JSON: {"session-revoked":"end_sessions", ...}. */
    SSF_POLICY: json('{"session-revoked":"end_sessions"}').pipe(policyOverridesSchema).default({}).meta({
      group: "ssf",
      description:
        'JSON object of overrides of the policy table: event short name → action, e.g. `{"device-compliance-change":"ignore"}`. Checked at start-up: not JSON, an unknown action or a key that is not a short name stops the app naming `SSF_POLICY`.',
      allowed: "a JSON object",
    }),
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
      .default(["RS256"])
      .meta({
        group: "ssf",
        description: "Accepted SET signing algorithms, comma-separated; asymmetric ones only (`none` and HMAC stop the app at start-up).",
        allowed: "comma-separated, of `RS256` to `RS512`, `PS256` to `PS512`, `ES256` to `ES512`, `EdDSA`",
      }),
    /** SETs issued longer ago than this are refused, in seconds (poll streams may hold SETs a while). */
    SSF_MAX_SET_AGE_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(86_400)
      .meta({ group: "ssf", description: "SETs issued longer ago are refused." }),
    /** IdP subjects (comma-separated) allowed on the admin page /admin/ssf. Unset: no admin page. */
    ADMIN_SUBS: z.string().optional().meta({
      group: "ssf",
      description:
        "IdP subjects (comma-separated) allowed on `/admin/ssf`. The page answers 404 to everyone else, and to everyone while `SSF_ISSUER` is unset.",
    }),
    /** Bearer secret for GET /api/ssf/poll (a scheduled job on Vercel sends it as Authorization). */
    CRON_SECRET: z
      .string()
      .min(16, "must be at least 16 characters")
      .optional()
      .meta({ group: "ssf", description: "Bearer secret for `GET /api/ssf/poll`.", allowed: "16+ characters" }),
    /**
     * The upstream base URL of each remote API declared in apis.ts, per deployment, as JSON:
     * {"statements":"https://api.example.com/statements"}. Overrides apis.ts's own `upstream`; an
     * API with neither is off. Checked at start-up (lib/api/registry.ts resolveApis).
     */
    REMOTE_API_URLS: json('{"statements":"https://api.example.com/"}').pipe(z.record(z.string(), z.string())).default({}).meta({
      group: "remote-api",
      description:
        'The upstream base URL of each API declared in `apis.ts`, per deployment, as JSON: `{"statements":"https://api.example.com/statements"}` (https, or http on loopback). An API with no upstream here or in `apis.ts` is off; a name `apis.ts` does not declare stops the app.',
      allowed: "a JSON object",
    }),
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
      .default(8 * 1024 * 1024)
      .meta({
        group: "remote-api",
        description:
          "The largest request body the remote-API proxy sends on; more is refused with 413 (on `Content-Length`, or once streamed that far). At most 10 MiB − 1: Next buffers a request body for the guard up to 10 MiB (`proxyClientMaxBodySize`) and passes on no more.",
        defaultShown: "`8388608` (8 MiB)",
      }),
    /** The largest upstream answer body the proxy passes back (bytes): a larger declared one is a 502, a longer stream is cut. */
    REMOTE_API_MAX_RESPONSE_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .max(1024 * 1024 * 1024)
      .default(32 * 1024 * 1024)
      .meta({
        group: "remote-api",
        description:
          "The largest upstream answer body passed back: a larger declared `Content-Length` is a 502 `response_too_large`, a longer stream is cut.",
        defaultShown: "`33554432` (32 MiB)",
      }),
    /** How long an upstream may take to connect and send its status and headers (ms): then 504. */
    REMOTE_API_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000).meta({
      group: "remote-api",
      description:
        "How long an upstream may take to connect, and from the last request byte to its status and headers: then 504 `upstream_timeout`.",
    }),
    /** How long a whole upstream exchange may take, bodies included (ms): then 504, or the stream is cut. */
    REMOTE_API_TOTAL_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000).meta({
      group: "remote-api",
      description: "How long a whole upstream exchange may take, bodies included: 504 before the answer, a cut stream after.",
    }),
    /**
     * OpenTelemetry (lib/telemetry/, docs/observability.md): the OTLP/HTTP collector that traces and
     * metrics go to. The general endpoint gets /v1/traces and /v1/metrics appended; a per-signal one
     * is used as it is and wins. None set: no SDK is loaded and nothing is recorded.
     */
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional().meta({
      group: "telemetry",
      description:
        "The collector's OTLP/HTTP base URL, e.g. `http://otel-collector:4318`; traces go to `<it>/v1/traces`, metrics to `<it>/v1/metrics` (JSON bodies). Unset, with neither per-signal one below: no SDK is loaded and nothing is recorded. [observability.md](observability.md) lists every span and metric.",
      defaultShown: "unset (no telemetry)",
      allowed: "an http(s) URL",
    }),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional().meta({
      group: "telemetry",
      description: "The traces' full URL, used as it is; wins over the general endpoint. Set it alone to export traces only.",
      allowed: "an http(s) URL",
    }),
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: httpUrl.optional().meta({
      group: "telemetry",
      description: "The metrics' full URL, used as it is; wins over the general endpoint. Set it alone to export metrics only.",
      allowed: "an http(s) URL",
    }),
    /** The `service.name` of what is exported; default `lockstep-<APP_ID>`. */
    OTEL_SERVICE_NAME: z.string().min(1).max(100).optional().meta({
      group: "telemetry",
      description: "The `service.name` of everything exported.",
      defaultShown: "`lockstep-<APP_ID>`",
      allowed: "1 to 100 characters",
    }),
    /** How often metrics are exported (ms; OpenTelemetry's default, 60 s). */
    OTEL_METRIC_EXPORT_INTERVAL: z.coerce
      .number()
      .int()
      .min(100)
      .max(3_600_000)
      .default(60_000)
      .meta({ group: "telemetry", description: "How often metrics are exported, in milliseconds." }),
    /** OpenTelemetry's own off switch: no SDK even with an endpoint set. */
    OTEL_SDK_DISABLED: bool
      .default(false)
      .meta({ group: "telemetry", description: "`true`: no SDK and no export, even with an endpoint set." }),
    /** Echoed by /api/health in X-Lockstep-Nonce; the demo and dev runners set a random one per process. */
    HEALTH_NONCE: z.string().max(128).optional().meta({
      group: "development",
      description:
        "Echoed by `GET /api/health` in `X-Lockstep-Nonce`, so that the demo and dev runners know the answer comes from the process they started.",
      allowed: "up to 128 characters",
    }),
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
