import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { closeBrowser, launchBrowser, SHOWS_WITHIN_MS, signedOutReason, signInWithBrowser } from "../support/browser";
import { bank, startTestStack } from "../support/lockstep";
import type { Stack } from "../../demo/scripts/stack";

/**
 * The two browser-side mechanisms, each alone: Front-Channel Logout for an app registered without
 * back-channel, and Session Management's check_session_iframe for an app with neither.
 */
let stack: Stack;
let browser: Browser;
let bankUrl: string;
let brokerageUrl: string;
let insuranceUrl: string;

beforeAll(async () => {
  stack = await startTestStack({
    apps: [
      bank,
      {
        appId: "brokerage",
        name: "Lockstep Brokerage",
        clientId: "lockstep-brokerage",
        clientSecret: "brokerage-test-secret-0123",
        registration: { backchannelLogout: false },
      },
      {
        appId: "insurance",
        name: "Lockstep Insurance",
        clientId: "lockstep-insurance",
        clientSecret: "insurance-test-secret-0123",
        registration: { backchannelLogout: false, frontchannelLogout: false },
        env: { SESSION_CHECK_INTERVAL_MS: "500" },
      },
    ],
  });
  [bankUrl, brokerageUrl, insuranceUrl] = stack.apps.map((a) => a.url) as [string, string, string];
  browser = await launchBrowser();
});

afterAll(async () => {
  await closeBrowser(browser);
  await stack?.stop();
});

describe("browser-side logout mechanisms", () => {
  it("(c) with back-channel switched off for the brokerage, its tab learns of the bank's sign-out through front-channel", async () => {
    const context = await browser.newContext();
    const bankTab = await context.newPage();
    await signInWithBrowser(bankTab, bankUrl);
    const brokerageTab = await context.newPage();
    await signInWithBrowser(brokerageTab, brokerageUrl);

    await bankTab.getByRole("button", { name: "Sign out", exact: true }).click();
    const yes = bankTab.getByRole("button", { name: "Yes, sign me out" });
    await yes.waitFor();
    const t0 = Date.now();
    await yes.click();
    const { reason } = await signedOutReason(brokerageTab, t0, SHOWS_WITHIN_MS);
    expect(reason).toBe("frontchannel_logout");
    await bankTab.waitForURL(`${bankUrl}/signed-out`);
    expect(await bankTab.locator("h1[data-reason]").getAttribute("data-reason")).toBe("logout");
    await context.close();
  });

  it("(e) the session iframe notices a logout done directly at the IdP", async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await signInWithBrowser(tab, insuranceUrl);
    // The RP iframe is polling the OP iframe: give it a first "unchanged".
    await tab.waitForTimeout(800);

    const idpTab = await context.newPage();
    await idpTab.goto(`${stack.issuer}/session/end`);
    const t0 = Date.now();
    await idpTab.getByRole("button", { name: "Yes, sign me out" }).click();
    const { reason } = await signedOutReason(tab, t0, SHOWS_WITHIN_MS);
    expect(reason).toBe("idp_session_changed");
    // The server ended it too: the cookie no longer opens anything.
    expect((await tab.request.get(`${insuranceUrl}/api/session`)).status()).toBe(401);
    await context.close();
  });

  it("(e) a session iframe that keeps its session while the IdP session lives", async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await signInWithBrowser(tab, insuranceUrl);
    await tab.waitForTimeout(2000);
    expect(new URL(tab.url()).pathname).toBe("/account");
    expect((await tab.request.get(`${insuranceUrl}/api/session`)).status()).toBe(200);
    await context.close();
  });
});
