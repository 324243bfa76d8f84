import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { closeBrowser, launchBrowser, signedOutReason, signInWithBrowser } from "../support/browser";
import { startTestStack } from "../support/lockstep";
import type { Stack } from "../../demo/scripts/stack";

/**
 * The demo's no-push app (DEMO_BROKERAGE_PUSH=off) in headless Chromium: the Brokerage registered
 * with no back-channel and no front-channel logout, kept in step only by liveness. A sign-out at the
 * IdP reaches its open tab within the interval plus 10 s, and the signed-out page tells how.
 */
const INTERVAL_S = 5;
const brokerage = {
  appId: "brokerage",
  name: "Lockstep Brokerage",
  clientId: "lockstep-brokerage",
  clientSecret: "brokerage-test-secret-0123",
  registration: { backchannelLogout: false, frontchannelLogout: false },
  // Session Management off too: on localhost the IdP's check_session_iframe would see the sign-out first.
  env: { LIVENESS: "on", LIVENESS_INTERVAL_SECONDS: String(INTERVAL_S), SESSION_MANAGEMENT: "off" },
};

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  stack = await startTestStack({ apps: [brokerage] });
  browser = await launchBrowser();
});

afterAll(async () => {
  await closeBrowser(browser);
  await stack?.stop();
});

describe("liveness in the browser", () => {
  it("shows a sign-out at the IdP in the open tab within the interval + 10 s, with how it came and when the IdP last honoured it", async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const url = stack.apps[0]!.url;
    await signInWithBrowser(tab, url);
    await expect.poll(() => tab.getByText("Live", { exact: true }).count(), { timeout: 10_000 }).toBeGreaterThan(0);

    // Sign out at the IdP itself, in another tab of the same browser: nothing is sent to this app.
    const idpTab = await context.newPage();
    await idpTab.goto(`${stack.issuer}/session/end`);
    const t0 = Date.now();
    await idpTab.getByRole("button", { name: /yes, sign me out/i }).click();

    const { reason, afterMs } = await signedOutReason(tab, t0, (INTERVAL_S + 10) * 1000);
    expect(reason).toBe("idp_refused");
    expect(afterMs).toBeLessThanOrEqual((INTERVAL_S + 10) * 1000);
    expect(await tab.locator("[data-mechanism]").getAttribute("data-mechanism")).toBe("liveness_check");
    expect(await tab.getByTestId("mechanism").textContent()).toContain("periodic check");
    await expect.poll(() => tab.getByTestId("last-live").count()).toBe(1);
    await context.close();
  });
});
