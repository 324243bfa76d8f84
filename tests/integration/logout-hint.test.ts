import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSession, parseForm } from "../support/http-client";
import { bank, sessionOf, signIn, startTestStack } from "../support/lockstep";
import type { Stack } from "../../demo/scripts/stack";

/**
 * RP-Initiated Logout 1.0 §2 with `OIDC_END_SESSION_ID_TOKEN_HINT=post`: the ID token goes to the
 * IdP as `id_token_hint` in a form the browser posts (the OP supports POST at its end_session_endpoint),
 * never in a URL and never to a script: the account page does not ask for the JSON answer, and
 * asking for it anyway still gets the auto-submitted page.
 */
let stack: Stack;
let app: string;

beforeAll(async () => {
  stack = await startTestStack({ apps: [{ ...bank, env: { OIDC_END_SESSION_ID_TOKEN_HINT: "post" } }] });
  app = stack.apps[0]!.url;
});

afterAll(async () => {
  await stack?.stop();
});

async function signedIn(): Promise<HttpSession> {
  const browser = new HttpSession();
  const landed = await signIn(browser, app, "alice", "alice-password");
  expect(new URL(landed.url).pathname).toBe("/account");
  return browser;
}

describe("RP-initiated logout with the ID token hint posted", () => {
  it("the account page's sign-out forms are left to the browser (no script sends them)", async () => {
    const page = await (await (await signedIn()).fetch(`${app}/account`)).text();
    expect(page).toContain('data-signout="this"');
    expect(page).not.toContain('data-fetch="json"');
  });

  it("answers even a request for JSON with the auto-submitted page, the hint in its form", async () => {
    const browser = await signedIn();
    const answer = await browser.fetch(`${app}/api/logout`, { method: "POST", headers: { origin: app, accept: "application/json" } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toContain("text/html");
    const form = parseForm(await answer.text());
    expect(new URL(form.action).origin).toBe(new URL(stack.issuer).origin);
    expect(form.fields.id_token_hint).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(new URL(form.action).searchParams.get("id_token_hint")).toBeNull();
    expect((await sessionOf(browser, app)).status).toBe(401);
    // The same cookies as the redirect: the session's cleared, the logout state set for the callback.
    const cookies = answer.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith(`${bank.appId}.logout-state=`))).toBe(true);
    // The demo IdP, like oidc-provider by default, takes no POST at its end_session_endpoint (that needs
    // SameSite=None cookies), so this test stops at the page the browser would post.
  });
});
