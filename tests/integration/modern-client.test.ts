/**
 * "A modern client" against the demo IdP (oidc-provider): client_secret_post and private_key_jwt for
 * Auth.js's code exchange and for Lockstep's own requests (refresh, PAR), Pushed Authorization
 * Requests where the IdP offers them and where it requires them, and the authorization response's
 * `iss` (RFC 9207) on both callbacks. The demo IdP records how each request authenticated
 * (`clientAuthentications`): it accepts client_secret_basic and _post interchangeably, so a 200 alone
 * would not show the method. The cases the demo IdP cannot make (no PAR endpoint, a push failing in
 * transit) are in tests/unit/par.test.ts.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis as IORedis } from "ioredis";
import { HttpSession, parseForm } from "../support/http-client";
import { sessionOf, signIn, startTestStack } from "../support/lockstep";
import { testRedis } from "../support/test-redis";
import type { AppSpec, RunningApp, Stack } from "../../demo/scripts/stack";
import { appKeys } from "@/lib/store/keys";
import type { SessionRecord } from "@/lib/session/record";

/** This app's client key, made here: the IdP gets the public half, the app the private one. */
function clientKey(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    privateJwk: { ...privateKey.export({ format: "jwk" }), kid, alg: "ES256" },
    publicJwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" },
  };
}
const jwtKey = clientKey("lockstep-jwt-1");
const unknownKey = clientKey("lockstep-unknown-1");

const apps = {
  post: {
    appId: "post",
    name: "Lockstep Post",
    clientId: "lockstep-post",
    clientSecret: "post-test-secret-0123456789",
    registration: { tokenEndpointAuthMethod: "client_secret_post" },
    // The request in the URL, as before PAR: this app shows the method alone.
    env: { OIDC_CLIENT_AUTH_METHOD: "client_secret_post", OIDC_PAR: "off" },
  },
  jwt: {
    appId: "jwt",
    name: "Lockstep Jwt",
    clientId: "lockstep-jwt",
    clientSecret: "unused-jwt-secret-0123456789",
    registration: { tokenEndpointAuthMethod: "private_key_jwt", jwks: { keys: [jwtKey.publicJwk] } },
    // No secret at all: the key is the only credential. PAR at its default (auto): pushed with the key too.
    env: { OIDC_CLIENT_AUTH_METHOD: "private_key_jwt", OIDC_CLIENT_PRIVATE_KEY: JSON.stringify(jwtKey.privateJwk), OIDC_CLIENT_SECRET: "" },
  },
  par: {
    appId: "par",
    name: "Lockstep Par",
    clientId: "lockstep-par",
    clientSecret: "par-test-secret-0123456789",
  },
  parRequired: {
    appId: "parreq",
    name: "Lockstep Par Required",
    clientId: "lockstep-par-required",
    clientSecret: "parreq-test-secret-0123456789",
    registration: { requirePushedAuthorizationRequests: true },
    env: { OIDC_PAR: "require" },
  },
  wrongKey: {
    appId: "wrongkey",
    name: "Lockstep Wrong Key",
    clientId: "lockstep-wrong-key",
    clientSecret: "unused-wrongkey-secret-0123456789",
    // The IdP knows another key than the one this app signs with.
    registration: { tokenEndpointAuthMethod: "private_key_jwt", jwks: { keys: [unknownKey.publicJwk] } },
    env: { OIDC_CLIENT_AUTH_METHOD: "private_key_jwt", OIDC_CLIENT_PRIVATE_KEY: JSON.stringify(jwtKey.privateJwk), OIDC_CLIENT_SECRET: "" },
  },
} satisfies Record<string, AppSpec>;

let stack: Stack;
let redis: IORedis;
const running: Record<keyof typeof apps, RunningApp> = {} as Record<keyof typeof apps, RunningApp>;

beforeAll(async () => {
  stack = await startTestStack({ apps: Object.values(apps) });
  for (const [name, spec] of Object.entries(apps)) {
    running[name as keyof typeof apps] = stack.apps.find((a) => a.appId === spec.appId)!;
  }
  redis = await testRedis();
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** How the IdP saw `clientId` authenticate from now on, as `endpoint method status` lines. */
function authentications(clientId: string) {
  const from = stack.idp.clientAuthentications.length;
  return () =>
    stack.idp.clientAuthentications
      .slice(from)
      .filter((a) => a.clientId === clientId)
      .map((a) => `${a.endpoint} ${a.method} ${a.status}`);
}

async function signedIn(app: RunningApp) {
  const browser = new HttpSession();
  const landed = await signIn(browser, app.url, "alice", "alice-password");
  expect(new URL(landed.url).pathname).toBe("/account");
  const response = await sessionOf(browser, app.url);
  expect(response.status).toBe(200);
  const { session } = (await response.json()) as { session: { id: string } };
  return { browser, sessionId: session.id };
}

/** Makes the session's access token due, so that the next call that needs it refreshes it first. */
async function expireAccessToken(app: RunningApp, sessionId: string): Promise<void> {
  const key = appKeys(stack.keyPrefix, app.appId).session(sessionId);
  const record = JSON.parse((await redis.get(key))!) as SessionRecord;
  await redis.set(key, JSON.stringify({ ...record, accessTokenExpiresAt: Date.now() }), "KEEPTTL");
}

/** Signs in, then calls userinfo once with the access token and once after a refresh. */
async function signInRefreshAndCallUserinfo(app: RunningApp) {
  const { browser, sessionId } = await signedIn(app);
  expect((await browser.fetch(`${app.url}/api/userinfo`)).status).toBe(200);
  await expireAccessToken(app, sessionId);
  const answer = await browser.fetch(`${app.url}/api/userinfo`);
  expect(answer.status).toBe(200);
  expect(((await answer.json()) as { claims: { name?: string } }).claims.name).toBe("Alice Example");
  return browser;
}

/** The sign-in POST, answered but not followed: where Auth.js (and Lockstep's push) sends the browser. */
async function startSignIn(browser: HttpSession, app: RunningApp): Promise<Response> {
  const csrf = (await (await browser.fetch(`${app.url}/api/auth/csrf`)).json()) as { csrfToken: string };
  return browser.fetch(`${app.url}/api/auth/signin/oidc`, {
    method: "POST",
    body: new URLSearchParams({ csrfToken: csrf.csrfToken, callbackUrl: `${app.url}/account` }),
  });
}

describe("client authentication (OIDC_CLIENT_AUTH_METHOD)", () => {
  it("signs in, refreshes and calls userinfo with client_secret_post: the secret in the body at every token request (RFC 6749 §2.3.1)", async () => {
    const seen = authentications(apps.post.clientId);
    await signInRefreshAndCallUserinfo(running.post);
    // Auth.js's code exchange, then Lockstep's own refresh.
    expect(seen()).toEqual(["token client_secret_post 200", "token client_secret_post 200"]);
  });

  it("signs in, refreshes and calls userinfo with private_key_jwt, the IdP holding only the public key (RFC 7523 §2.2, Core §9)", async () => {
    const seen = authentications(apps.jwt.clientId);
    await signInRefreshAndCallUserinfo(running.jwt);
    // Lockstep's push, Auth.js's code exchange (aud = [issuer, token endpoint]), Lockstep's refresh (aud = issuer).
    const [push, ...tokens] = seen();
    expect(tokens).toEqual(["token private_key_jwt 200", "token private_key_jwt 200"]);
    // The client has no secret at the IdP, so the accepted push was authenticated by the key (the
    // wrong-key case below is refused there). The IdP's record cannot name the method of a successful
    // push: oidc-provider replaces the request's parameters with the authorization parameters once
    // the client is authenticated, so the recorder finds no client_assertion left to see.
    expect(push).toMatch(/^pushed_authorization_request \S+ 201$/);
  });

  it("answers a sign-in whose push the IdP refuses (a key it does not know) with the sign-in error page and a code, not Auth.js's", async () => {
    const seen = authentications(apps.wrongKey.clientId);
    const browser = new HttpSession();
    const answer = await startSignIn(browser, running.wrongKey);
    expect(answer.status).toBe(303);
    const location = new URL(answer.headers.get("location")!);
    expect(`${location.pathname}${location.search}`).toBe("/api/auth/sign-in-error?code=par_refused");
    const page = await browser.fetch(location);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-code="par_refused"');
    expect(seen()).toEqual(["pushed_authorization_request private_key_jwt 401"]);
  });
});

describe("Pushed Authorization Requests (RFC 9126)", () => {
  it("pushes the sign-in's request where the IdP offers PAR (OIDC_PAR=auto): the browser carries client_id and request_uri only (RFC 9126 §4)", async () => {
    const seen = authentications(apps.par.clientId);
    const browser = new HttpSession();
    const toIdp = await startSignIn(browser, running.par);
    expect(toIdp.status).toBe(302);
    const location = new URL(toIdp.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe(`${stack.issuer}/auth`);
    expect([...location.searchParams.keys()]).toEqual(["client_id", "request_uri"]);
    expect(location.searchParams.get("request_uri")).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    // Auth.js's state, PKCE and nonce cookies are set as without PAR.
    const cookies = browser.cookies(running.par.url);
    for (const name of ["par.state", "par.pkce", "par.nonce"]) expect(cookies[name]).toBeTruthy();
    expect(seen()).toEqual(["pushed_authorization_request client_secret_basic 201"]);

    const login = await browser.fetch(location, {}, { follow: true });
    const landed = await browser.submit(
      parseForm(await login.text()),
      login.url,
      { username: "alice", password: "alice-password" },
      { follow: true },
    );
    expect(new URL(landed.url).pathname).toBe("/account");
    expect((await sessionOf(browser, running.par.url)).status).toBe(200);
  });

  it("pushes the request of the home page's sign-in button too (the server action in auth.ts)", async () => {
    const seen = authentications(apps.par.clientId);
    const browser = new HttpSession();
    const home = await browser.fetch(running.par.url);
    const form = parseForm(await home.text());
    // The button's form without scripts: a multipart POST naming the action, as a browser sends it.
    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) body.set(name, value);
    const toIdp = await browser.fetch(running.par.url, { method: "POST", body, headers: { origin: running.par.url } });
    expect(toIdp.status).toBe(303);
    const location = new URL(toIdp.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe(`${stack.issuer}/auth`);
    expect([...location.searchParams.keys()]).toEqual(["client_id", "request_uri"]);
    expect(seen()).toEqual(["pushed_authorization_request client_secret_basic 201"]);

    const login = await browser.fetch(location, {}, { follow: true });
    const landed = await browser.submit(
      parseForm(await login.text()),
      login.url,
      { username: "alice", password: "alice-password" },
      { follow: true },
    );
    expect(new URL(landed.url).pathname).toBe("/account");
  });

  it("signs in to a client the IdP requires PAR of (OIDC_PAR=require), whose requests in a URL the IdP refuses (RFC 9126 §6)", async () => {
    const { browser, sessionId } = await signedIn(running.parRequired);
    expect(sessionId).toBeTruthy();
    expect((await browser.fetch(`${running.parRequired.url}/api/userinfo`)).status).toBe(200);

    // The same request sent the old way, in the URL: the IdP refuses it for this client.
    const direct = new URL(`${stack.issuer}/auth`);
    for (const [name, value] of Object.entries({
      client_id: apps.parRequired.clientId,
      response_type: "code",
      redirect_uri: `${running.parRequired.url}/api/auth/callback/oidc`,
      scope: "openid",
      state: "s".repeat(43),
      nonce: "n".repeat(43),
      code_challenge: "c".repeat(43),
      code_challenge_method: "S256",
    }))
      direct.searchParams.set(name, value);
    const refused = await new HttpSession().fetch(direct, {}, { follow: true, stopAt: (url) => url.origin !== stack.issuer });
    const back = new URL(refused.headers.get("location")!);
    expect(back.searchParams.get("error")).toBe("invalid_request");
    expect(back.searchParams.get("error_description")).toMatch(/Pushed Authorization Request must be used/);
  });
});

describe("the authorization response's issuer (RFC 9207 §2.4)", () => {
  /** Runs a sign-in up to the IdP's redirect back to the app; answers that redirect's URL, not yet fetched. */
  async function toCallback(browser: HttpSession, app: RunningApp, path: string, start: () => Promise<Response>): Promise<URL> {
    const first = await start();
    const atApp = (url: URL) => url.origin === app.url && url.pathname === path;
    let answer = await browser.fetch(new URL(first.headers.get("location")!, app.url), {}, { follow: true, stopAt: atApp });
    if (answer.status === 200) {
      // The IdP's login form (no IdP session in this browser yet).
      answer = await browser.submit(
        parseForm(await answer.text()),
        answer.url,
        { username: "alice", password: "alice-password" },
        { follow: true, stopAt: atApp },
      );
    }
    const callback = new URL(answer.headers.get("location")!, answer.url);
    expect(callback.pathname).toBe(path);
    expect(callback.searchParams.get("iss")).toBe(stack.issuer);
    return callback;
  }
  const withIss = (url: URL, iss: string) => {
    const tampered = new URL(url);
    tampered.searchParams.set("iss", iss);
    return tampered;
  };

  it("refuses a sign-in callback whose iss is not the IdP's before its code is exchanged; the genuine one then completes", async () => {
    const app = running.par;
    const seen = authentications(apps.par.clientId);
    const browser = new HttpSession();
    const callback = await toCallback(browser, app, "/api/auth/callback/oidc", () => startSignIn(browser, app));

    const refused = await browser.fetch(withIss(callback, "http://evil.example"));
    expect(refused.status).toBe(303);
    expect(new URL(refused.headers.get("location")!).search).toBe("?code=iss_mismatch");
    expect((await sessionOf(browser, app.url)).status).toBe(401);
    expect(seen().filter((line) => line.startsWith("token "))).toEqual([]);

    // The code was never taken to the token endpoint, and Auth.js's state is still this browser's.
    const landed = await browser.fetch(callback, {}, { follow: true });
    expect(new URL(landed.url).pathname).toBe("/account");
    expect((await sessionOf(browser, app.url)).status).toBe(200);
  });

  it("pushes the silent re-check's request, and refuses its answer with a wrong iss without a code exchange (SM §3.1)", async () => {
    const app = running.par;
    const { browser } = await signedIn(app);
    const seen = authentications(apps.par.clientId);
    const callback = await toCallback(browser, app, "/api/session/check/callback", async () => {
      const start = await browser.fetch(`${app.url}/api/session/check`);
      expect(start.status).toBe(303);
      expect([...new URL(start.headers.get("location")!).searchParams.keys()]).toEqual(["client_id", "request_uri"]);
      return start;
    });
    expect(seen()).toEqual(["pushed_authorization_request client_secret_basic 201"]);

    const refused = await browser.fetch(withIss(callback, "http://evil.example"));
    expect(await refused.text()).toContain('"result":"error","code":"iss_mismatch"');
    expect(seen().filter((line) => line.startsWith("token "))).toEqual([]);
    expect((await sessionOf(browser, app.url)).status).toBe(200);
  });
});
