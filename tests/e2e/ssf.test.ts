import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { closeBrowser, launchBrowser, SHOWS_WITHIN_MS, signedOutReason, signInWithBrowser } from "../support/browser";
import { bank, startTestStack } from "../support/lockstep";
import type { Stack } from "../../demo/scripts/stack";

/** Shared Signals end to end: the demo transmitter's admin page, both apps' tabs in Chromium. */
let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  stack = await startTestStack({
    apps: [
      { ...bank, ssf: "push" },
      {
        appId: "brokerage",
        name: "Lockstep Brokerage",
        clientId: "lockstep-brokerage",
        clientSecret: "brokerage-test-secret-0123",
        ssf: "push",
      },
    ],
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await closeBrowser(browser);
  await stack?.stop();
});

describe("Shared Signals in the browser", () => {
  it("a session-revoked event from the transmitter's admin page ends the user's sessions in both apps, and their tabs say why", async () => {
    const context = await browser.newContext();
    const tabs = [];
    for (const app of stack.apps) {
      const tab = await context.newPage();
      await signInWithBrowser(tab, app.url);
      tabs.push(tab);
    }
    const admin = await (await browser.newContext()).newPage();
    await admin.goto(`${stack.issuer}/admin`);
    const t0 = Date.now();
    await admin.getByRole("row", { name: /alice/i }).getByRole("button", { name: "Session revoked" }).click();
    for (const { reason } of await Promise.all(tabs.map((tab) => signedOutReason(tab, t0, SHOWS_WITHIN_MS)))) {
      expect(reason).toBe("security_event");
    }
    await context.close();
  });

  it("an account-disabled event refuses the next sign-in until account-enabled", async () => {
    const admin = await (await browser.newContext()).newPage();
    await admin.goto(`${stack.issuer}/admin`);
    await admin.getByRole("row", { name: /bob/i }).getByRole("button", { name: "Account disabled (hijacked)" }).click();
    await admin.waitForLoadState();

    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(stack.apps[0]!.url);
    await tab.getByRole("button", { name: "Sign in" }).click();
    await tab.getByLabel("Username").fill("bob");
    await tab.getByLabel("Password").fill("bob-password");
    await tab.getByRole("button", { name: /sign in/i }).click();
    await tab.waitForURL((url) => url.pathname === "/signed-out");
    expect(await tab.locator("h1[data-reason]").getAttribute("data-reason")).toBe("sign_in_refused");

    await admin.goto(`${stack.issuer}/admin`);
    await admin.getByRole("row", { name: /bob/i }).getByRole("button", { name: "Account enabled" }).click();
    await admin.waitForLoadState();
    await signInWithBrowser(tab, stack.apps[0]!.url, "bob");
    await context.close();
  });
});
