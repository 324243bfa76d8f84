import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page, Route } from "playwright-core";
import { closeBrowser, launchBrowser, SHOWS_WITHIN_MS, signInWithBrowser } from "../support/browser";
import { bank, startTestStack } from "../support/lockstep";
import type { Stack } from "../../demo/scripts/stack";

/**
 * The dashboard's API card (app/account/api-card.tsx) in headless Chromium: the Bank's statements
 * through the proxy from the demo resource server; and, with the proxy's answer stood in for, its
 * loading, listing and error states, and the tab going signed out on Lockstep's own 401 (but not on
 * an upstream's).
 */
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const STATEMENTS = "**/api/remote/statements/statements";

let stack: Stack;
let browser: Browser;
let bankUrl: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  stack = await startTestStack({ apps: [{ ...bank, remoteApis: { statements: "statements" } }] });
  bankUrl = stack.apps[0]!.url;
  browser = await launchBrowser();
});

afterAll(async () => {
  await closeBrowser(browser);
  await stack?.stop();
});

const card = (page: Page) => page.locator('[data-testid="api-card"][data-api="statements"]');

/**
 * A signed-in Bank tab. With `answer`, the proxy's answers for the statements are stood in for from
 * then on, and the card is reloaded (its first load went to the real proxy).
 */
async function tab(answer?: (route: Route) => Promise<void>): Promise<Page> {
  const context = await browser.newContext({ bypassCSP: true });
  contexts.push(context);
  const page = await context.newPage();
  await signInWithBrowser(page, bankUrl);
  if (answer) {
    await card(page).and(page.locator(':not([data-state="loading"])')).waitFor({ timeout: SHOWS_WITHIN_MS });
    await page.route(STATEMENTS, answer);
    await card(page).getByRole("button", { name: "Reload statements" }).click();
  }
  return page;
}

describe("the dashboard's API card", () => {
  it("lists alice's statements from the resource server, through the proxy, and no token reaches the page", async () => {
    const page = await tab();
    await card(page).and(page.locator('[data-state="ready"]')).waitFor({ timeout: SHOWS_WITHIN_MS });
    await expect(card(page).getByTestId("api-item").count()).resolves.toBe(3);
    await expect(card(page).getByText("Closing balance").first().isVisible()).resolves.toBe(true);
    expect(await page.content()).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });

  it("says it is loading, then lists each item's fields under readable labels, with no serious axe violation", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const page = await tab(async (route) => {
      await held;
      await route.fulfill({ json: { items: [{ symbol: "LKSP", market_value: "USD 1.00", lots: [1, 2] }] } });
    });
    await expect(card(page).getByRole("status").textContent()).resolves.toBe("Loading statements…");
    release();
    await card(page).and(page.locator('[data-state="ready"]')).waitFor();
    const list = card(page).getByRole("list", { name: "Statements" });
    await expect(list.getByRole("definition").allTextContents()).resolves.toEqual(["LKSP", "USD 1.00", "[1,2]"]);
    await expect(list.getByRole("term").allTextContents()).resolves.toEqual(["Symbol", "Market value", "Lots"]);

    await page.addScriptTag({ content: axeSource });
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as { axe: { run: (context: Element) => Promise<{ violations: { id: string; impact: string | null }[] }> } }
      ).axe;
      const result = await axe.run(document.querySelector('[data-api="statements"]')!.closest("section")!);
      return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.id);
    });
    expect(violations).toEqual([]);
  });

  it("says when the API refused (an upstream's 401), and the tab stays signed in", async () => {
    const page = await tab((route) => route.fulfill({ status: 401, json: { error: "invalid_token", code: "expired" } }));
    await expect(card(page).getByRole("alert").textContent()).resolves.toBe("Statements refused this request (HTTP 401, invalid_token).");
    await expect(page.getByTestId("signed-in").isVisible()).resolves.toBe(true);
  });

  it("says when the proxy could not reach the API, and loads again on request", async () => {
    let calls = 0;
    const page = await tab((route) => {
      calls += 1;
      return calls === 1
        ? route.fulfill({ status: 502, json: { error: "upstream_unreachable" } })
        : route.fulfill({ json: { items: [{ period: "November 2026" }] } });
    });
    await expect(card(page).getByRole("alert").textContent()).resolves.toBe(
      "Statements could not be loaded (HTTP 502, upstream_unreachable).",
    );
    await card(page).getByRole("button", { name: "Reload statements" }).click();
    await expect(card(page).getByTestId("api-item").textContent()).resolves.toContain("November 2026");
  });

  it("shows the tab signed out, in place, when Lockstep itself answers 401 (the session ended)", async () => {
    const page = await tab((route) => route.fulfill({ status: 401, json: { error: "unauthorized", reason: "revoked" } }));
    await page.locator('[data-signed-out="in-place"]').waitFor({ timeout: SHOWS_WITHIN_MS });
    await expect(page.getByTestId("signed-in").count()).resolves.toBe(0);
  });
});
