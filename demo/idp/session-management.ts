// OpenID Connect Session Management 1.0, OP side, for the demo IdP (oidc-provider 9 dropped it):
// a browser-state cookie, `session_state` in authorization responses and the check_session_iframe.
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Client, KoaContextWithOIDC, Provider, UnknownObject } from "oidc-provider";
import { readCookie, sendHtml } from "./http";
import { errorPage, escapeHtml, IDP_NAME, jsonForScript, pageHeaders } from "./pages";
import { routedOidc, type ProviderMiddleware } from "./provider-middleware";

export const BROWSER_STATE_COOKIE = "idp_browser_state";
export const CHECK_SESSION_PATH = "/session/check";

/** What `BrowserState.renew()` writes: 32 random bytes, base64url. Anything else in the cookie is ignored. */
const BROWSER_STATE_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/**
 * The OP browser state of SM 1.0 §3: a random value in a cookie that the check_session_iframe's script
 * reads, renewed whenever the end-user signs in and whenever the IdP session ends.
 *
 * Not HttpOnly, since the iframe's script reads it. Cross-site iframes only see SameSite=None cookies, and
 * those need Secure, so https. The demo runs on http://localhost, where SameSite=Lax is used instead: an
 * app at http://localhost:3000 framing http://localhost:4000/session/check is same-site (ports do not
 * count), so the iframe still reads the cookie.
 */
export class BrowserState {
  readonly #attributes: string;

  constructor({ secure, maxAgeSeconds }: { secure: boolean; maxAgeSeconds: number }) {
    this.#attributes = `Path=/; Max-Age=${maxAgeSeconds}; ${secure ? "SameSite=None; Secure" : "SameSite=Lax"}`;
  }

  /** The browser state in a Cookie request header, or undefined. */
  read(cookieHeader: string | undefined): string | undefined {
    const value = readCookie(cookieHeader, BROWSER_STATE_COOKIE);
    return value !== undefined && BROWSER_STATE_FORMAT.test(value) ? value : undefined;
  }

  /** A new random browser state and the Set-Cookie header value that stores it. */
  renew(): { value: string; setCookie: string } {
    const value = randomBytes(32).toString("base64url");
    return { value, setCookie: `${BROWSER_STATE_COOKIE}=${value}; ${this.#attributes}` };
  }
}

/**
 * SM 1.0 §3 (the computation its §4.2 example uses):
 * base64url(sha256(client_id + " " + rp_origin + " " + browser_state + " " + salt)) + "." + salt.
 */
export function computeSessionState(
  clientId: string,
  rpOrigin: string,
  browserState: string,
  salt = randomBytes(16).toString("base64url"),
): string {
  const hash = createHash("sha256").update(`${clientId} ${rpOrigin} ${browserState} ${salt}`, "utf8").digest("base64url");
  return `${hash}.${salt}`;
}

/** The origin the RP's iframe posts from: that of the redirect_uri the response goes to. */
function redirectOrigin(client: Client, redirectUri: unknown): string | undefined {
  if (typeof redirectUri !== "string" || !client.redirectUris?.includes(redirectUri)) return undefined;
  const origin = URL.parse(redirectUri)?.origin;
  return origin && origin !== "null" ? origin : undefined;
}

/**
 * Adds `session_state` to every successful authorization response (code, state, iss, ... in whatever
 * response mode) and, for query and fragment responses, to errors sent to the redirect_uri while the
 * browser has a browser state (e.g. login_required for prompt=none).
 *
 * Success: oidc-provider emits `authorization.success` with the response parameters just before it hands
 * them to the response mode, so a synchronous listener can add one. A signed-in browser without a browser
 * state cookie (deleted, expired) gets a new one here. Errors are not emitted with their parameters, so a
 * middleware rewrites the 303 Location instead.
 */
export function installSessionState(provider: Provider, browserState: BrowserState): void {
  provider.on("authorization.success", (ctx: KoaContextWithOIDC, out?: UnknownObject) => {
    // The device flow emits the same event, without parameters and without a redirect.
    const client = ctx.oidc.client;
    const origin = client && redirectOrigin(client, ctx.oidc.params?.redirect_uri);
    if (!out || !client || !origin) return;
    let state = browserState.read(ctx.get("cookie"));
    if (!state) {
      const renewed = browserState.renew();
      ctx.append("Set-Cookie", renewed.setCookie);
      state = renewed.value;
    }
    out.session_state = computeSessionState(client.clientId, origin, state);
  });

  const onErrors: ProviderMiddleware = async (ctx, next) => {
    await next();
    const oidc = routedOidc(ctx);
    if ((oidc?.route !== "authorization" && oidc?.route !== "resume") || ctx.status !== 303 || !oidc.client) return;
    const state = browserState.read(ctx.get("cookie"));
    const redirectUri = oidc.params?.redirect_uri;
    const origin = redirectOrigin(oidc.client, redirectUri);
    const location = URL.parse(ctx.response.get("location"));
    const target = URL.parse(String(redirectUri));
    if (!state || !origin || !location || !target || location.origin !== target.origin || location.pathname !== target.pathname) return;

    const sessionState = computeSessionState(oidc.client.clientId, origin, state);
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.has("error") && !fragment.has("session_state")) {
      fragment.set("session_state", sessionState);
      location.hash = fragment.toString();
    } else if (location.searchParams.has("error") && !location.searchParams.has("session_state")) {
      location.searchParams.set("session_state", sessionState);
    } else {
      return;
    }
    ctx.redirect(location.href);
  };
  provider.use(onErrors);
}

/**
 * The check_session_iframe's script (SM 1.0 §3.2), allowed by its hash. The RP's iframe posts
 * `client_id + " " + session_state`; the answer goes back to the sender's origin:
 * - "error": not a string of exactly two space-separated parts, no "." in session_state, an unknown
 *   client, or an origin that is not one of that client's redirect_uri origins;
 * - "changed": no browser state cookie, or the hash does not match the current browser state;
 * - "unchanged": sha256(client_id + " " + origin + " " + browser_state + " " + salt) is the hash.
 * A String.raw template, so the regular expressions' backslashes reach the browser as written.
 */
export const CHECK_SESSION_SCRIPT = String.raw`
"use strict";
(() => {
  const allowedOrigins = JSON.parse(document.getElementById("clients").textContent);
  const browserState = () => {
    for (const pair of document.cookie.split(";")) {
      const eq = pair.indexOf("=");
      if (eq > 0 && pair.slice(0, eq).trim() === ${JSON.stringify(BROWSER_STATE_COOKIE)}) return pair.slice(eq + 1).trim();
    }
    return "";
  };
  const base64url = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const answer = async (data, origin) => {
    if (typeof data !== "string") return "error";
    const parts = data.split(" ");
    if (parts.length !== 2) return "error";
    const [clientId, sessionState] = parts;
    const dot = sessionState.lastIndexOf(".");
    if (!clientId || dot < 1 || dot === sessionState.length - 1) return "error";
    if (!Object.hasOwn(allowedOrigins, clientId) || !allowedOrigins[clientId].includes(origin)) return "error";
    const state = browserState();
    if (!state) return "changed";
    const salt = sessionState.slice(dot + 1);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(clientId + " " + origin + " " + state + " " + salt));
    return base64url(digest) === sessionState.slice(0, dot) ? "unchanged" : "changed";
  };
  window.addEventListener("message", (event) => {
    const source = event.source;
    if (!source) return;
    answer(event.data, event.origin)
      .catch(() => "error")
      .then((result) => source.postMessage(result, event.origin))
      .catch(() => {});
  });
})();
`;

/** A registered client as the check_session_iframe sees it. */
export type CheckSessionClient = { clientId: string; appUrl: string; redirectUris: readonly string[] };

export type CheckSessionEndpoint = {
  handle(req: IncomingMessage, res: ServerResponse): void;
};

/**
 * `GET /session/check`: the check_session_iframe. The page is the same for every request (the clients are
 * static), so it is rendered once: the clients' allowed origins as JSON data, the script, and a CSP that
 * lets only the apps' origins frame it.
 */
export function createCheckSession(clients: readonly CheckSessionClient[]): CheckSessionEndpoint {
  const allowedOrigins: Record<string, string[]> = {};
  for (const client of clients) {
    const origins = client.redirectUris.map((uri) => URL.parse(uri)?.origin).filter((o): o is string => !!o && o !== "null");
    allowedOrigins[client.clientId] = [...new Set(origins)];
  }
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(`Session check — ${IDP_NAME}`)}</title>
<script type="application/json" id="clients">${jsonForScript(allowedOrigins)}</script>
<script>${CHECK_SESSION_SCRIPT}</script>
</head>
<body></body>
</html>`;
  const headers = pageHeaders({ scripts: [CHECK_SESSION_SCRIPT], frameAncestors: clients.map((c) => c.appUrl) });

  return {
    handle(req, res) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        sendHtml(res, 405, errorPage("method_not_allowed", "The session check page only answers GET."), { allow: "GET, HEAD" });
        return;
      }
      res.writeHead(200, { ...headers, "content-type": "text/html; charset=utf-8" });
      res.end(req.method === "HEAD" ? undefined : html);
    },
  };
}

/** Whether a request is for the check_session_iframe (any method; `handle` answers 405 to the wrong ones). */
export function isCheckSessionRequest(url: string | undefined): boolean {
  return URL.parse(url ?? "/", "http://idp.invalid")?.pathname === CHECK_SESSION_PATH;
}
