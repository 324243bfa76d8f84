import type { KoaContextWithOIDC, OIDCContext } from "oidc-provider";

/** Middleware for `provider.use()` (oidc-provider's Koa app). */
export type ProviderMiddleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

/**
 * `ctx.oidc` in `provider.use()` middleware. @types/oidc-provider types it as always there, but
 * oidc-provider sets it only once its router has matched a route: before `next()`, and for paths it does
 * not serve, it is undefined.
 */
export function routedOidc(ctx: KoaContextWithOIDC): OIDCContext | undefined {
  return ctx.oidc as OIDCContext | undefined;
}
