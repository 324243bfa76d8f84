import { isSameSecret as sameSecret } from "../../lib/http/constant-time";
import type { Account, FindAccount } from "oidc-provider";

/** A demo account. `sub` is opaque and stable so apps never key anything on the username. */
export type DemoUser = {
  sub: string;
  username: string;
  password: string;
  name: string;
  email: string;
};

/** The demo's test users. Their passwords are public on purpose: the login page and the CLI print them. */
export const demoUsers: readonly DemoUser[] = [
  {
    sub: "usr_4f1c2a9e7d3b4c60",
    username: "alice",
    password: "alice-password",
    name: "Alice Example",
    email: "alice@example.com",
  },
  {
    sub: "usr_9b6e0d5a2c8f4e17",
    username: "bob",
    password: "bob-password",
    name: "Bob Example",
    email: "bob@example.com",
  },
];

/** The user these credentials belong to, or undefined. Unknown usernames cost the same as wrong passwords. */
export function verifyCredentials(username: string, password: string): DemoUser | undefined {
  const user = demoUsers.find((u) => u.username === username.trim().toLowerCase());
  const passwordMatches = sameSecret(password, user?.password ?? "\u0000no-such-user");
  return user && passwordMatches ? user : undefined;
}

export function findUser(sub: string): DemoUser | undefined {
  return demoUsers.find((u) => u.sub === sub);
}

function toAccount(user: DemoUser, idTokenHasProfile: boolean): Account {
  return {
    accountId: user.sub,
    // oidc-provider filters these down to what the granted scopes and requested claims allow.
    // `use` is "id_token" or "userinfo" (Core §5.4: scope-requested claims may be released at userinfo only).
    claims: (use) =>
      use === "id_token" && !idTokenHasProfile
        ? { sub: user.sub }
        : { sub: user.sub, name: user.name, email: user.email, email_verified: true },
  };
}

export type AccountFinderOptions = {
  /**
   * Whether the ID tokens issued to this client carry the profile and email claims its scopes ask for.
   * When false they carry only `sub` and the claims are at the userinfo endpoint alone, as with an IdP
   * that follows OpenID Connect Core §5.4 (oidc-provider's `conformIdTokenClaims`, which is global there).
   */
  idTokenClaims: (clientId: string) => boolean;
};

/**
 * oidc-provider's `findAccount` hook. The client asking is the context's (the token endpoint's
 * authenticated client when an ID token is issued, the access token's client at userinfo).
 */
export function accountFinder(options: AccountFinderOptions): FindAccount {
  return (ctx, sub) => {
    const user = findUser(sub);
    if (!user) return undefined;
    const clientId = ctx.oidc.client?.clientId;
    return toAccount(user, clientId === undefined || options.idTokenClaims(clientId));
  };
}
