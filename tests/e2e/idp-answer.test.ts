import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { closeBrowser, launchBrowser, signInWithBrowser } from "../support/browser";
import { bank, startTestStack } from "../support/lockstep";
import { demoLines } from "../../demo/scripts/output";
import type { Stack } from "../../demo/scripts/stack";

/**
 * After an RP-initiated logout that came back with our state, the signed-out page asks the IdP's
 * check_session_iframe whether its own session ended, and says what it answered: plainly signed out
 * there too after "Yes, sign me out" (nothing more offered), still signed in there after "Only sign
 * out of <app>" (with the button to end it there). Without an answer it says only what the state
 * proves, and offers the button.
 *
 * The stack's output (what `npm run demo` prints, through demo/scripts/output.ts) is checked here too:
 * one line per log call, the Shared Signals stream in one sentence, and no authorization code or
 * state of the browser's sign-in and sign-out in any line.
 */
let stack: Stack;
let browser: Browser;
let bankUrl: string;
const contexts: BrowserContext[] = [];
/** Every call of the stack's `log`, as it came. */
const logged: { source: string; text: string }[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    apps: [{ ...bank, ssf: "push", env: { SESSION_CHECK_INTERVAL_MS: "500" } }],
    log: (source, text) => logged.push({ source, text }),
  });
  bankUrl = stack.apps[0]!.url;
  browser = await launchBrowser();
});

afterAll(async () => {
  await closeBrowser(browser, contexts);
  await stack?.stop();
});

const body = (page: Page) => page.getByTestId("signed-out-body");
const idpButton = (page: Page) => page.getByRole("button", { name: "Sign out at your identity provider too" });
/** The values of a sign-in's or sign-out's callback URLs that must never be printed. */
const secrets = new Set<string>();

/** A signed-in Bank tab whose session iframe has heard "unchanged" from the IdP at least once. */
async function signedInTab(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!url.pathname.startsWith("/api/auth/callback/") && url.pathname !== "/api/logout/callback") return;
    for (const name of ["code", "state", "session_state"]) {
      const value = url.searchParams.get(name);
      if (value) secrets.add(value);
    }
  });
  await signInWithBrowser(page, bankUrl);
  await expect.poll(() => page.evaluate(() => sessionStorage.getItem("lockstep:idp-session")), { timeout: 10_000 }).not.toBeNull();
  return page;
}

/** Signs out through the app and answers the IdP's confirmation page. */
async function signOutAtIdp(page: Page, choice: "Yes, sign me out" | "Only sign out of Lockstep Bank"): Promise<void> {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.getByRole("button", { name: choice }).click();
  await page.waitForURL((url) => url.origin === bankUrl && url.pathname === "/signed-out");
}

describe("the signed-out page after the IdP came back with our state", () => {
  it("after 'Yes, sign me out': says plainly that the IdP session ended too, offers nothing more, and it did end", async () => {
    const page = await signedInTab();
    await signOutAtIdp(page, "Yes, sign me out");
    await page.locator('[data-testid="signed-out-body"][data-idp-answer="ended"]').waitFor({ timeout: 10_000 });
    const text = (await body(page).textContent()) ?? "";
    expect(text).toContain("You are signed out at your identity provider too");
    expect(text).not.toMatch(/if you chose|may still|does not tell/i);
    expect(await idpButton(page).count()).toBe(0);

    // True: signing in again asks for the password.
    await page.getByRole("link", { name: "Sign in again" }).click();
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByLabel("Password").waitFor();
  });

  it("after 'Only sign out of Lockstep Bank': says the IdP still has you signed in and offers to end it there; doing so ends it", async () => {
    const page = await signedInTab();
    await signOutAtIdp(page, "Only sign out of Lockstep Bank");
    await page.locator('[data-testid="signed-out-body"][data-idp-answer="active"]').waitFor({ timeout: 10_000 });
    expect(await body(page).textContent()).toContain("Your identity provider says you are still signed in there");

    await idpButton(page).click();
    await page.getByRole("button", { name: "Yes, sign me out" }).click();
    await page.waitForURL((url) => url.origin === bankUrl && url.pathname === "/signed-out");
    await page.locator('[data-testid="signed-out-body"][data-idp-answer="ended"]').waitFor({ timeout: 10_000 });
    expect(await idpButton(page).count()).toBe(0);
  });

  it("with no answer from the IdP in time: says only what the state proves, and offers the button", async () => {
    const page = await signedInTab();
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.getByRole("button", { name: "Yes, sign me out" }).waitFor();
    // The signed-out page's frame of the IdP's session check does not load: nobody answers.
    await page.route("**/session/check", (route) => route.abort());
    await page.getByRole("button", { name: "Yes, sign me out" }).click();
    await page.waitForURL((url) => url.origin === bankUrl && url.pathname === "/signed-out");
    await page.locator('[data-testid="signed-out-body"][data-idp-answer="asking"]').waitFor();
    await page.locator('[data-testid="signed-out-body"][data-idp-answer="unknown"]').waitFor({ timeout: 10_000 });
    expect(await body(page).textContent()).toContain("does not tell Lockstep Bank whether it ended its own session too");
    expect(await idpButton(page).count()).toBe(1);
  });
});

describe("what the demo prints", () => {
  it("one line per log call, every one prefixed; the SSF stream in one sentence; no code or state of the sign-ins above", () => {
    expect(secrets.size).toBeGreaterThan(3);
    for (const { text } of logged) expect(text).not.toContain("\n");
    const printed = logged.flatMap(({ source, text }) => demoLines(source, text, { prefix: (s) => `${s}:` }));
    expect(
      printed.some((line) =>
        /^bank: Shared Signals stream \S+ registered at the IdP \(push to http:\/\/localhost:\d+, \d+ event types\); verification requested$/.test(
          line,
        ),
      ),
    ).toBe(true);
    expect(printed.filter((line) => line.includes('"stream_id"'))).toEqual([]);
    const raw = logged.map((l) => l.text).join("\n");
    for (const secret of secrets) {
      expect(raw).not.toContain(secret);
    }
  });
});
