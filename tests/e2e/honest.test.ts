import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { closeBrowser, launchBrowser, SHOWS_WITHIN_MS, signedOutReason, signInWithBrowser, twoSignedInTabs } from "../support/browser";
import { bank, startTestStack } from "../support/lockstep";
import { startNext, type NextProcess, type RunningApp, type Stack } from "../../demo/scripts/stack";

/**
 * The demo tells the truth, live: what the signed-out page says comes from the server's record of
 * this browser's own ending (never from the URL), a local-only sign-out at the IdP claims nothing
 * about the IdP, every signed-in tab says whether it is live, and the sessions list names devices.
 */
const brokerage = {
  appId: "brokerage",
  name: "Lockstep Brokerage",
  clientId: "lockstep-brokerage",
  clientSecret: "brokerage-test-secret-0123",
};
const FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

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
  await closeBrowser(browser, contexts);
  await stack?.stop();
});

async function device(options: { userAgent?: string } = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  contexts.push(context);
  return context;
}

const heading = (page: Page) => page.locator("h1[data-reason]");

describe("honest sign-out messages", () => {
  it("after 'Only sign out of Lockstep Bank' at the IdP, makes no claim about the IdP session, offers to end it there, and it is indeed still alive", async () => {
    const context = await device();
    const bankTab = await context.newPage();
    await signInWithBrowser(bankTab, bankUrl);
    const brokerageTab = await context.newPage();
    await signInWithBrowser(brokerageTab, brokerageUrl); // single sign-on

    await bankTab.getByRole("button", { name: "Sign out", exact: true }).click();
    await bankTab.getByRole("button", { name: "Only sign out of Lockstep Bank" }).click();
    await bankTab.waitForURL((url) => url.origin === bankUrl && url.pathname === "/signed-out");
    // The IdP came back with our state even though it kept its session: the page says only that.
    expect(await heading(bankTab).getAttribute("data-reason")).toBe("logout");
    expect(await heading(bankTab).getAttribute("data-idp")).toBe("returned");
    const body = (await bankTab.getByTestId("signed-out-body").textContent()) ?? "";
    expect(body).toContain("you are still signed in there");
    expect(body).not.toMatch(/(here and at your identity provider|identity provider (has )?ended)/i);
    expect(await bankTab.title()).toBe("Signed out · Lockstep Bank");

    // Indeed: the brokerage is still signed in, and so is the IdP (signing in again asks no password).
    await brokerageTab.reload();
    await brokerageTab.getByTestId("signed-in").waitFor();

    // "Sign out at your identity provider too" goes there; this time the whole IdP session ends.
    await bankTab.getByRole("button", { name: "Sign out at your identity provider too" }).click();
    const t0 = Date.now();
    await bankTab.getByRole("button", { name: "Yes, sign me out" }).click();
    const { reason } = await signedOutReason(brokerageTab, t0, SHOWS_WITHIN_MS);
    expect(reason).toBe("revoked");
    expect(await brokerageTab.getByTestId("mechanism").textContent()).toContain("back-channel logout");
    await bankTab.waitForURL((url) => url.origin === bankUrl && url.pathname === "/signed-out");
  });

  it("a crafted ?reason= changes nothing: with no ending of this browser's own, the page is neutral; with one, it shows that one", async () => {
    const stranger = await (await device()).newPage();
    await stranger.goto(`${bankUrl}/signed-out?reason=security_event`);
    expect(await heading(stranger).getAttribute("data-reason")).toBe("none");
    expect(await heading(stranger).textContent()).toBe("You are signed out");
    expect(await stranger.content()).not.toContain("for your security");

    const context = await device();
    const tab = await context.newPage();
    await signInWithBrowser(tab, bankUrl);
    await tab.getByRole("button", { name: "Sign out", exact: true }).click();
    await tab.getByRole("button", { name: "Yes, sign me out" }).click();
    await tab.waitForURL((url) => url.origin === bankUrl && url.pathname === "/signed-out");
    expect(await heading(tab).getAttribute("data-reason")).toBe("logout");
    for (const crafted of ["security_event", "revoked", "expired", "<script>"]) {
      await tab.goto(`${bankUrl}/signed-out?reason=${encodeURIComponent(crafted)}`);
      expect(await heading(tab).getAttribute("data-reason")).toBe("logout");
    }
  });

  it("another tab of the same browser says it was signed out in this browser, with how and when it arrived, and nothing about the IdP", async () => {
    const context = await device();
    const [first, second] = await twoSignedInTabs(context, bankUrl);
    const t0 = Date.now();
    await first.getByRole("button", { name: "Sign out", exact: true }).click();
    const { reason } = await signedOutReason(second, t0, SHOWS_WITHIN_MS);
    expect(reason).toBe("logout");
    expect(await heading(second).textContent()).toBe("You signed out of Lockstep Bank in this browser");
    expect(await heading(second).getAttribute("data-mechanism")).toBe("this_browser");
    await second.getByTestId("shown-after").waitFor();
    // The other tab is told by the signing-out tab once the server has ended the session, and by the
    // server's push, which it sends as it stores the ending: whichever comes first is named.
    expect(await second.getByTestId("via").getAttribute("data-via")).toMatch(/^(broadcast|push)$/);
    expect(await second.getByTestId("shown-after").textContent()).toMatch(/^[\d,]+ ms after it was recorded/);
  });
});

describe("the sessions list", () => {
  it("names each device, marks this one, confirms 'Sign out this device', and the ended one leaves the list and learns how", async () => {
    const laptop = await (await device()).newPage();
    await signInWithBrowser(laptop, bankUrl, "bob");
    const phone = await (await device({ userAgent: FIREFOX_ON_WINDOWS })).newPage();
    await signInWithBrowser(phone, bankUrl, "bob");

    await laptop.reload();
    const rows = laptop.getByTestId("session-row");
    await expect.poll(() => rows.count()).toBe(2);
    const labels = await laptop.getByTestId("device").allTextContents();
    expect(labels).toContain("Firefox 128 on Windows 10");
    expect(labels.some((l) => /^Chrome \d+ on Linux$/.test(l))).toBe(true);
    // Each row names its session by its own random characters, not the user's hash tag that every session of a user shares.
    const ids = await laptop.getByTestId("session-short-id").allTextContents();
    expect(new Set(ids).size).toBe(2);
    const mine = rows.filter({ has: laptop.getByTestId("this-device") });
    expect(await mine.count()).toBe(1);
    expect(await mine.getByTestId("device").textContent()).toMatch(/^Chrome \d+ on Linux$/);
    expect(await laptop.locator('[data-testid="session-row"]', { hasText: "Firefox 128 on Windows 10" }).textContent()).toContain(
      "last seen",
    );

    const t0 = Date.now();
    await laptop.getByRole("button", { name: /^Sign out this device: Firefox 128 on Windows 10/ }).click();
    await laptop.getByTestId("notice").waitFor();
    expect(await laptop.getByTestId("notice").textContent()).toContain("Signed out Firefox 128 on Windows 10");
    await expect.poll(() => rows.count()).toBe(1);

    const { reason } = await signedOutReason(phone, t0, SHOWS_WITHIN_MS);
    expect(reason).toBe("ended_elsewhere");
    expect(await heading(phone).getAttribute("data-mechanism")).toBe("another_device");
    await phone.getByTestId("via").waitFor();
    expect(await phone.getByTestId("via").getAttribute("data-via")).toBe("push");
  });
});

describe("the live indicator", () => {
  let instance: RunningApp | undefined;
  let again: NextProcess | undefined;
  afterAll(async () => {
    await again?.stop();
    await instance?.stop();
  });

  it("says live, goes offline within seconds when the app stops, and comes back live when it returns", async () => {
    instance = await stack.addInstance(stack.apps[0]!);
    const tab = await (await device()).newPage();
    await signInWithBrowser(tab, bankUrl);
    // The same app on another port (cookies ignore ports): this tab's server is the one we stop.
    await tab.goto(`${instance.url}/account`);
    const status = tab.getByTestId("live-status");
    await expect.poll(() => status.getAttribute("data-status")).toBe("live");
    expect(await tab.title()).toBe("Signed in · Lockstep Bank");

    await instance.stop();
    const stoppedAt = Date.now();
    await expect.poll(() => status.getAttribute("data-status"), { timeout: 5_000, interval: 100 }).toBe("offline");
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(await status.textContent()).toContain("Offline");
    expect(await tab.title()).toBe("Offline · Lockstep Bank");

    again = await startNext({ mode: "start", port: instance.port, env: instance.env ?? {}, source: "bank-again", log: () => {} });
    await expect.poll(() => status.getAttribute("data-status"), { timeout: 15_000, interval: 200 }).toBe("live");
    expect(await tab.title()).toBe("Signed in · Lockstep Bank");
    // Still the same session, and still watched: an ending now reaches the tab.
    await tab.getByTestId("signed-in").waitFor();
  });

  it("renews its stream at LIVE_STREAM_MAX_SECONDS without ever leaving Live", async () => {
    const running = stack.apps[0]!;
    const renewing = await stack.addInstance({ ...running, env: { ...running.env, LIVE_STREAM_MAX_SECONDS: "2" } });
    try {
      const tab = await (await device()).newPage();
      await signInWithBrowser(tab, bankUrl);
      const streams: number[] = [];
      tab.on("request", (request) => {
        // This instance's streams only: the page the sign-in landed on (the running app) may still open its own.
        if (request.url() === `${renewing.url}/api/session/events` && request.method() === "GET") streams.push(Date.now());
      });
      await tab.goto(`${renewing.url}/account`);
      const status = tab.getByTestId("live-status");
      await expect.poll(() => status.getAttribute("data-status")).toBe("live");
      const seen = new Set<string | null>();
      const until = Date.now() + 5_000;
      while (Date.now() < until) {
        seen.add(await status.getAttribute("data-status"));
        await tab.waitForTimeout(100);
      }
      expect([...seen]).toEqual(["live"]);
      // Lives of 1.8 to 2 s over 5 s: the first stream and at least two renewals.
      expect(streams.length).toBeGreaterThanOrEqual(3);
    } finally {
      await renewing.stop();
    }
  });

  it("waits out Retry-After when the server holds as many streams as it may, then goes live once there is room", async () => {
    const running = stack.apps[0]!;
    const full = await stack.addInstance({ ...running, env: { ...running.env, LIVE_MAX_STREAMS: "1" } });
    try {
      const first = await (await device()).newPage();
      await signInWithBrowser(first, bankUrl);
      await first.goto(`${full.url}/account`);
      await expect.poll(() => first.getByTestId("live-status").getAttribute("data-status")).toBe("live");

      const second = await (await device()).newPage();
      await signInWithBrowser(second, bankUrl);
      const asked: string[] = [];
      second.on("request", (request) => {
        // This instance's streams only: the page the sign-in landed on (the running app) may still open its own.
        if (request.url() === `${full.url}/api/session/events`) asked.push(request.method());
      });
      await second.goto(`${full.url}/account`);
      const status = second.getByTestId("live-status");
      await expect.poll(() => status.getAttribute("data-status"), { timeout: 5_000, interval: 100 }).toBe("reconnecting");
      // Refused (503), the tab asked why (HEAD) and waits: no loop of requests meanwhile.
      await second.waitForTimeout(3_000);
      expect(asked).toEqual(["GET", "HEAD"]);

      await first.close();
      // Retry-After is 10 s (plus up to a fifth): then it opens its stream.
      await expect.poll(() => status.getAttribute("data-status"), { timeout: 20_000, interval: 200 }).toBe("live");
      expect(asked.filter((m) => m === "GET").length).toBe(2);
    } finally {
      await full.stop();
    }
  });
});
