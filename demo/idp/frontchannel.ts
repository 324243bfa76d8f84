// OpenID Connect Front-Channel Logout 1.0, OP side, for the demo IdP (oidc-provider 9 dropped it):
// client metadata, `sid` in the ID tokens of clients that need it, and the logout page with the iframes.
import { errors, type Client, type Configuration, type Provider } from "oidc-provider";
import { FRONTCHANNEL_SCRIPT, frontchannelLogoutPage, pageHeaders, type FrontchannelNotice } from "./pages";
import { routedOidc, type ProviderMiddleware } from "./provider-middleware";
import type { BrowserState } from "./session-management";

/** Discovery members (FCL 1.0 §3). */
export const FRONTCHANNEL_DISCOVERY = {
  frontchannel_logout_supported: true,
  frontchannel_logout_session_supported: true,
} as const;

function invalid(description: string): never {
  throw new errors.InvalidClientMetadata(description);
}

/**
 * FCL 1.0 §2's client metadata, declared as oidc-provider extra client metadata so it is validated with
 * the rest of the client: an absolute http(s) URI without a fragment, on the scheme, host and port of one
 * of the client's redirect_uris; session_required a boolean, default false.
 */
export const FRONTCHANNEL_CLIENT_METADATA: NonNullable<Configuration["extraClientMetadata"]> = {
  properties: ["frontchannel_logout_uri", "frontchannel_logout_session_required"],
  validator(_ctx, key, value, metadata) {
    if (key === "frontchannel_logout_uri") {
      if (value === undefined) return;
      if (typeof value !== "string") invalid("frontchannel_logout_uri must be a string");
      const uri = URL.parse(value);
      if (!uri || (uri.protocol !== "http:" && uri.protocol !== "https:") || uri.hash) {
        invalid("frontchannel_logout_uri must be an absolute http(s) URI without a fragment");
      }
      const redirectUris = Array.isArray(metadata.redirect_uris) ? metadata.redirect_uris : [];
      if (!redirectUris.some((r) => typeof r === "string" && URL.parse(r)?.origin === uri.origin)) {
        invalid("frontchannel_logout_uri must have the scheme, host and port of a redirect_uri");
      }
    } else if (key === "frontchannel_logout_session_required") {
      if (value === undefined) metadata[key] = false;
      else if (typeof value !== "boolean") invalid("frontchannel_logout_session_required must be a boolean");
    }
  },
};

/**
 * oidc-provider puts `sid` into a client's codes (and so its ID tokens) only when `client.includeSid()`,
 * which is true only for back-channel logout URI + backchannel_logout_session_required. Front-channel
 * clients with frontchannel_logout_session_required need it too (FCL 1.0 §3), so the provider's Client
 * class gets an includeSid() that also says yes for them. The sid is the session's per-client sid, the
 * same one the logout iframe is given.
 */
export function includeSidForFrontchannel(provider: Provider): void {
  const prototype = provider.Client.prototype;
  const original: unknown = prototype.includeSid;
  // A rename in a future oidc-provider must fail the start, not silently drop sid.
  if (typeof original !== "function") throw new Error("oidc-provider's Client has no includeSid(); front-channel sid cannot be added");
  prototype.includeSid = function includeSid(this: Client): boolean {
    return Boolean(original.call(this)) || Boolean(this.frontchannel_logout_uri && this.frontchannel_logout_session_required);
  };
}

/** The client's frontchannel_logout_uri with `iss` and `sid` (both, or neither without a sid: FCL 1.0 §2). */
export function frontchannelLogoutUrl(client: Client, issuer: string, sid: string | undefined): string | undefined {
  const registered = client.frontchannel_logout_uri;
  if (typeof registered !== "string" || !registered) return undefined;
  const url = new URL(registered);
  if (sid) {
    url.searchParams.set("iss", issuer);
    url.searchParams.set("sid", sid);
  }
  return url.href;
}

/** The iframes to render for these (client, sid) pairs: clients without a frontchannel_logout_uri get none. */
export async function frontchannelNotices(
  provider: Provider,
  sessions: readonly { clientId: string; sid?: string }[],
): Promise<FrontchannelNotice[]> {
  const notices: FrontchannelNotice[] = [];
  for (const { clientId, sid } of sessions) {
    const client = await provider.Client.find(clientId).catch(() => undefined);
    const uri = client && frontchannelLogoutUrl(client, provider.issuer, sid);
    if (client && uri) notices.push({ clientId, clientName: client.clientName ?? clientId, uri });
  }
  return notices;
}

export type FrontchannelDeps = {
  provider: Provider;
  browserState: BrowserState;
  log: (line: string) => void;
};

/**
 * Wraps oidc-provider's logout confirmation (POST /session/end/confirm, where the back-channel logout
 * tokens go out and the session ends). Before it runs, the middleware reads the session (afterwards the
 * entry of a client logged out alone is gone). After it answered its 303, the middleware
 * - renews the browser state when the IdP session ended (Session Management);
 * - when any app to log out has a frontchannel_logout_uri, replaces the 303 with a page that loads those
 *   URIs (iss and the app's sid added) in hidden iframes and then goes where the 303 pointed
 *   (post_logout_redirect_uri with state, the success page, or the resume of a sign-in as another user).
 * Which apps: every app of the session with logout=yes, otherwise the one the logout request named,
 * exactly as oidc-provider picks the back-channel recipients.
 */
export function frontchannelLogoutMiddleware({ provider, browserState, log }: FrontchannelDeps): ProviderMiddleware {
  const confirmPath = new URL(provider.urlFor("end_session_confirm")).pathname;
  return async (ctx, next) => {
    if (ctx.method !== "POST" || ctx.path !== confirmPath) return next();
    const before = await provider.Session.get(ctx);
    const authorizations = structuredClone(before.authorizations ?? {});
    const requestingClientId = before.state?.clientId;

    await next();
    const oidc = routedOidc(ctx);
    if (oidc?.route !== "end_session_confirm" || ctx.status !== 303) return;

    if (oidc.session?.destroyed && (before.accountId || browserState.read(ctx.get("cookie")))) {
      ctx.append("Set-Cookie", browserState.renew().setCookie);
    }

    const everyApp = Boolean(oidc.params?.logout);
    const loggedOut = Object.entries(authorizations)
      .filter(([clientId]) => everyApp || clientId === requestingClientId)
      .map(([clientId, { sid }]) => ({ clientId, sid }));
    const notices = await frontchannelNotices(provider, loggedOut);
    const continueTo = ctx.response.get("location");
    if (!notices.length || !continueTo) return;

    log(`front-channel logout page for ${notices.map((n) => n.clientId).join(", ")}`);
    ctx.remove("Location");
    ctx.status = 200;
    for (const [name, value] of Object.entries(pageHeaders({ scripts: [FRONTCHANNEL_SCRIPT], frameSrc: notices.map((n) => n.uri) }))) {
      ctx.set(name, value);
    }
    ctx.type = "html";
    ctx.body = frontchannelLogoutPage({ notices, continueTo });
  };
}
