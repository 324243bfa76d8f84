import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { closeBrowser, launchBrowser, signInWithBrowser } from "../support/browser";
import { bank, startTestStack } from "../support/lockstep";
import { root, type Stack } from "../../demo/scripts/stack";

/**
 * Every page of the demo, checked two ways: axe-core (injected from the pinned devDependency, run in
 * the page) finds no serious or critical violation, and at 375 px wide nothing scrolls sideways.
 * With LOCKSTEP_SCREENSHOTS=1 it also refreshes the screenshots of the README and docs/demo.md (docs/screenshots/).
 */
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const screenshots = process.env.LOCKSTEP_SCREENSHOTS === "1";
/** The ones the README and docs/demo.md show. */
const kept = new Set([
  "dashboard",
  "signed-out",
  "signed-out-how",
  "idp-login",
  "idp-admin",
  "dashboard-375",
  "signed-out-how-375",
  "idp-admin-375",
]);

type AxeViolation = { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] };

async function seriousViolations(page: Page): Promise<string[]> {
  // The IdP's pages forbid inline scripts (CSP): the contexts here bypass it for axe alone.
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: AxeViolation[] }> } })
      .axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`);
}

/** The widest thing on the page, against the viewport: no sideways scrolling. */
async function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

let stack: Stack;
let browser: Browser;
let bankUrl: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    apps: [
      // The demo's remote APIs on, as in `npm run demo`, so that axe sees the dashboard's API cards too.
      { ...bank, ssf: "push", remoteApis: { statements: "statements", market: "market", reports: "reports", news: "news" } },
      {
        appId: "brokerage",
        name: "Lockstep Brokerage",
        clientId: "lockstep-brokerage",
        clientSecret: "brokerage-test-secret-0123",
        env: { APP_ACCENT: "#0f766e" },
        remoteApis: { portfolio: "portfolio" },
      },
    ],
  });
  bankUrl = stack.apps[0]!.url;
  browser = await launchBrowser();
});

afterAll(async () => {
  await closeBrowser(browser, contexts);
  await stack?.stop();
});

async function check(page: Page, name: string): Promise<void> {
  expect(await seriousViolations(page), `${name}: axe`).toEqual([]);
  expect(await overflow(page), `${name}: sideways overflow (px)`).toBeLessThanOrEqual(0);
  if (screenshots && kept.has(name)) await page.screenshot({ path: path.join(root, "docs/screenshots", `${name}.png`), fullPage: true });
}

for (const width of [375, 1024]) {
  describe(`every page at ${width} px: no serious or critical axe violation, no sideways scrolling`, () => {
    const narrow = width === 375;
    const suffix = narrow ? "-375" : "";
    const viewport = { width, height: narrow ? 812 : 900 };

    it("the app's pages: sign-in, dashboard (with a long activity log), signed-out with how it reached the tab", async () => {
      const context = await browser.newContext({ viewport, deviceScaleFactor: narrow ? 2 : 1, bypassCSP: true });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(bankUrl);
      await check(page, `sign-in${suffix}`);

      const other = await (
        await browser.newContext({
          userAgent:
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        })
      ).newPage();
      contexts.push(other.context());
      await signInWithBrowser(other, bankUrl);
      await signInWithBrowser(page, bankUrl);
      // Enough activity to need "show older": sign in a few more times elsewhere.
      for (let i = 0; i < 3; i += 1) {
        const extra = await (await browser.newContext()).newPage();
        contexts.push(extra.context());
        await signInWithBrowser(extra, bankUrl);
        await extra.context().close();
      }
      await page.reload();
      await page.getByTestId("live-status").and(page.locator('[data-status="live"]')).waitFor();
      await check(page, `dashboard${suffix}`);

      // The other device is signed out from here: it shows how the news reached it.
      await page.getByRole("button", { name: /^Sign out this device: Safari 17 on iOS 17/ }).click();
      await page.getByTestId("notice").waitFor();
      await check(page, `dashboard-notice${suffix}`);
      await other.waitForURL((url) => url.pathname === "/signed-out");
      await other.getByTestId("shown-after").waitFor();
      await check(other, `signed-out-how${suffix}`);

      // The IdP's sign-out page, and the signed-out page after it, once it has the IdP's answer
      // (this tab's session iframe heard "unchanged" first: tests/e2e/idp-answer.test.ts).
      await expect.poll(() => page.evaluate(() => sessionStorage.getItem("lockstep:idp-session")), { timeout: 10_000 }).not.toBeNull();
      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await page.getByRole("button", { name: "Yes, sign me out" }).waitFor();
      await check(page, `idp-logout${suffix}`);
      await page.getByRole("button", { name: "Yes, sign me out" }).click();
      await page.waitForURL((url) => url.pathname === "/signed-out");
      await page.getByTestId("how-it-reached").waitFor();
      await page.locator('[data-testid="signed-out-body"][data-idp-answer="ended"]').waitFor({ timeout: 10_000 });
      await check(page, `signed-out${suffix}`);
    });

    it("the IdP's pages: login, admin, the result of ending sessions and of a Shared Signals event", async () => {
      const context = await browser.newContext({ viewport, deviceScaleFactor: narrow ? 2 : 1, bypassCSP: true });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(bankUrl);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByLabel("Username").waitFor();
      await check(page, `idp-login${suffix}`);
      await page.getByLabel("Username").fill("bob");
      await page.getByLabel("Password").fill("bob-password");
      await page.getByRole("button", { name: /sign in/i }).click();
      await page.getByTestId("signed-in").waitFor();

      const admin = await context.newPage();
      await admin.goto(`${stack.issuer}/admin`);
      await check(admin, `idp-admin${suffix}`);
      await admin.locator("form.ssf").first().getByRole("button", { name: "Session revoked" }).click();
      await admin.waitForLoadState();
      await check(admin, `idp-admin-ssf-result${suffix}`);
      const ending = await context.newPage();
      await ending.goto(`${stack.issuer}/admin`);
      await ending.getByRole("row", { name: /bob/i }).getByRole("button", { name: "End all sessions" }).click();
      await ending.getByRole("status").waitFor();
      await check(ending, `idp-admin-result${suffix}`);
    });
  });
}
