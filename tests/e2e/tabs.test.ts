import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page, Request } from "playwright-core";
import {
  closeBrowser,
  launchBrowser,
  SHOWS_WITHIN_MS,
  SIGNED_OUT_STATE,
  signedOutReason,
  type SignedOutState,
  signInWithBrowser,
  twoSignedInTabs,
  watchSignedOut,
} from "../support/browser";
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
  await closeBrowser(browser);
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
    const [first, second] = await twoSignedInTabs(context, bankUrl);

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

/** Holds every request of `page` (or of every tab of a browser) to `pattern` until released: what the tab shows meanwhile needs nothing from there. */
async function hold(page: Page | BrowserContext, pattern: string): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route(pattern, async (route) => {
    await released;
    await route.continue().catch(() => {}); // the tab may have moved on, or closed
  });
  return release;
}

/** The in-place signed-out state, before any page load: the signed-in content gone, the title and focus on the news. */
function expectSignedOutInPlace(state: SignedOutState): void {
  expect(state).toMatchObject({
    inPlace: true,
    path: "/account",
    signedIn: false,
    title: "Signed out · Lockstep Bank",
    focused: "You are signed out of Lockstep Bank",
  });
}

describe("a tab shows the signed-out state in place, before loading anything", () => {
  it("another tab of the same browser (broadcast, confirmed with the server), with its event stream and the signed-out page held", async () => {
    const context = await device();
    // Only the broadcast can tell the second tab: no tab of this browser gets an event stream (the
    // first would hold the browser's one, and pass the server's push on), and the signed-out page
    // cannot load until released.
    const releaseEvents = await hold(context, "**/api/session/events");
    const first = await context.newPage();
    await signInWithBrowser(first, bankUrl);
    const second = await context.newPage();
    const releasePage = await hold(second, "**/signed-out");
    try {
      const shown = await watchSignedOut(second);
      await second.goto(`${bankUrl}/account`);
      await second.getByTestId("signed-in").waitFor();
      await first.getByRole("button", { name: "Sign out", exact: true }).click();
      expectSignedOutInPlace(await shown(SHOWS_WITHIN_MS));
    } finally {
      releasePage();
      releaseEvents();
    }
    // Then the signed-out page, with the server's reason.
    const { reason } = await signedOutReason(second, Date.now(), SHOWS_WITHIN_MS);
    expect(reason).toBe("logout");
    await second.getByTestId("via").waitFor();
    expect(await second.getByTestId("via").getAttribute("data-via")).toBe("broadcast");
    await context.close();
  });

  it("another device (server push), with the signed-out page held", async () => {
    const laptop = await (await device()).newPage();
    await signInWithBrowser(laptop, bankUrl);
    const phone = await (await device()).newPage();
    await signInWithBrowser(phone, bankUrl);
    await phone.getByTestId("live-status").and(phone.locator('[data-status="live"]')).waitFor();
    const shown = await watchSignedOut(phone);
    const release = await hold(phone, "**/signed-out");
    try {
      await laptop.getByRole("button", { name: "Sign out every device at Lockstep Bank" }).click();
      expectSignedOutInPlace(await shown(SHOWS_WITHIN_MS));
    } finally {
      release();
    }
    const { reason } = await signedOutReason(phone, Date.now(), SHOWS_WITHIN_MS);
    expect(reason).toBe("ended_elsewhere");
    await phone.getByTestId("via").waitFor();
    expect(await phone.getByTestId("via").getAttribute("data-via")).toBe("push");
  });

  it("the signing-out tab tells the others only once the server has ended the session, then goes to the IdP", async () => {
    const context = await device();
    const [first, second] = await twoSignedInTabs(context, bankUrl);
    await second.evaluate(() => {
      const heard: unknown[] = [];
      (window as unknown as { heard: unknown[] }).heard = heard;
      new BroadcastChannel("lockstep:bank").addEventListener("message", (event) => heard.push(event.data));
    });
    const shown = await watchSignedOut(second);
    const kinds: string[] = [];
    first.on("request", (request) => {
      if (new URL(request.url()).pathname === "/api/logout") kinds.push(request.resourceType());
    });
    // Held so that what the other tab shows is seen before it moves on to the signed-out page.
    const releasePage = await hold(second, "**/signed-out");
    const release = await hold(first, "**/api/logout");
    try {
      await first.getByRole("button", { name: "Sign out", exact: true }).click();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // The sign-out request is held: nothing is said yet, and the other tab is still signed in.
      expect(await second.evaluate(() => (window as unknown as { heard: unknown[] }).heard.length)).toBe(0);
      await second.getByTestId("signed-in").waitFor();
      release();
      expectSignedOutInPlace(await shown(SHOWS_WITHIN_MS));
    } finally {
      release();
      releasePage();
    }
    expect(kinds).toEqual(["fetch"]); // the page's script sent the form, once
    await first.getByRole("button", { name: "Yes, sign me out" }).waitFor(); // on at the IdP
    await context.close();
  });

  it("if the script's sign-out request fails, the browser posts the form and the others still learn of it", async () => {
    const context = await device();
    const [first, second] = await twoSignedInTabs(context, bankUrl);
    const shown = await watchSignedOut(second);
    await first.route("**/api/logout", (route) => (route.request().resourceType() === "fetch" ? route.abort() : route.continue()));
    const releasePage = await hold(second, "**/signed-out");
    try {
      await first.getByRole("button", { name: "Sign out", exact: true }).click();
      expectSignedOutInPlace(await shown(SHOWS_WITHIN_MS));
    } finally {
      releasePage();
    }
    await second.waitForURL((url) => url.pathname === "/signed-out", { timeout: SHOWS_WITHIN_MS });
    await first.getByRole("button", { name: "Yes, sign me out" }).waitFor();
    await context.close();
  });

  it("a broadcast the server does not confirm shows nothing: the tab stays signed in", async () => {
    const context = await device();
    const tab = await context.newPage();
    await signInWithBrowser(tab, bankUrl);
    const session = (await (await tab.request.get(`${bankUrl}/api/session`)).json()) as { session: { id: string } };
    // Another page of this origin says the session ended, but it did not.
    const other = await context.newPage();
    await other.goto(`${bankUrl}/api/health`);
    await other.evaluate(
      ({ sessionId }) =>
        new BroadcastChannel("lockstep:bank").postMessage({ type: "ended", sessionId, reason: "logout", sentAt: Date.now() }),
      { sessionId: session.session.id },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await tab.locator(SIGNED_OUT_STATE).count()).toBe(0);
    await tab.getByTestId("signed-in").waitFor();
    expect(new URL(tab.url()).pathname).toBe("/account");
    await context.close();
  });
});

describe("the tabs of one browser share one event stream", () => {
  const live = (tab: Page) => tab.getByTestId("live-status").and(tab.locator('[data-status="live"]')).waitFor({ timeout: 15_000 });

  it("three tabs open one stream; when its tab closes another opens it, and a push reaches every tab", async () => {
    const context = await device();
    /** Which tab opened each event stream, in order. */
    const streams: Page[] = [];
    context.on("request", (request) => {
      if (request.method() === "GET" && new URL(request.url()).pathname === "/api/session/events") streams.push(request.frame().page());
    });
    const first = await context.newPage();
    await signInWithBrowser(first, bankUrl);
    const tabs = [first, await context.newPage(), await context.newPage()];
    for (const tab of tabs.slice(1)) await tab.goto(`${bankUrl}/account`);
    for (const tab of tabs) await live(tab);
    // A moment for any tab that would open a stream of its own to do so.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(streams).toHaveLength(1);

    const holder = streams[0]!;
    await holder.close();
    const rest = tabs.filter((tab) => tab !== holder);
    await expect.poll(() => streams.length, { timeout: 10_000 }).toBe(2);
    expect(rest).toContain(streams[1]);
    for (const tab of rest) await live(tab);

    const laptop = await (await device()).newPage();
    await signInWithBrowser(laptop, bankUrl);
    const shown = await Promise.all(rest.map((tab) => watchSignedOut(tab)));
    // From here no tab of this browser can ask the server about its session: only the push, passed on
    // by the tab holding the stream, can tell the others.
    const releaseChecks = await hold(context, "**/api/session");
    try {
      await laptop.getByRole("button", { name: "Sign out every device at Lockstep Bank" }).click();
      for (const wait of shown) expectSignedOutInPlace(await wait(SHOWS_WITHIN_MS));
      for (const tab of rest) {
        await tab.getByTestId("via").waitFor({ timeout: SHOWS_WITHIN_MS });
        expect(await tab.getByTestId("via").getAttribute("data-via")).toBe("push");
      }
    } finally {
      releaseChecks();
    }
    expect(streams).toHaveLength(2);
    await context.close();
  });

  it("a tab that holds the stream but hangs is taken over once silent, and gives its stream up when it resumes", async () => {
    const context = await device();
    const streams: Request[] = [];
    context.on("request", (request) => {
      if (request.method() === "GET" && new URL(request.url()).pathname === "/api/session/events") streams.push(request);
    });
    /** Event-stream requests that have ended (closed by their tab, or by the server). */
    const ended = new Set<Request>();
    context.on("requestfailed", (request) => ended.add(request));
    context.on("requestfinished", (request) => ended.add(request));
    const first = await context.newPage();
    await signInWithBrowser(first, bankUrl);
    const second = await context.newPage();
    await second.goto(`${bankUrl}/account`);
    for (const tab of [first, second]) await live(tab);
    expect(streams).toHaveLength(1);
    const holder = streams[0]!.frame().page();
    const other = holder === first ? second : first;

    // The holder's script stops (a hung or frozen tab): its lock stays held, and it relays nothing.
    const hungMs = 25_000;
    const hung = holder.evaluate((ms) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        // busy: no event, timer or message runs in this tab meanwhile
      }
    }, hungMs);
    await expect.poll(() => streams.length, { timeout: hungMs }).toBe(2);
    expect(streams[1]!.frame().page()).toBe(other);
    await live(other);
    expect(ended.has(streams[0]!)).toBe(false);

    // Resumed, the holder learns its lock was taken and closes its stream: one stream again.
    await hung;
    await expect.poll(() => ended.has(streams[0]!), { timeout: 10_000 }).toBe(true);
    expect(ended.has(streams[1]!)).toBe(false);
    await live(holder);

    const laptop = await (await device()).newPage();
    await signInWithBrowser(laptop, bankUrl);
    const shown = await Promise.all([first, second].map((tab) => watchSignedOut(tab)));
    await laptop.getByRole("button", { name: "Sign out every device at Lockstep Bank" }).click();
    for (const wait of shown) expectSignedOutInPlace(await wait(SHOWS_WITHIN_MS));
    expect(streams).toHaveLength(2);
    await context.close();
  });
});
