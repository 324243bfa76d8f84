// @types/oidc-provider 9.12 covers everything the demo IdP uses but this one member, which oidc-provider 9
// sets on a session once `destroy()` has removed it from storage (lib/models/session.js). The front-channel
// logout middleware reads it to tell a finished logout from a cancelled one.
export {};

declare module "oidc-provider" {
  interface Session {
    readonly destroyed?: boolean;
  }
}
