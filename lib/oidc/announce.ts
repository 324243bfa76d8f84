import type * as oauth from "oauth4webapi";
import { getConfig, type Config } from "@/lib/config";
import { securityLog } from "@/lib/log/security-log";
import { ClientAuthError, clientPrivateKey } from "./client-auth";
import { getIdpMetadata } from "./client";

/**
 * How this client will talk to the IdP, said once at start-up (instrumentation.ts) in one line,
 * `oidc.client`: the authentication method and whether authorization requests are pushed (RFC 9126).
 * What would make every sign-in fail is said there too, as an error with the setting to look at:
 * OIDC_PAR=require at an IdP without a PAR endpoint (sign-in is then refused), OIDC_PAR=off at an
 * IdP that requires PAR, a private key WebCrypto refuses. Never fatal: the IdP may be fixed first.
 */
export type ClientPlan = {
  outcome: "ok" | "error";
  code:
    "par_on" | "par_not_offered" | "par_off" | "par_unsupported" | "par_required_by_idp" | "client_key_unusable" | "discovery_unavailable";
  setting?: "OIDC_PAR" | "OIDC_CLIENT_PRIVATE_KEY" | "OIDC_ISSUER";
  /** False when the IdP publishes token_endpoint_auth_methods_supported without this client's method. */
  authMethodAdvertised?: boolean;
};

type PlanMetadata = Pick<
  oauth.AuthorizationServer,
  "pushed_authorization_request_endpoint" | "require_pushed_authorization_requests" | "token_endpoint_auth_methods_supported"
>;

/** The plan for this configuration and these IdP metadata (RFC 9126 §5, RFC 8414 §2). */
export function clientPlan(as: PlanMetadata, config: Pick<Config, "OIDC_PAR" | "OIDC_CLIENT_AUTH_METHOD">): ClientPlan {
  const methods = as.token_endpoint_auth_methods_supported;
  const authMethodAdvertised = Array.isArray(methods) ? methods.includes(config.OIDC_CLIENT_AUTH_METHOD) : undefined;
  const offered = typeof as.pushed_authorization_request_endpoint === "string";
  if (config.OIDC_PAR === "require" && !offered)
    return { outcome: "error", code: "par_unsupported", setting: "OIDC_PAR", authMethodAdvertised };
  if (config.OIDC_PAR === "off" && as.require_pushed_authorization_requests === true) {
    return { outcome: "error", code: "par_required_by_idp", setting: "OIDC_PAR", authMethodAdvertised };
  }
  const code = config.OIDC_PAR === "off" ? "par_off" : offered ? "par_on" : "par_not_offered";
  return { outcome: "ok", code, authMethodAdvertised };
}

/** Logs the plan once; with private_key_jwt, imports the key first, so that a key WebCrypto refuses shows now. */
export async function announceClientPlan(): Promise<ClientPlan> {
  const config = getConfig();
  let plan: ClientPlan;
  try {
    if (config.OIDC_CLIENT_AUTH_METHOD === "private_key_jwt") await clientPrivateKey(config);
    plan = clientPlan(await getIdpMetadata(), config);
  } catch (error) {
    plan =
      error instanceof ClientAuthError
        ? { outcome: "error", code: "client_key_unusable", setting: "OIDC_CLIENT_PRIVATE_KEY" }
        : { outcome: "error", code: "discovery_unavailable", setting: "OIDC_ISSUER" };
  }
  securityLog({
    event: "oidc.client",
    outcome: plan.outcome,
    code: plan.code,
    auth_method: config.OIDC_CLIENT_AUTH_METHOD,
    par: config.OIDC_PAR,
    setting: plan.setting,
    auth_method_advertised: plan.authMethodAdvertised,
  });
  return plan;
}
