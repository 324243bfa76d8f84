/**
 * The protected resources the demo IdP issues access tokens for (RFC 8707 resource indicators), and
 * that the demo resource server (demo/api/) serves. One list, so that the two cannot disagree.
 */
export type DemoResource = {
  /** The resource indicator: the `resource` parameter a client sends, and the access token's `aud`. */
  indicator: string;
  /** The one scope the resource server demands. */
  scope: string;
  /** Where the demo resource server mounts it: `<resource server>/<path>/…`. */
  path: string;
  /** RFC 9449: the resource server accepts only DPoP-bound tokens, with a proof. */
  dpop: boolean;
  /**
   * The grants the IdP issues tokens for it at: `user` (authorization code and refresh token, with a
   * user) and `client` (the client credentials grant, RFC 6749 §4.4: the app's own token). Any other
   * grant naming it is `invalid_target` (RFC 8707 §2).
   */
  grants: readonly ("user" | "client")[];
};

export const demoResources = {
  statements: {
    indicator: "https://api.lockstep.example/statements",
    scope: "statements:read",
    path: "statements",
    dpop: false,
    grants: ["user", "client"],
  },
  portfolio: {
    indicator: "https://api.lockstep.example/portfolio",
    scope: "portfolio:read",
    path: "portfolio",
    dpop: true,
    grants: ["user", "client"],
  },
  // The bank-wide report: the app's own token only (a `client` API), never a user's.
  reports: { indicator: "https://api.lockstep.example/reports", scope: "reports:read", path: "reports", dpop: false, grants: ["client"] },
  // Headlines, personalised for a user's token (a `user-or-none` API; without a token they are generic).
  news: { indicator: "https://api.lockstep.example/news", scope: "news:read", path: "news", dpop: false, grants: ["user"] },
} as const satisfies Record<string, DemoResource>;

export type DemoResourceName = keyof typeof demoResources;

export function findResource(indicator: string): DemoResource | undefined {
  return Object.values(demoResources).find((r) => r.indicator === indicator);
}
