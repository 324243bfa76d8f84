import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Redis as IORedis } from "ioredis";
import { HttpSession, parseForm } from "../support/http-client";
import { testRedisUrl } from "../support/require-redis";
import {
  signInThroughGlewlwyd,
  startGlewlwydStack,
  type Glewlwyd,
  type GlewlwydStack,
  type RunningThirdpartyApp,
} from "../support/glewlwyd";
import { appKeys } from "@/lib/store/keys";
import type { SessionRecord } from "@/lib/session/record";
import type { CoverageReport } from "@/lib/liveness/coverage";
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Lockstep against glewlwyd 2.7.5 (Debian's package), an OpenID provider nobody on this project wrote:
 * sign-in, RP-initiated logout, and each sign-out path glewlwyd has. Liveness is off here, so that each
 * test sees one mechanism alone (tests/thirdparty/glewlwyd-liveness.test.ts has liveness). What glewlwyd
 * does, and why, is in docs/idp/glewlwyd.md.
 */
let stack: GlewlwydStack;
let idp: Glewlwyd;
let app: RunningThirdpartyApp;
/** The same, with OIDC_END_SESSION_ID_TOKEN_HINT=post. */
let postApp: RunningThirdpartyApp;
let redis: IORedis;

beforeAll(async () => {
  stack = await startGlewlwydStack({
    apps: [
      { appId: "gw", env: { LIVENESS: "off" } },
      { appId: "gwpost", env: { LIVENESS: "off", OIDC_END_SESSION_ID_TOKEN_HINT: "post" } },
    ],
  });
  idp = stack.glewlwyd;
  [app, postApp] = stack.apps as [RunningThirdpartyApp, RunningThirdpartyApp];
  redis = new IORedis(testRedisUrl);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

type SessionJson = {
  user: { sub: string; name?: string; email?: string };
  session: { id: string; idp: { iss: string; sid?: string } };
};

async function signedIn(target: RunningThirdpartyApp = app) {
  const browser = new HttpSession();
  const landed = await signInThroughGlewlwyd(browser, idp, target.url);
  expect(landed.status).toBe(200);
  expect(landed.url).toBe(`${target.url}/account`);
  const answer = await browser.fetch(`${target.url}/api/session`);
  expect(answer.status).toBe(200);
  return { browser, session: (await answer.json()) as SessionJson };
}

async function record(target: RunningThirdpartyApp, sessionId: string): Promise<SessionRecord> {
  const raw = await redis.get(appKeys(stack.keyPrefix, target.appId).session(sessionId));
  expect(raw).not.toBeNull();
  return JSON.parse(raw!) as SessionRecord;
}

/** RFC 7662 §2.1 with the client's own credentials (client_secret_basic, the only method glewlwyd offers for it). */
async function introspect(target: RunningThirdpartyApp, token: string): Promise<{ active: boolean }> {
  const answer = await fetch(`${idp.issuer}/introspect`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${target.clientId}:${target.clientSecret}`).toString("base64")}` },
    body: new URLSearchParams({ token }),
    signal: AbortSignal.timeout(5000),
  });
  expect(answer.status).toBe(200);
  return (await answer.json()) as { active: boolean };
}

const securityLines = (event: string) => stack.lines.filter((l) => l.includes('"kind":"security"') && l.includes(`"event":"${event}"`));

describe("glewlwyd's metadata (OpenID Connect Discovery 1.0 §3)", () => {
  it("advertises what Lockstep uses: RS256, client_secret_basic, introspection, end_session and check_session_iframe; no logout push", () => {
    const d = idp.discovery;
    expect(d.issuer).toBe(idp.issuer);
    expect(d.id_token_signing_alg_values_supported).toContain("RS256");
    expect(d.token_endpoint_auth_methods_supported).toContain("client_secret_basic");
    expect(d.introspection_endpoint).toBe(`${idp.issuer}/introspect`);
    expect(d.introspection_endpoint_auth_methods_supported).toEqual(["client_secret_basic"]);
    expect(d.end_session_endpoint).toBe(`${idp.issuer}/end_session`);
    expect(d.check_session_iframe).toBe(`${idp.issuer}/check_session_iframe`);
    // It sends front- and back-channel logout (below) but says neither, so LIVENESS=auto turns liveness on.
    expect(d.backchannel_logout_supported).toBeUndefined();
    expect(d.frontchannel_logout_supported).toBeUndefined();
  });
});

describe("npm run idp:check against glewlwyd", () => {
  it("reports liveness on (nothing pushes), by introspection first, as what carries a sign-out at the IdP", async () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const { stdout } = await run(
      path.join(root, "node_modules/.bin/tsx"),
      [path.join(root, "scripts/idp-check.ts"), idp.issuer, "--json"],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? "", NODE_ENV: "test" },
        timeout: 60_000,
      },
    );
    const output = JSON.parse(stdout) as { issuer: { matches?: boolean }; report: CoverageReport };
    expect(output.issuer.matches).toBe(true);
    expect(output.report.liveness).toMatchObject({ enabled: true, because: "no_push", intervalSeconds: 60 });
    expect(output.report.liveness.methods[0]).toBe("introspection");
    const signOut = output.report.kinds.find((k) => k.kind === "idp_sign_out")!;
    expect(signOut.carriers.map((c) => c.mechanism)).toContain("liveness");
    expect(signOut.carriers.map((c) => c.mechanism)).not.toContain("backchannel");
  });
});

describe("sign-in (OpenID Connect Core 1.0 §3.1, authorization code flow)", () => {
  it("signs in through glewlwyd's login page; /api/session answers 200 with the user's name and email", async () => {
    const { browser, session } = await signedIn();
    expect(session.user).toMatchObject({ name: idp.testUser.name, email: idp.testUser.email });
    expect(session.session.idp.iss).toBe(idp.issuer);
    // Core §2 / Session Management: glewlwyd puts its OIDC session's id in the ID token.
    expect(session.session.idp.sid).toBe(idp.oidcSid(browser));
    const page = await (await browser.fetch(`${app.url}/account`)).text();
    expect(page).toContain(idp.testUser.name);
  });

  it("holds a refresh token that glewlwyd's introspection reports active (RFC 7662 §2.2)", async () => {
    const { session } = await signedIn();
    const held = await record(app, session.session.id);
    expect(held.refreshToken).toBeTruthy();
    expect(await introspect(app, held.refreshToken!)).toMatchObject({ active: true });
  });

  it("refreshes the server-held access token at glewlwyd when it nears expiry (RFC 6749 §6)", async () => {
    const { browser, session } = await signedIn();
    const key = appKeys(stack.keyPrefix, app.appId).session(session.session.id);
    const before = await record(app, session.session.id);
    await redis.set(key, JSON.stringify({ ...before, accessTokenExpiresAt: Date.now() }), "KEEPTTL");
    const answer = await browser.fetch(`${app.url}/api/userinfo`);
    expect(answer.status).toBe(200);
    const after = await record(app, session.session.id);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.accessTokenExpiresAt).toBeGreaterThan(Date.now());
  });

  it("serves /api/userinfo with the server-held access token (OpenID Connect Core §5.3)", async () => {
    const { browser } = await signedIn();
    const answer = await browser.fetch(`${app.url}/api/userinfo`);
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { claims: { sub: string; email?: string } };
    expect(body.claims.email).toBe(idp.testUser.email);
  });
});

describe("client authentication at glewlwyd (RFC 6749 §2.3.1)", () => {
  it("compares client_secret_basic credentials without form-decoding them: a secret with '-' sent encoded, as RFC 6749 §2.3.1 and oauth4webapi do, is refused", async () => {
    const clientId = "basicprobe";
    const secret = "with-dash_and.dot~0123456789";
    const created = await idp.admin.fetch(`${idp.url}/api/client/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_id: clientId,
        client_secret: secret,
        confidential: true,
        enabled: true,
        redirect_uri: [`${app.url}/x`],
        authorization_type: ["code"],
        token_endpoint_auth_method: ["client_secret_basic"],
        scope: [],
      }),
    });
    expect(created.status).toBe(200);
    const formEncode = (v: string) =>
      encodeURIComponent(v).replace(/[-_.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const ask = (user: string, password: string) =>
      fetch(`${idp.issuer}/introspect`, {
        method: "POST",
        headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` },
        body: new URLSearchParams({ token: "unknown" }),
        signal: AbortSignal.timeout(5000),
      });
    expect((await ask(clientId, secret)).status).toBe(200);
    expect((await ask(formEncode(clientId), formEncode(secret))).status).toBe(401);
  });
});

/** RP-Initiated Logout 1.0 §2: Lockstep's redirect to the end_session_endpoint (never with the ID token in it). */
function endSessionRedirect(response: Response, target: RunningThirdpartyApp): URL {
  expect(response.status).toBe(303);
  const url = new URL(response.headers.get("location")!);
  expect(`${url.origin}${url.pathname}`).toBe(`${idp.issuer}/end_session`);
  expect(url.searchParams.get("id_token_hint")).toBeNull();
  expect(url.searchParams.get("client_id")).toBe(target.clientId);
  expect(url.searchParams.get("post_logout_redirect_uri")).toBe(`${target.url}/api/logout/callback`);
  expect(url.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return url;
}

describe("RP-initiated logout (RP-Initiated Logout 1.0)", () => {
  it("§2: ends the Lockstep session and sends the browser to end_session, which without id_token_hint answers an empty 200: no return, glewlwyd stays signed in", async () => {
    const { browser } = await signedIn();
    const toIdp = await browser.fetch(`${app.url}/api/logout`, { method: "POST", headers: { origin: app.url } });
    const endSession = endSessionRedirect(toIdp, app);
    expect((await browser.fetch(`${app.url}/api/session`)).status).toBe(401);

    const atIdp = await browser.fetch(endSession, {}, { follow: true });
    expect(atIdp.status).toBe(200);
    expect(atIdp.url).toBe(endSession.href);
    expect(await atIdp.text()).toBe("");
    // glewlwyd ended nothing: its session cookie still signs the user in to its own API.
    expect((await browser.fetch(`${idp.url}/api/profile_list`)).status).toBe(200);
    // The signed-out page says the browser went to the IdP, and does not claim it came back.
    const page = await (await browser.fetch(`${app.url}/signed-out`)).text();
    expect(page).toContain('data-reason="logout"');
    expect(page).toContain('data-idp="sent"');
  });

  it("§2: with OIDC_END_SESSION_ID_TOKEN_HINT=post, the form POST to end_session is answered 404 (glewlwyd's end_session is GET only)", async () => {
    const { browser } = await signedIn(postApp);
    const answer = await browser.fetch(`${postApp.url}/api/logout`, { method: "POST", headers: { origin: postApp.url } });
    expect(answer.status).toBe(200);
    const form = parseForm(await answer.text());
    expect(form.method).toBe("POST");
    expect(form.action).toBe(`${idp.issuer}/end_session`);
    expect(form.fields.id_token_hint).toBeTruthy();
    expect((await browser.fetch(`${postApp.url}/api/session`)).status).toBe(401);
    const atIdp = await browser.submit(form, answer.url);
    expect(atIdp.status).toBe(404);
    expect((await browser.fetch(`${idp.url}/api/profile_list`)).status).toBe(200);
  });

  it("§3: comes back to /api/logout/callback with the state when end_session gets a valid id_token_hint over GET (what Lockstep never sends)", async () => {
    const { browser, session } = await signedIn();
    const held = await record(app, session.session.id);
    const toIdp = await browser.fetch(`${app.url}/api/logout`, { method: "POST", headers: { origin: app.url } });
    const endSession = endSessionRedirect(toIdp, app);
    endSession.searchParams.set("id_token_hint", held.idToken);

    const page = await browser.fetch(endSession);
    expect(page.status).toBe(302);
    const confirm = new URL(page.headers.get("location")!);
    expect(`${confirm.origin}${confirm.pathname}`).toBe(`${idp.url}/login.html`);
    expect(confirm.searchParams.get("prompt")).toBe("end_session");
    expect(confirm.searchParams.get("sid")).toBe(session.session.idp.sid);
    expect(confirm.searchParams.get("callback_url")).toBe(`${app.url}/api/logout/callback?state=${endSession.searchParams.get("state")}`);

    const { frames, deleted, back } = await idp.endSessionPage(browser, confirm);
    expect(frames.map((f) => f.status)).toEqual([200]);
    expect(deleted).toBe(200);
    expect(back!.status).toBe(200);
    expect(back!.url).toBe(`${app.url}/signed-out`);
    const signedOut = await back!.text();
    expect(signedOut).toContain('data-reason="logout"');
    expect(signedOut).toContain('data-idp="returned"');
    // glewlwyd's session is over, and with it the grant Lockstep held.
    expect((await browser.fetch(`${idp.url}/api/profile_list`)).status).toBe(401);
    expect(await introspect(app, held.refreshToken!)).toEqual({ active: false });
  });
});

describe("glewlwyd's end-session page: front-channel frames (Front-Channel Logout 1.0 §2)", () => {
  it("frames Lockstep with iss and the ID token's sid; Lockstep ends that session (frontchannel_logout)", async () => {
    const { browser, session } = await signedIn();
    const other = await signedIn(); // another browser, another glewlwyd session: untouched
    const sid = idp.oidcSid(browser)!;
    const pageUrl = new URL(`${idp.url}/login.html`);
    for (const [k, v] of Object.entries({ sid, plugin: "oidc", client_id: app.clientId, prompt: "end_session" }))
      pageUrl.searchParams.set(k, v);

    let afterFrame: Response | undefined;
    const { frames } = await idp.endSessionPage(browser, pageUrl, async (frame) => {
      // An iframe on glewlwyd's site: the browser sends it no SameSite=Lax cookie of the app's.
      const answer = await new HttpSession().fetch(frame, { signal: AbortSignal.timeout(10_000) });
      afterFrame = await browser.fetch(`${app.url}/api/session`);
      return answer;
    });
    expect(frames).toHaveLength(1);
    const frame = new URL(frames[0]!.url);
    expect(`${frame.origin}${frame.pathname}`).toBe(`${app.url}/api/frontchannel-logout`);
    expect(frame.searchParams.get("iss")).toBe(idp.issuer);
    expect(frame.searchParams.get("sid")).toBe(session.session.idp.sid);
    expect(frames[0]!.status).toBe(200);
    // Ended by the frame alone, before the page went on to end glewlwyd's session.
    expect(afterFrame!.status).toBe(401);
    expect(await afterFrame!.json()).toEqual({ error: "unauthorized", reason: "frontchannel_logout" });
    expect(securityLines("frontchannel_logout").some((l) => l.includes('"outcome":"ok"'))).toBe(true);
    expect((await other.browser.fetch(`${app.url}/api/session`)).status).toBe(200);
  });
});

describe("glewlwyd's back-channel logout tokens (Back-Channel Logout 1.0 §2.4)", () => {
  it("a logout token without exp (glewlwyd follows draft 06) is refused as missing_exp; the session stays", async () => {
    const { browser } = await signedIn();
    const sid = idp.oidcSid(browser)!;
    const before = securityLines("backchannel_logout").length;
    // What the end-session page does first: glewlwyd ends its OIDC session and posts logout tokens.
    const ended = await browser.fetch(`${idp.issuer}/session/${sid}`, { method: "DELETE" });
    expect(ended.status).toBe(200);
    await vi.waitFor(() => expect(securityLines("backchannel_logout").length).toBeGreaterThan(before), { timeout: 10_000, interval: 100 });
    const line = securityLines("backchannel_logout").slice(before).join("\n");
    expect(line).toContain('"outcome":"rejected"');
    expect(line).toContain('"code":"missing_exp"');
    // Nothing ended it here (liveness is off in this file): the session runs on.
    expect((await browser.fetch(`${app.url}/api/session`)).status).toBe(200);
  });
});

describe("Session Management 1.0", () => {
  it("§3.3: glewlwyd's check_session_iframe refuses to be framed (X-Frame-Options: deny) and answers only origins containing its own host", async () => {
    const answer = await fetch(String(idp.discovery.check_session_iframe), { signal: AbortSignal.timeout(5000) });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-frame-options")).toBe("deny");
    // Its script: a postMessage from another origin (Lockstep's) gets no answer at all.
    expect(await answer.text()).toContain("if (origin.indexOf(host) !==-1)");
  });
});

describe("Session Management 1.0 §3.1: the silent prompt=none re-check, driven directly (a browser never starts it with glewlwyd, above)", () => {
  /** What the hidden iframe does once the OP's check_session_iframe says "changed": returns the callback page's message. */
  async function recheck(browser: HttpSession): Promise<string> {
    const answer = await browser.fetch(`${app.url}/api/session/check`, { signal: AbortSignal.timeout(20_000) }, { follow: true });
    expect(answer.status).toBe(200);
    expect(answer.url).toMatch(new RegExp(`^${app.url}/api/session/check/callback\\?`));
    return answer.text();
  }

  it("after the portal's plain sign-out at glewlwyd, glewlwyd answers interaction_required and Lockstep ends the session", async () => {
    const { browser } = await signedIn();
    expect((await idp.portalSignOut(browser)).status).toBe(200);
    expect(await recheck(browser)).toContain('"result":"ended"');
    const refused = await browser.fetch(`${app.url}/api/session`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "unauthorized", reason: "idp_session_changed" });
  });

  it("while glewlwyd is still signed in, it refuses prompt=none without id_token_hint (invalid_request) and the session stays", async () => {
    const { browser } = await signedIn();
    const message = await recheck(browser);
    expect(message).toContain('"result":"error"');
    expect(message).toContain('"code":"invalid_request"');
    expect((await browser.fetch(`${app.url}/api/session`)).status).toBe(200);
  });
});
