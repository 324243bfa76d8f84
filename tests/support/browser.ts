import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { bounded } from "./processes";
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

/**
 * Closes browser contexts, waiting at most `ms` (5 s): closing one whose tab is on its way elsewhere
 * (to the IdP) can hang, and a context left open only costs memory until its browser closes. Says so
 * on stderr when it gave up waiting.
 */
export async function closeContexts(contexts: BrowserContext[], ms = 5_000): Promise<void> {
  const closed = Promise.all(contexts.map((c) => c.close().catch(() => undefined))).then(() => true);
  if (!(await bounded(closed, ms, () => false))) console.warn(`browser: contexts not closed within ${ms} ms; left to the browser`);
}

/**
 * Closes `contexts`, then `browser`, waiting at most 5 s and 10 s, so that a test's clean-up cannot
 * hang on Chromium. A browser still open then is left to end with this process (Chromium, started on
 * a pipe, exits when the pipe closes); a line on stderr says so.
 */
export async function closeBrowser(browser: Browser | undefined, contexts: BrowserContext[] = []): Promise<void> {
  await closeContexts(contexts);
  if (!browser) return;
  const closed = browser.close().then(
    () => true,
    () => true,
  );
  if (!(await bounded(closed, 10_000, () => false))) console.warn("browser: Chromium did not close within 10 s; it ends with this process");
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

/** Two tabs of one browser on the app's account page, signed in through the first. */
export async function twoSignedInTabs(context: BrowserContext, appUrl: string): Promise<[Page, Page]> {
  const first = await context.newPage();
  await signInWithBrowser(first, appUrl);
  const second = await context.newPage();
  await second.goto(`${appUrl}/account`);
  await second.getByTestId("signed-in").waitFor();
  return [first, second];
}

/**
 * How long a test waits for a tab to show that its session ended: a correctness bound, not a speed
 * test. Without a live mechanism the tab would never change (nothing focuses a headless tab); speed
 * against the 1 s / 2 s targets is `npm run bench`'s job.
 */
export const SHOWS_WITHIN_MS = 5000;

/**
 * The signed-out state in a tab's DOM: the account page's in-place signed-out view (shown the moment
 * the tab knows, before anything loads) or the signed-out page's heading.
 */
export const SIGNED_OUT_STATE = "[data-signed-out], h1[data-reason]";

/**
 * What the tab looked like when the signed-out state first appeared in its DOM (`at`: the page's
 * clock, the same machine's). `path`, `inPlace` and `signedIn` are read at that moment; `title` and
 * `focused` 100 ms later, once the view's effects have run, and are null if the tab had moved on by
 * then (hold the next page to see them).
 */
export type SignedOutState = {
  at: number;
  path: string;
  title: string | null;
  focused: string | null;
  signedIn: boolean;
  inPlace: boolean;
};

type Seen = { kind: "seen"; doc: string; at: number; path: string; signedIn: boolean; inPlace: boolean };
type Settled = { kind: "settled"; doc: string; title: string; focused: string | null };

/**
 * Watches the tab, from now on and across its navigations, for the signed-out state appearing in its
 * DOM: a MutationObserver in the page reports it through a binding the moment it appears, and the
 * title and focus a moment later. Playwright's own locators wait for a pending navigation to finish,
 * so they cannot see what a tab shows while the signed-out page is still loading; this can. Returns
 * a function that waits (bounded) for the first report.
 */
export async function watchSignedOut(page: Page): Promise<(timeoutMs: number) => Promise<SignedOutState>> {
  let report!: (seen: Seen) => void;
  const first = new Promise<Seen>((resolve) => (report = resolve));
  const settled = new Map<string, (settled: Settled) => void>();
  const settledOf = (doc: string) => new Promise<Settled>((resolve) => settled.set(doc, resolve));
  const early = new Map<string, Settled>();
  await page.exposeFunction("__lockstepSignedOut", (message: Seen | Settled) => {
    if (message.kind === "seen") report(message);
    else if (settled.has(message.doc)) settled.get(message.doc)!(message);
    else early.set(message.doc, message);
  });
  // A string, not a function: tsx's transform would add helpers to a function's source that the page lacks.
  const script = `(() => {
    if (window.__lockstepWatching) return;
    window.__lockstepWatching = true;
    const doc = Math.random().toString(36).slice(2);
    const seen = () => {
      const element = document.querySelector(${JSON.stringify(SIGNED_OUT_STATE)});
      if (!element) return false;
      // Reported at once: the tab may leave for the next page within milliseconds.
      window.__lockstepSignedOut({
        kind: "seen",
        doc,
        at: Date.now(),
        path: location.pathname,
        signedIn: document.querySelector('[data-testid="signed-in"]') !== null,
        inPlace: element.matches("[data-signed-out]"),
      });
      setTimeout(() => {
        window.__lockstepSignedOut({
          kind: "settled",
          doc,
          title: document.title,
          focused: document.activeElement ? document.activeElement.textContent : null,
        });
      }, 100);
      return true;
    };
    if (seen()) return;
    const observer = new MutationObserver(() => {
      if (seen()) observer.disconnect();
    });
    observer.observe(document, { childList: true, subtree: true });
  })()`;
  await page.addInitScript(script);
  if (page.url() !== "about:blank") await page.evaluate(script);
  return async (timeoutMs) => {
    const seen = await bounded<Seen | undefined>(first, timeoutMs, () => undefined);
    if (!seen) throw new Error(`no signed-out state within ${timeoutMs} ms`);
    const later = early.get(seen.doc) ?? (await bounded<Settled | undefined>(settledOf(seen.doc), 1_000, () => undefined));
    const { at, path, signedIn, inPlace } = seen;
    return { at, path, signedIn, inPlace, title: later?.title ?? null, focused: later?.focused ?? null };
  };
}

/** Waits until the tab shows the signed-out page; returns the reason it shows and how long it took. */
export async function signedOutReason(page: Page, sinceMs: number, timeoutMs: number): Promise<{ reason: string | null; afterMs: number }> {
  await page.waitForURL((url) => url.pathname === "/signed-out", { timeout: timeoutMs });
  const afterMs = Date.now() - sinceMs;
  const reason = await page.locator("h1[data-reason]").getAttribute("data-reason");
  return { reason, afterMs };
}
