import NextAuth, { type NextAuthConfig } from "next-auth";
import type { OIDCConfig } from "next-auth/providers";
import { cookies as requestCookies, headers as requestHeaders } from "next/headers";
import { redirect } from "next/navigation";
import { getServer } from "@/lib/compose/server";
import { endSessions } from "@/lib/revocation/end-sessions";
import { StoreError } from "@/lib/store/errors";
import { openHandle, sealHandle, sessionHandleSchema, type SessionHandle } from "@/lib/session/handle";
import { hashId, securityLog } from "@/lib/log/security-log";
import { signInContext } from "@/lib/check-session/sign-in-context";
import { parseDevice } from "@/lib/session/device";
import { signInClaims } from "@/lib/session/claims";
import { authjsClientOptions } from "@/lib/oidc/client-auth";
import { ParError } from "@/lib/oidc/par";
import { pushSignInLocation, signInErrorPath, type CompleteRequest } from "@/lib/oidc/sign-in";
import { withSignInResources } from "@/lib/api/sign-in";
import { classifySignInError, signInFailureCookie } from "@/lib/oidc/sign-in-errors";

/**
 * Auth.js runs the sign-in (code flow with PKCE, state and nonce). On success the tokens go to
 * Redis and the session cookie becomes an encrypted handle (lib/session/handle.ts), never a token.
 * Built lazily so that `next build` needs no environment.
 */
async function authConfig(): Promise<NextAuthConfig> {
  const server = getServer();
  const { config, sessions, revocations, cookies } = server;
  // How the code exchange authenticates (OIDC_CLIENT_AUTH_METHOD; the private key imported once).
  const { clientSecret, client, token } = await authjsClientOptions(config);
  const cookie = (name: string, extra: { maxAge?: number } = {}) => ({
    name,
    options: { httpOnly: true, sameSite: "lax" as const, path: "/", secure: cookies.secure, ...extra },
  });
  /** Signing in again in the same browser replaces its session cookie: the session it named ends. */
  async function endReplacedSession(newId: string): Promise<void> {
    const sealed = (await requestCookies()).get(cookies.session)?.value;
    if (!sealed) return;
    const previous = await openHandle(sealed, config.AUTH_SECRET, cookies.session).catch(() => undefined);
    if (!previous || previous.lsid === newId) return;
    try {
      await endSessions(server.ending, [{ kind: "session", id: previous.lsid }], "logout", { detail: { mechanism: "this_browser" } });
      securityLog({ event: "session.replaced", outcome: "ok", session: hashId(previous.lsid) });
    } catch {
      // The new session stands; the old one ends at its expiry or with the next signal that names it.
      securityLog({ event: "session.replaced", outcome: "error", code: "store_unavailable", session: hashId(previous.lsid) });
    }
  }

  // This request's cookies, for the logger (which is synchronous) to leave the failure's code in.
  const jar = await Promise.resolve()
    .then(() => requestCookies())
    .catch(() => undefined);
  const failureCookie = signInFailureCookie(config.APP_ID, cookies.secure);

  return {
    secret: config.AUTH_SECRET,
    trustHost: true,
    basePath: "/api/auth",
    session: { strategy: "jwt", maxAge: config.SESSION_TTL_SECONDS },
    // Auth.js sends every failure it does not show to users to /signed-out?error=Configuration; the
    // logger below leaves the cause's code in a one-minute cookie that the page reads with it.
    pages: { signIn: "/", error: "/signed-out", signOut: "/" },
    logger: {
      // One line per failure, naming the setting to fix; never Auth.js's stack traces or messages.
      error(error) {
        // A refusal by the signIn callback is logged there (session.refused) and has a page of its own.
        if ((error as { type?: string }).type === "AccessDenied") return;
        const failure = classifySignInError(error, config);
        securityLog({
          event: "sign_in.failed",
          outcome: "error",
          code: failure.code,
          setting: failure.setting,
          type: failure.type,
          cause: failure.cause,
          oauth_error: failure.oauthError,
        });
        try {
          jar?.set(failureCookie.name, failure.code, failureCookie.options);
        } catch {
          // Read-only cookies (a server component): the page then says what Auth.js's code says.
        }
      },
    },
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
        clientSecret,
        checks: ["pkce", "state", "nonce"],
        authorization: { params: { scope: config.OIDC_SCOPES } },
        client,
        // Only `clientPrivateKey`: with no `url`, Auth.js still takes the token endpoint from discovery.
        ...(token ? { token: token as OIDCConfig<Record<string, unknown>>["token"] } : {}),
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
    events: {
      // signOut() from next-auth/react (POST /api/auth/signout) ends the server session too, not only the cookie.
      async signOut(message) {
        const handle = sessionHandleSchema.safeParse("token" in message ? message.token : undefined);
        if (!handle.success) return;
        await endSessions(server.ending, [{ kind: "session", id: handle.data.lsid }], "logout", { detail: { mechanism: "this_browser" } });
        securityLog({ event: "logout.local", outcome: "ok", code: "authjs_signout", session: hashId(handle.data.lsid) });
      },
    },
    callbacks: {
      // RISC account-disabled: no new session until account-enabled (lib/ssf/act.ts).
      async signIn({ profile }) {
        if (typeof profile?.iss !== "string" || typeof profile.sub !== "string") return true;
        let disabled: boolean;
        try {
          disabled = await sessions.isDisabled({ iss: profile.iss, sub: profile.sub });
        } catch (error) {
          if (!(error instanceof StoreError)) throw error;
          // The store cannot answer: sign-in is unavailable for now, which is not the account's fault.
          securityLog({ event: "session.refused", outcome: "error", code: "store_unavailable", sub: hashId(profile.sub) });
          return "/signed-out?error=unavailable";
        }
        if (disabled) securityLog({ event: "session.refused", outcome: "rejected", code: "account_disabled", sub: hashId(profile.sub) });
        return !disabled;
      },
      async jwt({ token, account, profile }) {
        // Every read of the session (GET /api/auth/session, useSession(), auth()) asks the
        // revocation list: an ended session is signed out here too, and its cookie is not re-issued.
        if (!account || !profile) {
          const handle = sessionHandleSchema.safeParse(token);
          if (!handle.success) return null;
          return (await revocations.check(handle.data)).active ? token : null;
        }
        if (typeof profile.iss !== "string" || typeof profile.sub !== "string") {
          throw new Error("The ID token has no iss or sub.");
        }
        if (!account.id_token) throw new Error("The token response has no ID token.");
        const now = Date.now();
        const sid = typeof profile.sid === "string" ? profile.sid : undefined;
        // The ID token's name and email, and what it lacks from userinfo (Core §5.4); never fails the
        // sign-in. After `now`: a logout that lands while userinfo answers still ends this session.
        const claims = await signInClaims({ sub: profile.sub, name: profile.name, email: profile.email }, account.access_token);
        const lsid = await sessions.create({
          iss: profile.iss,
          sub: profile.sub,
          sid,
          createdAt: now,
          expiresAt: now + config.SESSION_TTL_SECONDS * 1000,
          claims,
          idToken: account.id_token,
          accessToken: account.access_token,
          accessTokenExpiresAt: account.expires_at ? account.expires_at * 1000 : undefined,
          refreshToken: account.refresh_token,
          scope: account.scope,
          sessionState: signInContext.getStore()?.sessionState,
          // The browser that finished the sign-in: its names only ("Chrome", "Linux"), for the sessions list.
          device: parseDevice((await requestHeaders()).get("user-agent")),
        });
        securityLog({ event: "session.created", outcome: "ok", session: hashId(lsid), sub: hashId(profile.sub), sid: hashId(sid) });
        await endReplacedSession(lsid);
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

const nextAuth = NextAuth(() => authConfig());

export const { handlers } = nextAuth;

/**
 * What the sign-in asks for besides Auth.js's request: the resource indicators and scopes of the
 * remote APIs that need the user's token (lib/api/sign-in.ts), so that the IdP grants them.
 */
export const completeSignInRequest: CompleteRequest = (params) => withSignInResources(params, getServer().remote.apis.values());

/**
 * The sign-in server action (app/page.tsx): Auth.js's signIn, its redirect to the IdP completed and
 * pushed when PAR is on (RFC 9126), as the route handler does for the sign-in POST. Auth.js has set its cookies
 * by the time it answers; a failed push goes to the sign-in error page instead.
 */
export async function signIn(provider: "oidc", options: { redirectTo?: string } = {}): Promise<never> {
  const location: string = await nextAuth.signIn(provider, { ...options, redirect: false });
  let target: string;
  try {
    target = await pushSignInLocation(location, completeSignInRequest);
  } catch (error) {
    if (!(error instanceof ParError)) throw error;
    target = signInErrorPath(error.code);
  }
  redirect(target);
}
