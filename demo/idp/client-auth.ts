import { routedOidc, type ProviderMiddleware } from "./provider-middleware";

/** How a demo client authenticates to the IdP (RFC 6749 §2.3.1, OIDC Core §9, RFC 7523 §2.2). */
export const clientAuthMethods = ["client_secret_basic", "client_secret_post", "private_key_jwt"] as const;
export type ClientAuthMethod = (typeof clientAuthMethods)[number];

/** JWK members that only a private or secret key has (RFC 7518 §6.2.2, §6.3.2, §6.4): never in a client's registered jwks. */
export const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/** One client authentication the IdP took, as a test can check it (`RunningIdp.clientAuthentications`). */
export type ClientAuthentication = {
  clientId: string;
  /** oidc-provider's route name: "token", "pushed_authorization_request", "introspection" or "revocation". */
  endpoint: string;
  /** The mechanism the request used (what it sent, whatever the client registered). */
  method: ClientAuthMethod | "client_secret_jwt" | "none";
  status: number;
};

const AUTHENTICATED_ROUTES = new Set(["token", "pushed_authorization_request", "introspection", "revocation"]);
/** How many the record keeps (the oldest go first). */
const RECORD_LIMIT = 200;

/**
 * Notes how each client authenticated at the endpoints that authenticate clients. oidc-provider takes
 * client_secret_basic and client_secret_post interchangeably for a client registered with either, so
 * this record is how a test shows that an app used the method it was configured with.
 */
export function clientAuthRecorder(record: ClientAuthentication[]): ProviderMiddleware {
  return async (ctx, next) => {
    await next();
    const oidc = routedOidc(ctx);
    const clientId = oidc?.client?.clientId;
    if (!oidc || !clientId || !AUTHENTICATED_ROUTES.has(oidc.route)) return;
    const params = (oidc.params ?? {}) as Record<string, unknown>;
    const method: ClientAuthentication["method"] =
      typeof params.client_assertion === "string"
        ? oidc.client?.clientAuthMethod === "client_secret_jwt"
          ? "client_secret_jwt"
          : "private_key_jwt"
        : typeof params.client_secret === "string"
          ? "client_secret_post"
          : /^basic /i.test(ctx.get("authorization"))
            ? "client_secret_basic"
            : "none";
    record.push({ clientId, endpoint: oidc.route, method, status: ctx.status });
    if (record.length > RECORD_LIMIT) record.splice(0, record.length - RECORD_LIMIT);
  };
}
