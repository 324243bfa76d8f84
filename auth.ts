import NextAuth, { type NextAuthConfig } from "next-auth";
import { getServer } from "@/lib/compose/node";
import { openHandle, sealHandle, sessionHandleSchema, type SessionHandle } from "@/lib/session/handle";
import { hashId, securityLog } from "@/lib/log/security-log";
import { signInContext } from "@/lib/check-session/sign-in-context";

/**
 * Auth.js runs the sign-in (code flow with PKCE, state and nonce). On success the tokens go to
 * Redis and the session cookie becomes an encrypted handle (lib/session/handle.ts), never a token.
 * Built lazily so that `next build` needs no environment.
 */
function authConfig(): NextAuthConfig {
  const { config, sessions, cookies } = getServer();
  const cookie = (name: string, extra: { maxAge?: number } = {}) => ({
    name,
    options: { httpOnly: true, sameSite: "lax" as const, path: "/", secure: cookies.secure, ...extra },
  });
  return {
    secret: config.AUTH_SECRET,
    trustHost: true,
    basePath: "/api/auth",
    session: { strategy: "jwt", maxAge: config.SESSION_TTL_SECONDS },
    pages: { signIn: "/", error: "/signed-out", signOut: "/" },
    cookies: {
      sessionToken: cookie(cookies.session),
      callbackUrl: cookie(cookies.callbackUrl),
      csrfToken: cookie(cookies.csrf),
      pkceCodeVerifier: cookie(cookies.pkce, { maxAge: 900 }),
      state: cookie(cookies.state, { maxAge: 900 }),
      nonce: cookie(cookies.nonce),
    },
    providers: [
      {
        id: "oidc",
        name: "your identity provider",
        type: "oidc",
        issuer: config.OIDC_ISSUER,
        clientId: config.OIDC_CLIENT_ID,
        clientSecret: config.OIDC_CLIENT_SECRET,
        checks: ["pkce", "state", "nonce"],
        authorization: { params: { scope: config.OIDC_SCOPES } },
        client: { token_endpoint_auth_method: "client_secret_basic" },
      },
    ],
    jwt: {
      // The cookie holds only the handle; Auth.js's own encoding would be fine but is not edge-cached.
      encode: ({ token, salt, maxAge }) =>
        sealHandle(sessionHandleSchema.parse(token), config.AUTH_SECRET, salt, maxAge ?? config.SESSION_TTL_SECONDS),
      decode: async ({ token, salt }) => {
        if (!token) return null;
        try {
          return await openHandle(token, config.AUTH_SECRET, salt);
        } catch {
          return null;
        }
      },
    },
    callbacks: {
      // RISC account-disabled: no new session until account-enabled (lib/ssf/act.ts).
      async signIn({ profile }) {
        if (typeof profile?.iss !== "string" || typeof profile.sub !== "string") return true;
        const disabled = await sessions.isDisabled({ iss: profile.iss, sub: profile.sub });
        if (disabled) securityLog({ event: "session.refused", outcome: "rejected", code: "account_disabled", sub: hashId(profile.sub) });
        return !disabled;
      },
      async jwt({ token, account, profile }) {
        if (!account || !profile) return token;
        if (typeof profile.iss !== "string" || typeof profile.sub !== "string") {
          throw new Error("The ID token has no iss or sub.");
        }
        if (!account.id_token) throw new Error("The token response has no ID token.");
        const now = Date.now();
        const sid = typeof profile.sid === "string" ? profile.sid : undefined;
        const lsid = await sessions.create({
          iss: profile.iss,
          sub: profile.sub,
          sid,
          createdAt: now,
          expiresAt: now + config.SESSION_TTL_SECONDS * 1000,
          claims: {
            name: typeof profile.name === "string" ? profile.name : undefined,
            email: typeof profile.email === "string" ? profile.email : undefined,
          },
          idToken: account.id_token,
          accessToken: account.access_token,
          accessTokenExpiresAt: account.expires_at ? account.expires_at * 1000 : undefined,
          refreshToken: account.refresh_token,
          scope: account.scope,
          sessionState: signInContext.getStore()?.sessionState,
        });
        securityLog({ event: "session.created", outcome: "ok", session: hashId(lsid), sub: hashId(profile.sub), sid: hashId(sid) });
        const handle: SessionHandle = { lsid, iss: profile.iss, sub: profile.sub, sid, createdAt: now };
        return handle;
      },
      session({ session }) {
        // Auth.js's own /api/auth/session shows nothing but the expiry; /api/session is the user endpoint.
        return { expires: session.expires } as typeof session;
      },
    },
  };
}

export const { handlers, signIn } = NextAuth(() => authConfig());
