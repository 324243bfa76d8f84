// The demo IdP's admin page: list who is signed in where, and end all of a user's sessions.
//
// DEMO ONLY: the admin page is unauthenticated. That is acceptable here only because the demo IdP
// listens on loopback and its users are public test accounts. Do not copy it into a real IdP, where
// it would have to sit behind administrator sign-in (and its own CSRF protection beyond an Origin check).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Provider } from "oidc-provider";
import type { DemoStore } from "./adapter";
import { frontchannelNotices } from "./frontchannel";
import { BadRequest, readCookie, readForm, sendFailure, sendHtml } from "./http";
import type { SigningKeys } from "./keys";
import { isLoopbackUrl, loopbackDemoFetch } from "./loopback-fetch";
import {
  adminPage,
  adminResultPage,
  adminSsfResultPage,
  errorPage,
  pageHeaders,
  type AdminDelivery,
  type AdminResult,
  type AdminSsfView,
  type AdminUserRow,
} from "./pages";
import type { BrowserState } from "./session-management";
import { isUserEventKind, USER_EVENT_KINDS, USER_EVENT_LABELS } from "./ssf/events";
import type { Transmitter } from "./ssf/transmitter";
import { demoUsers, type DemoUser } from "./users";

export type AdminRoute = "page" | "end-sessions" | "ssf-event";

const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";
/** As long as oidc-provider gives its own logout tokens. */
const LOGOUT_TOKEN_TTL_SECONDS = 120;
/** oidc-provider's timeout for its own outgoing requests. */
const DELIVERY_TIMEOUT_MS = 2500;

const ROUTES: Record<string, { route: AdminRoute; methods: readonly string[] }> = {
  "/admin": { route: "page", methods: ["GET", "HEAD"] },
  "/admin/end-sessions": { route: "end-sessions", methods: ["POST"] },
  "/admin/ssf-event": { route: "ssf-event", methods: ["POST"] },
};

/** The admin route for a request, `"wrong-method"` for an admin path with another method, else undefined. */
export function matchAdminRoute(method: string | undefined, url: string | undefined): AdminRoute | "wrong-method" | undefined {
  const entry = ROUTES[URL.parse(url ?? "/", "http://idp.invalid")?.pathname ?? ""];
  if (!entry) return undefined;
  return entry.methods.includes(method ?? "") ? entry.route : "wrong-method";
}

/**
 * Cross-site request check for the admin POST: the browser must send an Origin (every current browser
 * does on a form POST) naming the IdP's own origin, or the origin the page was opened at (e.g.
 * http://127.0.0.1:<port> rather than the issuer's http://localhost:<port>), and then it must also
 * say Sec-Fetch-Site: same-origin. Sec-Fetch-Site alone is not enough.
 */
export function isSameOriginPost(req: IncomingMessage, issuerOrigin: string): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  if (origin === issuerOrigin) return true;
  return req.headers["sec-fetch-site"] === "same-origin" && req.headers.host !== undefined && origin === `http://${req.headers.host}`;
}

/**
 * POSTs a form to a client's back-channel logout URI through the demo's loopback fetch and answers the
 * HTTP status. Only literal loopback URIs are contacted: without oidc-provider's SSRF-guarded dispatcher
 * (which it only hands to its own requests) nothing else would be safe to call.
 */
async function postForm(uri: string, fields: Record<string, string>): Promise<number> {
  if (!isLoopbackUrl(uri)) throw new Error(`not a loopback URI: ${uri}`);
  const response = await loopbackDemoFetch(uri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
    signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
  });
  await response.body?.cancel();
  return response.status;
}

export type AdminDeps = {
  provider: Provider;
  store: DemoStore;
  keys: SigningKeys;
  /** Renewed in the admin's browser when the sessions ended include that browser's own. */
  browserState: BrowserState;
  /** The name of oidc-provider's session cookie (its value is the session id). */
  sessionCookie: string;
  /** Registered client ids, in registration order. */
  clientIds: readonly string[];
  /** The SSF transmitter: the page lists its streams and deliveries, and sends user events through it. */
  ssf: Transmitter;
  log: (line: string) => void;
};

export type EndedSessions = AdminResult & {
  /** Ids of the IdP sessions that were ended. */
  sessionIds: string[];
};

export type Admin = {
  /**
   * Ends every IdP session of the user, sends a sub-only logout token to each app it had a session at and
   * answers, besides, the front-channel logout URIs (iss and sid added) of each app in each ended session.
   */
  endAllSessions(username: string): Promise<EndedSessions>;
  /** POSTs `logout_token` (plus `ignored_parameter=x`) to the client's back-channel logout URI; answers the status. */
  sendLogoutToken(clientId: string, token: string): Promise<number>;
  handle(req: IncomingMessage, res: ServerResponse, route: AdminRoute | "wrong-method"): Promise<void>;
};

function findDemoUser(username: string): DemoUser {
  const user = demoUsers.find((u) => u.username === username.trim().toLowerCase());
  if (!user) throw new BadRequest("There is no demo user with that username.");
  return user;
}

/** How many of the transmitter's latest delivery records the admin page shows. */
const RECENT_DELIVERIES = 20;

export function createAdmin({ provider, store, keys, browserState, sessionCookie, clientIds, ssf, log }: AdminDeps): Admin {
  const issuerOrigin = new URL(provider.issuer).origin;

  async function clientName(clientId: string): Promise<string> {
    return (await provider.Client.find(clientId))?.clientName ?? clientId;
  }

  /** Registered clients the user has a session with, in registration order. */
  function sessionClientIds(user: DemoUser): string[] {
    const ids = new Set(store.sessionsOf(user.sub).flatMap((s) => Object.keys(s.payload.authorizations ?? {})));
    return [...clientIds.filter((id) => ids.has(id)), ...[...ids].filter((id) => !clientIds.includes(id))];
  }

  async function userRows(): Promise<AdminUserRow[]> {
    return Promise.all(
      demoUsers.map(async (user) => ({
        username: user.username,
        name: user.name,
        email: user.email,
        sessionCount: store.sessionsOf(user.sub).length,
        clients: await Promise.all(sessionClientIds(user).map(async (clientId) => ({ clientId, name: await clientName(clientId) }))),
      })),
    );
  }

  function ssfView(): AdminSsfView {
    return {
      kinds: USER_EVENT_KINDS.map((kind) => ({ kind, label: USER_EVENT_LABELS[kind] })),
      streams: ssf.summaries(),
      deliveries: ssf.api.deliveries().slice(-RECENT_DELIVERIES).reverse(),
    };
  }

  async function deliver(user: DemoUser, clientId: string): Promise<AdminDelivery | undefined> {
    const client = await provider.Client.find(clientId);
    const uri = client?.backchannelLogoutUri;
    if (!client || !uri) return undefined;
    const iat = Math.floor(Date.now() / 1000);
    // No sid: a logout token with only sub means "every session of this user at this app".
    const claims = {
      iss: provider.issuer,
      aud: clientId,
      iat,
      exp: iat + LOGOUT_TOKEN_TTL_SECONDS,
      jti: randomUUID(),
      sub: user.sub,
      events: { [BACKCHANNEL_EVENT]: {} },
    };
    const token = await keys.sign(claims, { alg: "RS256", header: { typ: "logout+jwt" } });
    const delivery: AdminDelivery = { clientId, clientName: client.clientName ?? clientId, uri, claims, status: 0 };
    try {
      delivery.status = await postForm(uri, { logout_token: token });
      log(`admin: logout token for ${user.username} sent to ${clientId}: HTTP ${delivery.status}`);
    } catch (error) {
      delivery.error = error instanceof Error ? error.message : String(error);
      log(`admin: logout token for ${user.username} to ${clientId} failed: ${delivery.error}`);
    }
    return delivery;
  }

  async function endAllSessions(username: string): Promise<EndedSessions> {
    const user = findDemoUser(username);
    const sessions = store.sessionsOf(user.sub);
    const targets = sessionClientIds(user);
    // One front-channel iframe per app per ended session, each with that session's sid for the app.
    const order = (clientId: string) => (clientIds.includes(clientId) ? clientIds.indexOf(clientId) : clientIds.length);
    const sids = sessions
      .flatMap(({ payload }) => Object.entries(payload.authorizations ?? {}).map(([clientId, { sid }]) => ({ clientId, sid })))
      .sort((a, b) => order(a.clientId) - order(b.clientId));
    const frontchannel = await frontchannelNotices(provider, sids);
    // End the sessions before telling the apps, so an app that reacts by sending the user back to sign
    // in cannot be let through by single sign-on. Grants go as oidc-provider's own logout takes them:
    // all but those meant to outlive the session.
    for (const { id, payload } of sessions) {
      for (const { grantId, persistsLogout } of Object.values(payload.authorizations ?? {})) {
        if (grantId && !persistsLogout) store.revokeGrant(grantId);
      }
      store.delete("Session", id);
    }
    log(`admin: ended ${sessions.length} IdP session(s) of ${user.username}`);
    const deliveries = (await Promise.all(targets.map((clientId) => deliver(user, clientId)))).filter((d) => d !== undefined);
    return { username: user.username, sessionsEnded: sessions.length, deliveries, frontchannel, sessionIds: sessions.map((s) => s.id) };
  }

  async function sendLogoutToken(clientId: string, token: string): Promise<number> {
    const uri = (await provider.Client.find(clientId))?.backchannelLogoutUri;
    if (!uri) throw new Error(`client ${clientId} is unknown or has no back-channel logout URI`);
    return postForm(uri, { logout_token: token, ignored_parameter: "x" });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, route: AdminRoute | "wrong-method"): Promise<void> {
    try {
      if (route === "wrong-method") {
        const allow = URL.parse(req.url ?? "/", "http://idp.invalid")?.pathname === "/admin" ? "GET, HEAD" : "POST";
        sendHtml(res, 405, errorPage("method_not_allowed", "This admin address does not take that kind of request."), { allow });
        return;
      }
      if (route === "page") {
        sendHtml(res, 200, adminPage(await userRows(), ssfView()));
        return;
      }
      if (!isSameOriginPost(req, issuerOrigin)) {
        sendHtml(res, 403, errorPage("forbidden", "This action only accepts the form on the IdP's own admin page."));
        return;
      }
      const form = await readForm(req);
      if (route === "ssf-event") {
        const user = findDemoUser(form.get("username") ?? "");
        const kind = form.get("kind") ?? "";
        if (!isUserEventKind(kind)) throw new BadRequest("There is no such Shared Signals event.");
        const sets = await ssf.emitUserEvent(user, kind);
        sendHtml(res, 200, adminSsfResultPage({ username: user.username, label: USER_EVENT_LABELS[kind], sets }));
        return;
      }
      const result = await endAllSessions(form.get("username") ?? "");
      const headers = pageHeaders({ frameSrc: result.frontchannel.map((n) => n.uri) });
      // Session Management: the browser state changes in the browser whose IdP session just ended. Other
      // browsers of the user keep theirs until they next sign in or out here; back-channel covers them.
      const ownSession = readCookie(req.headers.cookie, sessionCookie);
      if (ownSession && result.sessionIds.includes(ownSession)) headers["set-cookie"] = browserState.renew().setCookie;
      sendHtml(res, 200, adminResultPage(result), headers);
    } catch (error) {
      sendFailure(res, error, log, "The admin action failed");
    }
  }

  return { endAllSessions, sendLogoutToken, handle };
}
