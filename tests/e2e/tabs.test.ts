import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext } from "playwright-core";
import { launchBrowser, SHOWS_WITHIN_MS, signedOutReason, signInWithBrowser } from "../support/browser";
import { bank, startTestStack } from "../support/lockstep";
import type { Stack } from "../../demo/scripts/stack";

/**
 * Multi-tab, multi-app single sign-on logout in headless Chromium (Debian's, via playwright-core):
 * Lockstep Bank and Lockstep Brokerage share the demo IdP, with real tabs and real cookies.
 */
const brokerage = {
  appId: "brokerage",
  name: "Lockstep Brokerage",
  clientId: "lockstep-brokerage",
  clientSecret: "brokerage-test-secret-0123",
};

let stack: Stack;
let browser: Browser;
let bankUrl: string;
let brokerageUrl: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  stack = await startTestStack({ apps: [bank, brokerage] });
  [bankUrl, brokerageUrl] = stack.apps.map((a) => a.url) as [string, string];
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function device(): Promise<BrowserContext> {
  const context = await browser.newContext();
  contexts.push(context);
  return context;
}

describe("signing out anywhere signs out everywhere", () => {
  it("(a) two tabs of one app: sign out in one, the other shows it without a reload", async () => {
    const context = await device();
    const first = await context.newPage();
    await signInWithBrowser(first, bankUrl);
    const second = await context.newPage();
    await second.goto(`${bankUrl}/account`);
    await second.getByTestId("signed-in").waitFor();

    const t0 = Date.now();
    await first.getByRole("button", { name: "Sign out", exact: true }).click();
    const { reason } = await signedOutReason(second, t0, SHOWS_WITHIN_MS);
    expect(reason).toBe("logout");
    await context.close();
  });

  it("(b) one tab of each app: sign out in the bank, the brokerage tab shows it (back-channel)", async () => {
    const context = await device();
    const bankTab = await context.newPage();
    await signInWithBrowser(bankTab, bankUrl);
    const brokerageTab = await context.newPage();
    await signInWithBrowser(brokerageTab, brokerageUrl); // single sign-on: no password asked
    await bankTab.getByRole("button", { name: "Sign out", exact: true }).click();
    await bankTab.getByRole("button", { name: "Yes, sign me out" }).waitFor();

    const t0 = Date.now();
    await bankTab.getByRole("button", { name: "Yes, sign me out" }).click();
    const { reason } = await signedOutReason(brokerageTab, t0, SHOWS_WITHIN_MS);
    expect(reason).toBe("revoked");
    await bankTab.waitForURL(`${bankUrl}/signed-out`);
    expect(await bankTab.locator("h1[data-reason]").getAttribute("data-reason")).toBe("logout");
    await context.close();
  });

  it("(d) an admin action at the IdP ends the user's sessions: every tab of both apps shows it", async () => {
    const context = await device();
    const tabs = [];
    for (const url of [bankUrl, brokerageUrl]) {
      const tab = await context.newPage();
      await signInWithBrowser(tab, url);
      tabs.push(tab);
    }
    const extra = await context.newPage();
    await extra.goto(`${bankUrl}/account`);
    tabs.push(extra);
    const admin = await (await device()).newPage();
    await admin.goto(`${stack.issuer}/admin`);

    const t0 = Date.now();
    await admin.getByRole("row", { name: /alice/i }).getByRole("button", { name: "End all sessions" }).click();
    const results = await Promise.all(tabs.map((tab) => signedOutReason(tab, t0, SHOWS_WITHIN_MS)));
    for (const { reason } of results) {
      expect(reason).toBe("revoked");
    }
    await context.close();
  });

  it("(f) another device learns of a logout (server push)", async () => {
    const laptop = await (await device()).newPage();
    await signInWithBrowser(laptop, bankUrl);
    const phone = await (await device()).newPage();
    await signInWithBrowser(phone, bankUrl);

    const t0 = Date.now();
    await laptop.getByRole("button", { name: "Sign out every device at Lockstep Bank" }).click();
    const { reason } = await signedOutReason(phone, t0, SHOWS_WITHIN_MS);
    expect(reason).toBe("ended_elsewhere");
  });

  it("re-checks on focus: a session revoked while the tab was away shows on return", async () => {
    const context = await device();
    const tab = await context.newPage();
    await signInWithBrowser(tab, bankUrl);
    // A revocation written straight to the list announces nothing: only the focus re-check can see it.
    const session = (await (await tab.request.get(`${bankUrl}/api/session`)).json()) as { session: { id: string } };
    const { Redis } = await import("ioredis");
    const { testRedisUrl } = await import("../support/require-redis");
    const { appKeys } = await import("@/lib/store/keys");
    const redis = new Redis(testRedisUrl);
    await redis.set(appKeys(stack.keyPrefix, bank.appId).revokedSession(session.session.id), "revoked", "EX", 60);
    redis.disconnect();

    const t0 = Date.now();
    await tab.evaluate(() => window.dispatchEvent(new Event("focus")));
    const { reason } = await signedOutReason(tab, t0, SHOWS_WITHIN_MS);
    expect(reason).toBe("revoked");
    await context.close();
  });
});
