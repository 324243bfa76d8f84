// The demo IdP's Front-Channel Logout 1.0 and Session Management 1.0 (OP side), driven over plain HTTP.
import { createHash } from "node:crypto";
import { runInNewContext } from "node:vm";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientMetadata } from "oidc-provider";
import { FRONTCHANNEL_CLIENT_METADATA } from "../idp/frontchannel";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { demoUsers } from "../idp/users";
import { HttpSession, parseForm } from "../../tests/support/http-client";
import {
  authorizationRequest,
  authorize,
  checkCallbackUrl,
  continueLinkOf,
  iframesOf,
  redeem,
  sessionStateMatches,
  startAppServer,
  type AppServer,
  type AuthorizationOptions,
} from "./support";

const BROWSER_STATE = "idp_browser_state";

/** The CSP of a response as directive -> source list. */
function cspOf(res: Response): Record<string, string[]> {
  const directives = (res.headers.get("content-security-policy") ?? "").split(";").map((d) => d.trim().split(/\s+/));
  return Object.fromEntries(directives.map(([name = "", ...sources]) => [name, sources]));
}

/** The page's inline (executable) scripts. */
function inlineScripts(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
}

const hashSource = (script: string) => `'sha256-${createHash("sha256").update(script).digest("base64")}'`;

/**
 * Runs the check_session_iframe's script outside a browser: a fake `document` (the embedded client data
 * and a cookie string) and `window` (its message listener), with Node's Web Crypto, TextEncoder and btoa.
 */
function loadCheckSessionScript(html: string) {
  const data = /<script type="application\/json" id="clients">([\s\S]*?)<\/script>/.exec(html)?.[1];
  const [script] = inlineScripts(html);
  if (data === undefined || script === undefined) throw new Error("not the check_session_iframe page");
  const document = { cookie: "", getElementById: (id: string) => (id === "clients" ? { textContent: data } : null) };
  let listener: ((event: unknown) => void) | undefined;
  const window = { addEventListener: (type: string, fn: (event: unknown) => void) => type === "message" && (listener = fn) };
  runInNewContext(script, { window, document, crypto: globalThis.crypto, TextEncoder, btoa });
  return {
    setCookie(cookie: string) {
      document.cookie = cookie;
    },
    /** Posts `data` from `origin` and resolves with the answer and the origin it was addressed to. */
    ask(data: unknown, origin: string): Promise<{ answer: unknown; targetOrigin: string }> {
      return new Promise((resolve) => {
        listener?.({ data, origin, source: { postMessage: (answer: unknown, targetOrigin: string) => resolve({ answer, targetOrigin }) } });
      });
    },
  };
}

describe("demo IdP front-channel logout and session management", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  const bob = demoUsers.find((u) => u.username === "bob")!;
  let app: AppServer;
  let otherApp: AppServer;
  let idp: RunningIdp;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  let first: DemoClient;
  let second: DemoClient;
  let quiet: DemoClient;
  let plain: DemoClient;
  let checkPage: string;

  const browser = new HttpSession();
  /** First App's sign-in, kept for the session_state checks and the RP-initiated logout. */
  let firstSignIn: { sessionState: string; idToken: string };
  const sids = new Map<string, unknown>();

  const browserState = (session: HttpSession) => session.cookies(idp.issuer)[BROWSER_STATE];
  const isApp = (url: URL) => url.origin !== idp.issuer;
  const frontchannelUrl = (client: DemoClient, sid: unknown) =>
    `${client.appUrl}/api/frontchannel-logout?${new URLSearchParams({ iss: idp.issuer, sid: String(sid) })}`;

  /** Signs in (or uses single sign-on), redeems the code and answers the callback and ID token claims. */
  async function signIn(
    session: HttpSession,
    client: DemoClient,
    credentials?: { username: string; password: string },
    options?: AuthorizationOptions,
  ) {
    const result = await authorize(session, idp.issuer, client, credentials, options);
    expect(result.code, result.page?.html).toEqual(expect.any(String));
    const { status, body } = await redeem(idp.issuer, client, result.code!, result.pending.verifier, result.pending.redirectUri);
    expect(status).toBe(200);
    const { payload } = await jwtVerify(String(body.id_token), jwks, { issuer: idp.issuer, audience: client.clientId });
    return { callback: result.callback!, idToken: String(body.id_token), claims: payload as JWTPayload & { sid?: string } };
  }

  /** GET the end_session_endpoint and answer the confirm page's form. */
  async function confirmPage(session: HttpSession, params: Record<string, string>) {
    const url = new URL(`${idp.issuer}/session/end`);
    url.search = new URLSearchParams(params).toString();
    const res = await session.fetch(url, {}, { follow: true });
    expect(res.status).toBe(200);
    const html = await res.text();
    return { html, url: res.url, form: parseForm(html, "op.logoutForm") };
  }

  beforeAll(async () => {
    app = await startAppServer();
    otherApp = await startAppServer();
    first = {
      clientId: "first-app",
      clientSecret: "first-secret",
      appUrl: app.origin,
      name: "First App",
      backchannelSessionRequired: true,
    };
    second = { clientId: "second-app", clientSecret: "second-secret", appUrl: `${app.origin}/second`, name: `Second <b>"App"</b>` };
    // Back-channel off, front-channel on: sid only reaches its ID tokens through front-channel logout.
    quiet = {
      clientId: "quiet-app",
      clientSecret: "quiet-secret",
      appUrl: `${app.origin}/quiet`,
      name: "Quiet App",
      backchannelLogout: false,
    };
    plain = { clientId: "plain-app", clientSecret: "plain-secret", appUrl: otherApp.origin, name: "Plain App", frontchannelLogout: false };
    idp = await startIdp({ port: 0, clients: [first, second, quiet, plain] });
    jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  });

  afterAll(async () => {
    await idp?.close();
    await app?.close();
    await otherApp?.close();
  });

  it("advertises check_session_iframe and front-channel logout in discovery", async () => {
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      check_session_iframe: `${idp.issuer}/session/check`,
      frontchannel_logout_supported: true,
      frontchannel_logout_session_supported: true,
      backchannel_logout_supported: true,
    });
  });

  it("serves the check_session_iframe: no-store, framable by the apps' origins only, clients embedded, script allowed by hash", async () => {
    const res = await fetch(`${idp.issuer}/session/check`);
    checkPage = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBeNull();

    const csp = cspOf(res);
    expect(csp["default-src"]).toEqual(["'none'"]);
    expect(csp["frame-ancestors"]).toEqual([app.origin, otherApp.origin]);
    const scripts = inlineScripts(checkPage);
    expect(scripts).toHaveLength(1);
    expect(csp["script-src"]).toEqual([hashSource(scripts[0]!)]);
    expect(scripts[0]).toContain("crypto.subtle.digest");

    const data = /<script type="application\/json" id="clients">([\s\S]*?)<\/script>/.exec(checkPage)?.[1];
    expect(JSON.parse(data ?? "null")).toEqual({
      "first-app": [app.origin],
      "second-app": [app.origin],
      "quiet-app": [app.origin],
      "plain-app": [otherApp.origin],
    });

    const head = await fetch(`${idp.issuer}/session/check`, { method: "HEAD" });
    expect(head.status).toBe(200);
    const post = await fetch(`${idp.issuer}/session/check`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("sets a new browser-state cookie when alice signs in and sends session_state with the code", async () => {
    // Walk the sign-in by hand to see the login POST's Set-Cookie.
    const loginPage = await browser.fetch(authorizationRequest(idp.issuer, first).url, {}, { follow: true });
    const login = await browser.submit(parseForm(await loginPage.text()), loginPage.url, { username: "alice", password: alice.password });
    expect(login.status).toBe(303);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith(`${BROWSER_STATE}=`));
    expect(cookie).toMatch(new RegExp(`^${BROWSER_STATE}=[A-Za-z0-9_-]{43}; Path=/; Max-Age=28800; SameSite=Lax$`));
    expect(cookie).not.toMatch(/HttpOnly/i);
    await browser
      .fetch(new URL(login.headers.get("location")!, login.url), {}, { follow: true, stopAt: isApp })
      .then((r) => r.body?.cancel());

    // A fresh authorization request, now answered by single sign-on.
    const signedIn = await signIn(browser, first);
    const sessionState = signedIn.callback.searchParams.get("session_state");
    expect([...signedIn.callback.searchParams.keys()].sort()).toEqual(["code", "iss", "session_state", "state"]);
    expect(sessionState).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+$/);
    expect(sessionStateMatches(sessionState, first.clientId, app.origin, browserState(browser))).toBe(true);
    expect(sessionStateMatches(sessionState, first.clientId, otherApp.origin, browserState(browser))).toBe(false);
    expect(signedIn.claims.sid).toEqual(expect.any(String));
    sids.set(first.clientId, signedIn.claims.sid);
    firstSignIn = { sessionState: sessionState!, idToken: signedIn.idToken };
  });

  it("gives the other apps their own session_state, and sid to every app with a session-required logout channel", async () => {
    const states = new Set<string>();
    for (const client of [second, quiet, plain]) {
      const { callback, claims } = await signIn(browser, client);
      const sessionState = callback.searchParams.get("session_state");
      expect(sessionStateMatches(sessionState, client.clientId, new URL(client.appUrl).origin, browserState(browser))).toBe(true);
      states.add(sessionState!);
      sids.set(client.clientId, claims.sid);
    }
    expect(states.size).toBe(3);
    // second: back-channel without session_required, front-channel with it. quiet: front-channel only.
    expect(sids.get(second.clientId)).toEqual(expect.any(String));
    expect(sids.get(quiet.clientId)).toEqual(expect.any(String));
    // plain: back-channel without session_required and no front-channel logout.
    expect(sids.get(plain.clientId)).toBeUndefined();
    expect(new Set(sids.values()).size).toBe(4);
  });

  it("answers prompt=none with an IdP session straight to the check callback: code and session_state, no page", async () => {
    const { callback, claims } = await signIn(browser, first, undefined, { redirectUri: checkCallbackUrl(first), prompt: "none" });
    expect(`${callback.origin}${callback.pathname}`).toBe(checkCallbackUrl(first));
    expect(sessionStateMatches(callback.searchParams.get("session_state"), first.clientId, app.origin, browserState(browser))).toBe(true);
    expect(claims.sid).toBe(sids.get(first.clientId));

    // PKCE is still required; the error goes to the redirect_uri, with session_state.
    const noPkce = await authorize(browser, idp.issuer, first, undefined, {
      redirectUri: checkCallbackUrl(first),
      prompt: "none",
      pkce: false,
    });
    expect(noPkce.code).toBeUndefined();
    expect(noPkce.callback?.searchParams.get("error")).toBe("invalid_request");
    expect(noPkce.callback?.searchParams.get("error_description")).toMatch(/PKCE/);
    expect(sessionStateMatches(noPkce.callback!.searchParams.get("session_state"), first.clientId, app.origin, browserState(browser))).toBe(
      true,
    );
  });

  it("answers prompt=none without an IdP session with login_required (no session_state without a browser state)", async () => {
    const { callback, code, pending } = await authorize(new HttpSession(), idp.issuer, first, undefined, {
      redirectUri: checkCallbackUrl(first),
      prompt: "none",
    });
    expect(code).toBeUndefined();
    expect(`${callback!.origin}${callback!.pathname}`).toBe(checkCallbackUrl(first));
    expect(callback!.searchParams.get("error")).toBe("login_required");
    expect(callback!.searchParams.get("state")).toBe(pending.state);
    expect(callback!.searchParams.has("session_state")).toBe(false);
  });

  it("check_session_iframe script: unchanged, changed, error", async () => {
    const iframe = loadCheckSessionScript(checkPage);
    const message = `${first.clientId} ${firstSignIn.sessionState}`;
    iframe.setCookie(`other=1; ${BROWSER_STATE}=${browserState(browser)}; idp_session=x`);

    expect(await iframe.ask(message, app.origin)).toEqual({ answer: "unchanged", targetOrigin: app.origin });
    // Another origin than the client's redirect_uris, or a client that does not exist.
    expect(await iframe.ask(message, otherApp.origin)).toEqual({ answer: "error", targetOrigin: otherApp.origin });
    expect((await iframe.ask(`${plain.clientId} ${firstSignIn.sessionState}`, app.origin)).answer).toBe("error");
    expect((await iframe.ask(`nobody ${firstSignIn.sessionState}`, app.origin)).answer).toBe("error");
    expect((await iframe.ask(`__proto__ ${firstSignIn.sessionState}`, app.origin)).answer).toBe("error");
    // Malformed messages.
    const [hash, salt] = firstSignIn.sessionState.split(".");
    for (const bad of [
      firstSignIn.sessionState,
      `${message} x`,
      `${first.clientId}  ${firstSignIn.sessionState}`,
      `${first.clientId} ${hash}`,
      `${first.clientId} ${hash}.`,
      `${first.clientId} .${salt}`,
      ` ${firstSignIn.sessionState}`,
      42,
      null,
    ]) {
      expect((await iframe.ask(bad, app.origin)).answer, String(bad)).toBe("error");
    }
    // A salt or hash that does not fit, another browser state, or none.
    expect((await iframe.ask(`${first.clientId} ${hash}.${salt}x`, app.origin)).answer).toBe("changed");
    iframe.setCookie(`${BROWSER_STATE}=${"A".repeat(43)}`);
    expect((await iframe.ask(message, app.origin)).answer).toBe("changed");
    iframe.setCookie("");
    expect((await iframe.ask(message, app.origin)).answer).toBe("changed");
  });

  it("gives a signed-in browser that lost its browser-state cookie a new one with the next session_state", async () => {
    browser.storeCookies(idp.issuer, [`${BROWSER_STATE}=; Path=/; Max-Age=0`]);
    expect(browserState(browser)).toBeUndefined();
    const { callback } = await signIn(browser, first, undefined, { redirectUri: checkCallbackUrl(first), prompt: "none" });
    expect(browserState(browser)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionStateMatches(callback.searchParams.get("session_state"), first.clientId, app.origin, browserState(browser))).toBe(true);
    // The OP iframe now answers "changed" for the earlier session_state, and the app re-checks (as here).
    expect(sessionStateMatches(firstSignIn.sessionState, first.clientId, app.origin, browserState(browser))).toBe(false);
  });

  it("RP-initiated logout renders one front-channel iframe per app of the session, then goes back with the state", async () => {
    const before = browserState(browser);
    app.deliveries.length = 0;
    otherApp.deliveries.length = 0;
    const postLogoutRedirectUri = `${first.appUrl}/api/logout/callback`;
    const { form, url } = await confirmPage(browser, {
      id_token_hint: firstSignIn.idToken,
      post_logout_redirect_uri: postLogoutRedirectUri,
      state: "st-1",
    });

    const res = await browser.submit(form, url, { logout: "yes" });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get("location")).toBeNull();
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const csp = cspOf(res);
    expect(csp["default-src"]).toEqual(["'none'"]);
    expect(csp["frame-src"]).toEqual([app.origin]);
    expect(csp["frame-ancestors"]).toEqual(["'none'"]);
    expect(csp["script-src"]).toEqual(inlineScripts(html).map(hashSource));

    // Every app of the session with a front-channel URI, with iss and that app's sid; none for plain-app.
    const frames = iframesOf(html);
    expect(frames.map((f) => [f.clientId, f.src.href, f.hidden])).toEqual([
      [first.clientId, frontchannelUrl(first, sids.get(first.clientId)), true],
      [second.clientId, frontchannelUrl(second, sids.get(second.clientId)), true],
      [quiet.clientId, frontchannelUrl(quiet, sids.get(quiet.clientId)), true],
    ]);
    expect(html).toContain(`title="Sign-out notice for Second &lt;b&gt;&quot;App&quot;&lt;/b&gt;"`);
    expect(html).not.toContain("<b>");

    const back = `${postLogoutRedirectUri}?state=st-1`;
    expect(continueLinkOf(html)).toBe(back);
    expect(html).toContain(`<noscript><meta http-equiv="refresh" content="3;url=${back}"></noscript>`);

    // Back-channel still goes out, to the apps that have it (not quiet-app).
    expect([...app.deliveries, ...otherApp.deliveries].map((d) => d.path).sort()).toEqual([
      "/api/backchannel-logout",
      "/api/backchannel-logout",
      "/second/api/backchannel-logout",
    ]);

    // The browser state changed; the IdP session is gone, and errors now carry a session_state for the new one.
    expect(browserState(browser)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(browserState(browser)).not.toBe(before);
    const after = await authorize(browser, idp.issuer, first, undefined, { redirectUri: checkCallbackUrl(first), prompt: "none" });
    expect(after.callback?.searchParams.get("error")).toBe("login_required");
    expect(sessionStateMatches(after.callback!.searchParams.get("session_state"), first.clientId, app.origin, browserState(browser))).toBe(
      true,
    );
  });

  it("logout started at the IdP renders the iframes too, then goes to the IdP's signed-out page", async () => {
    const { claims } = await signIn(browser, first, alice);
    await signIn(browser, plain);
    const before = browserState(browser);

    const { form, url } = await confirmPage(browser, {});
    const res = await browser.submit(form, url, { logout: "yes" });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(iframesOf(html).map((f) => f.src.href)).toEqual([frontchannelUrl(first, claims.sid)]);
    expect(browserState(browser)).not.toBe(before);

    const success = await browser.fetch(continueLinkOf(html));
    expect(new URL(success.url).pathname).toBe("/session/end/success");
    expect(await success.text()).toContain("Signed out of the Lockstep Demo IdP");
  });

  it("signing out of one app only renders that app's iframe and keeps the IdP session and browser state", async () => {
    const { claims } = await signIn(browser, first, alice);
    await signIn(browser, second);
    const before = browserState(browser);

    const { html: confirm, form, url } = await confirmPage(browser, { client_id: first.clientId });
    expect(confirm).toContain("Only sign out of First App");
    const res = await browser.submit(form, url, {});
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(iframesOf(html).map((f) => f.src.href)).toEqual([frontchannelUrl(first, claims.sid)]);
    expect(continueLinkOf(html)).toBe(`${idp.issuer}/session/end/success?client_id=${first.clientId}`);
    expect(browserState(browser)).toBe(before);

    const silent = await signIn(browser, second, undefined, { redirectUri: checkCallbackUrl(second), prompt: "none" });
    expect(sessionStateMatches(silent.callback.searchParams.get("session_state"), second.clientId, app.origin, before)).toBe(true);
  });

  it("the admin's End all sessions renders the ended sessions' iframes and changes the browser state of its own browser", async () => {
    // This browser's session has second-app (above); add quiet-app. Another browser signs alice in to first-app.
    const secondSid = (await signIn(browser, second)).claims.sid;
    const quietSid = (await signIn(browser, quiet)).claims.sid;
    const otherBrowser = new HttpSession();
    const firstSid = (await signIn(otherBrowser, first, alice)).claims.sid;
    const [mine, theirs] = [browserState(browser), browserState(otherBrowser)];

    const res = await browser.fetch(`${idp.issuer}/admin/end-sessions`, {
      method: "POST",
      headers: { origin: idp.issuer },
      body: new URLSearchParams({ username: "alice" }),
    });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain("Ended 2 IdP sessions of <strong>alice</strong>.");
    expect(cspOf(res)["frame-src"]).toEqual([app.origin]);
    expect(inlineScripts(html)).toEqual([]);
    expect(
      iframesOf(html)
        .map((f) => f.src.href)
        .sort(),
    ).toEqual([frontchannelUrl(first, firstSid), frontchannelUrl(second, secondSid), frontchannelUrl(quiet, quietSid)].sort());
    expect(html).toContain(`<code>${frontchannelUrl(quiet, quietSid).replaceAll("&", "&amp;")}</code>`);

    expect(browserState(browser)).not.toBe(mine);
    expect(browserState(otherBrowser)).toBe(theirs);

    // Nothing to end: no iframes, and the browser state stays.
    const current = browserState(browser);
    const nothing = await browser.fetch(`${idp.issuer}/admin/end-sessions`, {
      method: "POST",
      headers: { origin: idp.issuer },
      body: new URLSearchParams({ username: "alice" }),
    });
    expect(iframesOf(await nothing.text())).toEqual([]);
    expect(browserState(browser)).toBe(current);
  });

  it("signing in as someone else ends the previous session through the front-channel page and resumes the sign-in", async () => {
    const { claims } = await signIn(browser, first, alice);
    const result = await authorize(browser, idp.issuer, first, undefined, { prompt: "login" });
    expect(result.page?.status).toBe(200);
    const login = await browser.submit(
      parseForm(result.page!.html),
      result.page!.url,
      { username: "bob", password: bob.password },
      { follow: true },
    );
    // oidc-provider's self-submitting form to end alice's session.
    expect(login.status).toBe(200);
    const endAlice = await browser.submit(parseForm(await login.text()), login.url, {});
    const html = await endAlice.text();
    expect(endAlice.status).toBe(200);
    expect(iframesOf(html).map((f) => f.src.href)).toEqual([frontchannelUrl(first, claims.sid)]);

    const resumed = await browser.fetch(continueLinkOf(html), {}, { follow: true, stopAt: isApp });
    expect(resumed.status).toBe(303);
    const callback = new URL(resumed.headers.get("location")!);
    expect(callback.searchParams.get("state")).toBe(result.pending.state);
    expect(sessionStateMatches(callback.searchParams.get("session_state"), first.clientId, app.origin, browserState(browser))).toBe(true);
    const { body } = await redeem(idp.issuer, first, callback.searchParams.get("code")!, result.pending.verifier);
    const { payload } = await jwtVerify(String(body.id_token), jwks, { issuer: idp.issuer, audience: first.clientId });
    expect(payload.sub).toBe(bob.sub);
    expect(payload.sid).not.toBe(claims.sid);
  });
});

describe("front-channel client metadata", () => {
  const redirectUris = ["http://localhost:3000/cb"];
  const validate = (key: string, value: unknown) => {
    const metadata: Record<string, unknown> = { redirect_uris: redirectUris, [key]: value };
    FRONTCHANNEL_CLIENT_METADATA.validator!(undefined, key, value, metadata as ClientMetadata);
    return metadata;
  };
  const failure = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error as { error?: string; error_description?: string };
    }
    return undefined;
  };

  it("accepts a URI on a redirect_uri's origin and defaults session_required to false", () => {
    expect(() => validate("frontchannel_logout_uri", "http://localhost:3000/fcl?x=1")).not.toThrow();
    expect(() => validate("frontchannel_logout_uri", undefined)).not.toThrow();
    expect(validate("frontchannel_logout_session_required", undefined).frontchannel_logout_session_required).toBe(false);
    expect(validate("frontchannel_logout_session_required", true).frontchannel_logout_session_required).toBe(true);
  });

  it("rejects other origins, fragments, relative URIs and non-booleans", () => {
    for (const uri of [
      "http://localhost:3001/fcl",
      "https://localhost:3000/fcl",
      "http://localhost:3000/fcl#x",
      "/fcl",
      "javascript:alert(1)",
      42,
    ]) {
      const error = failure(() => validate("frontchannel_logout_uri", uri));
      expect(error?.error, String(uri)).toBe("invalid_client_metadata");
      expect(error?.error_description, String(uri)).toMatch(/^frontchannel_logout_uri must/);
    }
    expect(failure(() => validate("frontchannel_logout_session_required", "yes"))?.error_description).toBe(
      "frontchannel_logout_session_required must be a boolean",
    );
  });

  it("is what the running provider validates clients with", async () => {
    const idp = await startIdp({ port: 0, clients: [{ clientId: "a", clientSecret: "s", appUrl: "http://localhost:3000", name: "A" }] });
    try {
      // Client.validate() is oidc-provider's own (untyped here): it builds the client as registration would.
      const { validate: validateClient } = idp.provider.Client as unknown as { validate(metadata: Record<string, unknown>): Promise<void> };
      const metadata = { client_id: "b", client_secret: "s", redirect_uris: redirectUris };
      await expect(validateClient({ ...metadata, frontchannel_logout_uri: "http://localhost:3000/fcl" })).resolves.toBeUndefined();
      await expect(validateClient({ ...metadata, frontchannel_logout_uri: "http://localhost:9/fcl" })).rejects.toMatchObject({
        error_description: "frontchannel_logout_uri must have the scheme, host and port of a redirect_uri",
      });
    } finally {
      await idp.close();
    }
  });
});
