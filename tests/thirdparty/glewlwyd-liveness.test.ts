import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSession } from "../support/http-client";
import { nextEnded } from "../support/events";
import {
  signInThroughGlewlwyd,
  startGlewlwydStack,
  type Glewlwyd,
  type GlewlwydStack,
  type RunningThirdpartyApp,
} from "../support/glewlwyd";

/**
 * Liveness (lib/liveness) against glewlwyd 2.7.5, which pushes nothing Lockstep accepts (its logout
 * tokens lack exp, tests/thirdparty/glewlwyd.test.ts) and advertises no push in its metadata. The user
 * signs out at glewlwyd, not through Lockstep; whether Lockstep can learn of it depends on what that
 * sign-out does to the client's tokens at glewlwyd:
 * - its end-session page ends the OIDC session (DELETE /api/oidc/session/<sid>), which revokes the
 *   session's refresh and access tokens; the portal's "revoke all tokens" revokes them too;
 * - its portal's plain "Log out" (DELETE /api/auth/) revokes nothing: no method can see it.
 * Of the three methods only introspection reads glewlwyd's refusal: its refresh grant answers a revoked
 * token with an empty 400 (no invalid_grant, RFC 6749 §5.2), which Lockstep rightly does not take as
 * a refusal, and the userinfo method refreshes once after a 401 and gets the same.
 */
const INTERVAL_S = 5;
/** The promise: refused within the interval, plus the stream's heartbeat (5 s) and the check itself. */
const BOUND_MS = (INTERVAL_S + 10) * 1000;
const liveEnv = { LIVENESS: "on", LIVENESS_INTERVAL_SECONDS: String(INTERVAL_S) };

let stack: GlewlwydStack;
let idp: Glewlwyd;
let auto: RunningThirdpartyApp;
let byRefresh: RunningThirdpartyApp;
let byUserinfo: RunningThirdpartyApp;

beforeAll(async () => {
  stack = await startGlewlwydStack({
    apps: [
      { appId: "gwlive", env: liveEnv },
      { appId: "gwrefresh", env: { ...liveEnv, LIVENESS_METHOD: "refresh" } },
      { appId: "gwuserinfo", env: { ...liveEnv, LIVENESS_METHOD: "userinfo" } },
    ],
  });
  idp = stack.glewlwyd;
  [auto, byRefresh, byUserinfo] = stack.apps as [RunningThirdpartyApp, RunningThirdpartyApp, RunningThirdpartyApp];
});

afterAll(async () => {
  await stack?.stop();
});

async function signedIn(app: RunningThirdpartyApp) {
  const browser = new HttpSession();
  const landed = await signInThroughGlewlwyd(browser, idp, app.url);
  expect(landed.url).toBe(`${app.url}/account`);
  expect((await browser.fetch(`${app.url}/api/session`)).status).toBe(200);
  const stream = await browser.fetch(`${app.url}/api/session/events`);
  expect(stream.status).toBe(200);
  return { browser, stream };
}

/**
 * The user signs out on glewlwyd's end-session page with its "Log out" button, as another application's
 * RP-initiated logout opens it (login.html?prompt=end_session&sid=…): the page's script ends glewlwyd's
 * OIDC session and its portal session. Its front-channel frames are not loaded (a browser closed too
 * soon, or a frame blocked): only liveness can tell Lockstep.
 */
async function signOutOnEndSessionPage(browser: HttpSession, app: RunningThirdpartyApp) {
  const page = new URL(`${idp.url}/login.html`);
  const sid = idp.oidcSid(browser);
  expect(sid).toBeTruthy();
  for (const [k, v] of Object.entries({ sid: sid!, plugin: "oidc", client_id: app.clientId, prompt: "end_session" }))
    page.searchParams.set(k, v);
  const { deleted } = await idp.endSessionPage(browser, page, async () => new Response(null, { status: 204 }));
  expect(deleted).toBe(200);
  expect((await browser.fetch(`${idp.url}/api/profile_list`)).status).toBe(401);
}

const refusedAsIdp = async (browser: HttpSession, app: RunningThirdpartyApp) => {
  const refused = await browser.fetch(`${app.url}/api/session`);
  expect(refused.status).toBe(401);
  expect(await refused.json()).toEqual({ error: "unauthorized", reason: "idp_refused" });
};

describe("liveness against glewlwyd (LIVENESS=on, LIVENESS_INTERVAL_SECONDS=5)", () => {
  it("auto (introspection, RFC 7662 §2.2 active:false): a sign-out on glewlwyd's end-session page reaches an open tab's stream within the interval + 10 s, as idp_refused", async () => {
    const { browser, stream } = await signedIn(auto);
    const waiting = nextEnded(stream, BOUND_MS + 5_000);
    await signOutOnEndSessionPage(browser, auto);
    const ended = await waiting;
    expect(ended).toMatchObject({ reason: "idp_refused", mechanism: "liveness_check" });
    expect(ended!.afterMs).toBeLessThanOrEqual(BOUND_MS);
    await refusedAsIdp(browser, auto);
  });

  it("auto: the portal's 'Log out' with 'revoke all tokens' (DELETE /api/oidc/token/) is seen the same way", async () => {
    const { browser, stream } = await signedIn(auto);
    const waiting = nextEnded(stream, BOUND_MS + 5_000);
    expect((await idp.portalSignOutRevokingTokens(browser)).status).toBe(200);
    const ended = await waiting;
    expect(ended).toMatchObject({ reason: "idp_refused", mechanism: "liveness_check" });
    expect(ended!.afterMs).toBeLessThanOrEqual(BOUND_MS);
    await refusedAsIdp(browser, auto);
  });

  it("refuses a session with no open tab on its first request once the interval has passed", async () => {
    const browser = new HttpSession();
    await signInThroughGlewlwyd(browser, idp, auto.url);
    expect((await browser.fetch(`${auto.url}/api/session`)).status).toBe(200);
    await signOutOnEndSessionPage(browser, auto);
    await new Promise((r) => setTimeout(r, INTERVAL_S * 1000 + 500));
    await refusedAsIdp(browser, auto);
  });

  it("limit: the portal's plain 'Log out' (DELETE /api/auth/) revokes no token at glewlwyd, so nothing can see it: the session stays", async () => {
    const { browser, stream } = await signedIn(auto);
    const waiting = nextEnded(stream, BOUND_MS);
    expect((await idp.portalSignOut(browser)).status).toBe(200);
    expect((await browser.fetch(`${idp.url}/api/profile_list`)).status).toBe(401);
    expect(await waiting).toBeUndefined();
    expect((await browser.fetch(`${auto.url}/api/session`)).status).toBe(200);
  });

  for (const [name, app] of [
    ["refresh", () => byRefresh],
    ["userinfo", () => byUserinfo],
  ] as const) {
    it(`limit: LIVENESS_METHOD=${name} cannot see the end-session sign-out: glewlwyd refuses the refresh grant with an empty 400, not invalid_grant (RFC 6749 §5.2)`, async () => {
      const { browser, stream } = await signedIn(app());
      const waiting = nextEnded(stream, BOUND_MS);
      await signOutOnEndSessionPage(browser, app());
      expect(await waiting).toBeUndefined();
      expect((await browser.fetch(`${app().url}/api/session`)).status).toBe(200);
      // The check ran, and took the answer for trouble at the IdP, not for a refusal.
      const own = stack.lines.filter((l) => l.startsWith(`[${app().appId}]`) && l.includes('"event":"liveness.check"'));
      expect(own.some((l) => l.includes('"code":"unexpected_answer"') && l.includes(`"method":"${name}"`))).toBe(true);
    });
  }
});
