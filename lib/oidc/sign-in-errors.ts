import type { Config } from "@/lib/config";
import { storeSetting } from "@/lib/startup/settings";

/**
 * Why a sign-in failed, from the error Auth.js hands its `logger.error`, so that an operator reads
 * which setting to fix and the user reads something true, instead of Auth.js's one "Configuration".
 */
export const signInFailureCodes = [
  "idp_unreachable",
  "idp_invalid",
  "client_rejected",
  "host_mismatch",
  "store_unavailable",
  "sign_in_failed",
] as const;
export type SignInFailureCode = (typeof signInFailureCodes)[number];

export type SignInFailure = {
  code: SignInFailureCode;
  /** The setting(s) to look at, e.g. "OIDC_CLIENT_ID/OIDC_CLIENT_SECRET"; none when the cause is unknown. */
  setting?: string;
  /** Auth.js's error type (CallbackRouteError, InvalidCheck…) or the error's name: never its message. */
  type: string;
  /** The innermost cause's name, and the OAuth error code (RFC 6749 §5.2) when the IdP sent one. */
  cause?: string;
  oauthError?: string;
};

type ClassifyConfig = Pick<Config, "OIDC_CLIENT_AUTH_METHOD" | "REDIS_URL" | "REDIS_CLUSTER_NODES">;

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** The error and what it wraps: `cause`, and Auth.js's `cause.err` (its AuthError keeps the original there). */
function chainOf(error: unknown): object[] {
  const chain: object[] = [];
  let current: unknown = error;
  while (typeof current === "object" && current !== null && chain.length < 8 && !chain.includes(current)) {
    chain.push(current);
    const cause: unknown = (current as { cause?: unknown }).cause;
    const err = typeof cause === "object" && cause !== null && !(cause instanceof Error) ? (cause as { err?: unknown }).err : undefined;
    current = err ?? cause;
  }
  return chain;
}

const field = (value: object, name: string): unknown => (value as Record<string, unknown>)[name];
const text = (value: object, name: string): string | undefined => {
  const v = field(value, name);
  return typeof v === "string" ? v : undefined;
};
/** Names and codes only: anything else an error or an IdP puts there stays out of the log. */
const token = (value: string | undefined) => (value && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : undefined);

/** The OAuth `error` the token endpoint answered, in oauth4webapi's ResponseBodyError or a WWW-Authenticate challenge. */
function oauthErrorOf(value: object): string | undefined {
  const direct = text(value, "error");
  if (direct) return direct;
  const challenges = field(value, "cause");
  if (text(value, "code") === "OAUTH_WWW_AUTHENTICATE_CHALLENGE" && Array.isArray(challenges)) {
    for (const challenge of challenges as { parameters?: { error?: unknown } }[]) {
      if (typeof challenge?.parameters?.error === "string") return challenge.parameters.error;
    }
  }
  return undefined;
}

export function classifySignInError(error: unknown, config: ClassifyConfig): SignInFailure {
  const chain = chainOf(error);
  const top = chain[0];
  const type = (top && token(text(top, "type") ?? text(top, "name"))) ?? "unknown";
  const cause = chain
    .slice(1)
    .map((e) => token(text(e, "code") ?? text(e, "name")))
    .findLast(Boolean);
  const oauthError = token(chain.map(oauthErrorOf).find(Boolean));
  const base = { type, cause, ...(oauthError ? { oauthError } : {}) };

  if (chain.some((e) => text(e, "name") === "StoreError")) return { code: "store_unavailable", setting: storeSetting(config), ...base };
  // RFC 6749 §5.2: the token endpoint did not accept this client's authentication.
  if (oauthError === "invalid_client" || oauthError === "unauthorized_client") {
    const credential = config.OIDC_CLIENT_AUTH_METHOD === "private_key_jwt" ? "OIDC_CLIENT_PRIVATE_KEY" : "OIDC_CLIENT_SECRET";
    return { code: "client_rejected", setting: `OIDC_CLIENT_ID/${credential}`, ...base };
  }
  // The state, PKCE or nonce cookie set when the sign-in started did not come back with the callback:
  // the browser started at a host other than AUTH_URL's (cookies are per host), or took over 15 minutes.
  if (chain.some((e) => text(e, "type") === "InvalidCheck" && /cookie was missing/.test(text(e, "message") ?? ""))) {
    return { code: "host_mismatch", setting: "AUTH_URL", ...base };
  }
  const network = chain.some(
    (e) => NETWORK_CODES.has(text(e, "code") ?? "") || (text(e, "name") === "TypeError" && text(e, "message") === "fetch failed"),
  );
  if (network) return { code: "idp_unreachable", setting: "OIDC_ISSUER", ...base };
  // Auth.js's own words for a discovery document it cannot use.
  const invalid = chain.some((e) =>
    /^(Discovery request responded with an invalid issuer|Authorization server did not provide an authorization endpoint)/.test(
      text(e, "message") ?? "",
    ),
  );
  if (invalid) return { code: "idp_invalid", setting: "OIDC_ISSUER", ...base };
  return { code: "sign_in_failed", ...base };
}

/** Reads back a code (from the short-lived cookie the logger sets): only a known one. */
export function parseSignInFailureCode(value: string | undefined): SignInFailureCode | undefined {
  return signInFailureCodes.find((code) => code === value);
}

/**
 * The cookie that carries a failed sign-in's code from Auth.js's logger to the signed-out page: a
 * fixed code, a minute long, host-only. Auth.js puts only "Configuration" in the URL; this says which.
 */
export function signInFailureCookie(appId: string, secure: boolean) {
  return {
    name: secure ? `__Host-${appId}.sign-in-error` : `${appId}.sign-in-error`,
    options: { httpOnly: true, sameSite: "lax" as const, path: "/", secure, maxAge: 60 },
  };
}
