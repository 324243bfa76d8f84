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
};

export const demoResources = {
  statements: { indicator: "https://api.lockstep.example/statements", scope: "statements:read", path: "statements", dpop: false },
  portfolio: { indicator: "https://api.lockstep.example/portfolio", scope: "portfolio:read", path: "portfolio", dpop: true },
} as const satisfies Record<string, DemoResource>;

export type DemoResourceName = keyof typeof demoResources;

export function findResource(indicator: string): DemoResource | undefined {
  return Object.values(demoResources).find((r) => r.indicator === indicator);
}
