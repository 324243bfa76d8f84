import { chromium, type Browser, type Page } from "playwright-core";
import { chromiumPath } from "./require-chromium";

/** Headless Chromium as root on a machine without a network: no sandbox, no background traffic. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-gpu",
      "--disable-quic",
    ],
  });
}

/** Signs in through the app's button and, unless single sign-on skips it, the IdP's login form. */
export async function signInWithBrowser(page: Page, appUrl: string, username = "alice"): Promise<void> {
  await page.goto(appUrl);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname === "/account" || url.pathname.startsWith("/interaction/"));
  if (new URL(page.url()).pathname.startsWith("/interaction/")) {
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(`${username}-password`);
    await page.getByRole("button", { name: /sign in/i }).click();
    await page.waitForURL((url) => url.origin === new URL(appUrl).origin && url.pathname === "/account");
  }
  await page.getByTestId("signed-in").waitFor();
}

/**
 * How long a test waits for a tab to show that its session ended: a correctness bound, not a speed
 * test. Without a live mechanism the tab would never change (nothing focuses a headless tab); speed
 * against the 1 s / 2 s targets is `npm run bench`'s job.
 */
export const SHOWS_WITHIN_MS = 5000;

/** Waits until the tab shows the signed-out page; returns the reason it shows and how long it took. */
export async function signedOutReason(page: Page, sinceMs: number, timeoutMs: number): Promise<{ reason: string | null; afterMs: number }> {
  await page.waitForURL((url) => url.pathname === "/signed-out", { timeout: timeoutMs });
  const afterMs = Date.now() - sinceMs;
  const reason = await page.locator("h1[data-reason]").getAttribute("data-reason");
  return { reason, afterMs };
}
