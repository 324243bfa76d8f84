import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSession } from "../support/http-client";
import { bank, confirmIdpLogout, sessionOf, signIn, startTestStack } from "../support/lockstep";
import { nextEnded } from "../support/events";
import type { AppSpec, RunningApp, Stack } from "../../demo/scripts/stack";

/**
 * Liveness against the real demo IdP (oidc-provider) with every push turned off for these apps: no
 * back-channel logout, no front-channel logout registered, so only Lockstep's own re-check at the IdP
 * can learn that the IdP session ended. The IdP's refresh tokens and access tokens expire with its
 * session (oidc-provider's expiresWithSession), so introspection, a refresh and userinfo all see it.
 */
const INTERVAL_S = 5;
/** The promise: refused within the interval, plus the stream's heartbeat (5 s) and the check itself. */
const BOUND_MS = (INTERVAL_S + 10) * 1000;

const noPush: AppSpec["registration"] = { backchannelLogout: false, frontchannelLogout: false };
const liveEnv = { LIVENESS: "on", LIVENESS_INTERVAL_SECONDS: String(INTERVAL_S) };
const apps: AppSpec[] = [
  { ...bank, registration: noPush, env: liveEnv },
  {
    appId: "byuserinfo",
    name: "Lockstep by userinfo",
    clientId: "lockstep-userinfo",
    clientSecret: "userinfo-test-secret-0123456789",
    registration: noPush,
    env: { ...liveEnv, LIVENESS_METHOD: "userinfo" },
  },
  {
    appId: "byrefresh",
    name: "Lockstep by refresh",
    clientId: "lockstep-refresh",
    clientSecret: "refresh-test-secret-0123456789",
    registration: noPush,
    env: { ...liveEnv, LIVENESS_METHOD: "refresh" },
  },
];

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({ apps });
});

afterAll(async () => {
  await stack?.stop();
});

async function signedIn(app: RunningApp, user = "alice") {
  const browser = new HttpSession();
  await signIn(browser, app.url, user, `${user}-password`);
  expect((await sessionOf(browser, app.url)).status).toBe(200);
  return browser;
}

const signOutAtIdp = async (browser: HttpSession) =>
  confirmIdpLogout(browser, await browser.fetch(`${stack.issuer}/session/end`, {}, { follow: true }));

describe("liveness: a sign-out at an IdP that pushes nothing", () => {
  for (const [index, method] of [
    [0, "auto (introspection, else refresh)"],
    [1, "userinfo"],
    [2, "refresh"],
  ] as const) {
    it(`reaches an open tab's stream within the interval + 10 s, as idp_refused by liveness_check (${method})`, async () => {
      const app = stack.apps[index]!;
      const browser = await signedIn(app);
      const stream = await browser.fetch(`${app.url}/api/session/events`);
      expect(stream.status).toBe(200);
      const waiting = nextEnded(stream, BOUND_MS + 5_000);
      await signOutAtIdp(browser);
      const ended = await waiting;
      expect(ended).toMatchObject({ reason: "idp_refused", mechanism: "liveness_check" });
      expect(ended!.afterMs).toBeLessThanOrEqual(BOUND_MS);
      const refused = await sessionOf(browser, app.url);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ error: "unauthorized", reason: "idp_refused" });
    });
  }

  it("refuses a session with no open tab on its first request once the interval has passed (the check runs before the answer)", async () => {
    const app = stack.apps[0]!;
    const browser = await signedIn(app);
    await signOutAtIdp(browser);
    await new Promise((r) => setTimeout(r, INTERVAL_S * 1000 + 500));
    const refused = await sessionOf(browser, app.url);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "unauthorized", reason: "idp_refused" });
  });

  it("ends the session after an admin ends the user's sessions at the IdP (no logout token is sent to these apps)", async () => {
    const app = stack.apps[0]!;
    const browser = await signedIn(app, "bob");
    const stream = await browser.fetch(`${app.url}/api/session/events`);
    const waiting = nextEnded(stream, BOUND_MS + 5_000);
    const sent = await stack.idp.endAllSessions("bob");
    expect(sent.filter((s) => s.client === app.clientId)).toEqual([]);
    expect(await waiting).toMatchObject({ reason: "idp_refused", mechanism: "liveness_check" });
  });

  it("says on the signed-in page how the session is kept in step, with the liveness interval", async () => {
    const app = stack.apps[0]!;
    const browser = await signedIn(app);
    const page = await (await browser.fetch(`${app.url}/account`)).text();
    expect(page).toMatch(/data-testid="kept-in-step"[^>]*>[^<]*re-checked at the IdP every 5 s/i);
  });

  it("keeps a session the IdP still honours: checked several times, still signed in", async () => {
    const app = stack.apps[0]!;
    const browser = await signedIn(app);
    const stream = await browser.fetch(`${app.url}/api/session/events`);
    expect(await nextEnded(stream, INTERVAL_S * 3 * 1000)).toBeUndefined();
    expect((await sessionOf(browser, app.url)).status).toBe(200);
  });

  it("tells the signed-out page how it came: the periodic check, and when the IdP last honoured the session", async () => {
    const app = stack.apps[0]!;
    const browser = await signedIn(app);
    const stream = await browser.fetch(`${app.url}/api/session/events`);
    const waiting = nextEnded(stream, BOUND_MS + 5_000);
    await signOutAtIdp(browser);
    await waiting;
    // The next request clears the cookie and leaves the sealed note the signed-out page reads.
    expect((await sessionOf(browser, app.url)).status).toBe(401);
    const page = await (await browser.fetch(`${app.url}/signed-out`)).text();
    expect(page).toContain('data-reason="idp_refused"');
    expect(page).toContain('data-mechanism="liveness_check"');
  });
});
