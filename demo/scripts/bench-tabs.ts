import { Redis as IORedis } from "ioredis";
import type { Browser, Locator, Page } from "playwright-core";
import {
  closeBrowser,
  closeContexts,
  launchBrowser,
  signInWithBrowser,
  twoSignedInTabs,
  watchSignedOut,
} from "../../tests/support/browser";
import { bounded } from "../../tests/support/processes";
import { HttpSession } from "../../tests/support/http-client";
import { signIn } from "../../tests/support/lockstep";
import { percentile } from "./percentile";
import type { Stack } from "./stack";

/**
 * Live-tab benchmark: how long after a logout the other tabs show that they are signed out (the
 * signed-out state in the DOM, whether the tab's own in-place view or the signed-out page), in headless
 * Chromium (same browser, another app, another device, the IdP admin's "End all sessions"), and how
 * many Redis calls one instance makes while 200 tabs listen. Every run is bounded in time.
 */
const RUNS = Number(process.env.BENCH_TAB_RUNS ?? 20);
/** A run whose tab has not shown it by then fails the benchmark rather than waiting on. */
const SHOW_TIMEOUT_MS = 10_000;

/** A run names the step it is at, so that a stalled one says where it stopped. */
type Step = (name: string) => void;

async function measure(label: string, run: (step: Step) => Promise<number>): Promise<void> {
  const samples: number[] = [];
  const failures: string[] = [];
  const deadline = Date.now() + RUNS * 30_000;
  for (let i = 0; i < RUNS && Date.now() < deadline; i++) {
    // A run that hangs (a sign-in or a browser call that never answers) or fails is counted and
    // reported, and the next run starts: one stuck browser call does not stop the benchmark.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let at = "start";
    const stalled = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`run ${i + 1} stalled at: ${at}`)), 60_000)),
    );
    try {
      samples.push(await Promise.race([run((name) => (at = name)), stalled]));
    } catch (error) {
      failures.push(error instanceof Error ? error.message.split("\n")[0]! : String(error));
    } finally {
      clearTimeout(timer);
    }
  }
  console.log(
    `  ${label.padEnd(40)} ${percentile(samples, 50).toFixed(0).padStart(6)} ${percentile(samples, 95).toFixed(0).padStart(6)} ${String(samples.length).padStart(5)} ${String(failures.length).padStart(7)}`,
  );
  if (samples.length > 0)
    console.log(
      `    samples (ms, sorted): ${[...samples]
        .sort((a, b) => a - b)
        .map((v) => v.toFixed(0))
        .join(" ")}`,
    );
  for (const failure of failures) console.log(`    failed: ${failure}`);
}

/**
 * Clicks, and answers when the click happened in the page (the page's clock, the same machine's clock
 * as the tabs' reports): the user's action, not the tens to hundreds of milliseconds Playwright takes
 * on a loaded machine to get there (actionability checks, scrolling, the protocol's round trips). If
 * the page's report of the click never comes, the time before Playwright's click stands in, which
 * only makes the sample longer.
 */
async function clickAt(page: Page, target: Locator): Promise<number> {
  const before = Date.now();
  let report!: (at: number) => void;
  const reported = new Promise<number>((resolve) => (report = resolve));
  await page.exposeFunction("__lockstepClicked", (at: number) => report(at));
  // A string, not a function, as in watchSignedOut. Capture phase: before the page's own handlers.
  await page.evaluate(`document.addEventListener("click", () => window.__lockstepClicked(Date.now()), { capture: true, once: true })`);
  await target.click();
  return bounded(reported, 2_000, () => before);
}

async function confirmIdpLogout(page: Page): Promise<number> {
  const yes = page.getByRole("button", { name: "Yes, sign me out" });
  await yes.waitFor();
  return clickAt(page, yes);
}

export async function benchTabs(stack: Stack, redisUrl: string | undefined): Promise<void> {
  const [bank, brokerage] = stack.apps;
  if (!bank || !brokerage) throw new Error("bench: the tab benchmark needs two apps");
  const browser: Browser = await launchBrowser();
  try {
    console.log(
      `Live tabs: from the click (in the page) to the other tab showing the signed-out state, ms over ${RUNS} runs (headless Chromium)`,
    );
    console.log(`  ${"path".padEnd(40)} ${"p50".padStart(6)} ${"p95".padStart(6)} ${"runs".padStart(5)} ${"failed".padStart(7)}`);

    const ways: string[] = [];
    await measure("same browser, same app", async (step) => {
      step("new context");
      const context = await browser.newContext();
      step("sign-in, second tab");
      const [one, two] = await twoSignedInTabs(context, bank.url);
      const shown = await watchSignedOut(two);
      // When the sign-out request's answer was in (the browser's own timing of it, same clock).
      let answeredAt: number | undefined;
      one.on("requestfinished", (request) => {
        if (new URL(request.url()).pathname !== "/api/logout") return;
        const timing = request.timing();
        answeredAt = timing.startTime + timing.responseEnd;
      });
      step("click");
      const t0 = await clickAt(one, one.getByRole("button", { name: "Sign out", exact: true }));
      step("shown");
      const afterMs = (await shown(SHOW_TIMEOUT_MS)).at - t0;
      // How the news came, as the signed-out page says: the push, or the other tab's broadcast.
      step("via");
      const via = await two
        .getByTestId("via")
        .getAttribute("data-via", { timeout: 5_000 })
        .catch(() => null);
      ways.push(`${afterMs.toFixed(0)} ${via ?? "?"}${answeredAt ? ` (answered at +${(answeredAt - t0).toFixed(0)})` : ""}`);
      step("close");
      await closeContexts([context]);
      return afterMs;
    });
    console.log(`    each run: ms, how it came (the sign-out request's answer, ms after the click): ${ways.join("; ")}`);

    await measure("same browser, other app (back-channel)", async (step) => {
      step("new context");
      const context = await browser.newContext();
      const [bankTab, brokerageTab] = [await context.newPage(), await context.newPage()];
      step("sign-in");
      await signInWithBrowser(bankTab, bank.url);
      await signInWithBrowser(brokerageTab, brokerage.url);
      const shown = await watchSignedOut(brokerageTab);
      step("sign out");
      await bankTab.getByRole("button", { name: "Sign out", exact: true }).click();
      step("click at the IdP");
      const t0 = await confirmIdpLogout(bankTab);
      step("shown");
      const afterMs = (await shown(SHOW_TIMEOUT_MS)).at - t0;
      step("close");
      await closeContexts([context]);
      return afterMs;
    });

    await measure("other device (server push)", async (step) => {
      step("new contexts");
      const [laptopContext, phoneContext] = [await browser.newContext(), await browser.newContext()];
      const laptop = await laptopContext.newPage();
      const phone = await phoneContext.newPage();
      step("sign-in (laptop)");
      await signInWithBrowser(laptop, bank.url);
      step("sign-in (phone)");
      await signInWithBrowser(phone, bank.url);
      const shown = await watchSignedOut(phone);
      step("click");
      const t0 = await clickAt(laptop, laptop.getByRole("button", { name: /^Sign out every device at / }));
      step("shown");
      const afterMs = (await shown(SHOW_TIMEOUT_MS)).at - t0;
      step("close");
      await closeContexts([laptopContext, phoneContext]);
      return afterMs;
    });

    // The IdP admin's "End all sessions" for the user: every tab of both apps, in two browsers; the
    // sample is the last of them to show it.
    await measure("IdP admin's End all sessions (every tab)", async (step) => {
      step("new contexts");
      const [laptopContext, phoneContext, adminContext] = [
        await browser.newContext(),
        await browser.newContext(),
        await browser.newContext(),
      ];
      const tabs = [await laptopContext.newPage(), await laptopContext.newPage(), await phoneContext.newPage()];
      step("sign-in");
      await signInWithBrowser(tabs[0]!, bank.url, "bob");
      await signInWithBrowser(tabs[1]!, brokerage.url, "bob");
      await signInWithBrowser(tabs[2]!, bank.url, "bob");
      step("admin page");
      const admin = await adminContext.newPage();
      await admin.goto(`${stack.issuer}/admin`);
      const end = admin.getByRole("row", { name: /bob/i }).getByRole("button", { name: "End all sessions" });
      const watches = await Promise.all(tabs.map((tab) => watchSignedOut(tab)));
      step("click");
      const t0 = await clickAt(admin, end);
      step("shown");
      const shown = await Promise.allSettled(watches.map(async (watch) => ({ afterMs: (await watch(SHOW_TIMEOUT_MS)).at - t0 })));
      step("close");
      await closeContexts([laptopContext, phoneContext, adminContext]);
      const failed = shown.find((s) => s.status === "rejected");
      if (failed) throw failed.reason;
      return Math.max(...shown.map((s) => (s.status === "fulfilled" ? s.value.afterMs : NaN)));
    });
  } finally {
    await closeBrowser(browser);
  }

  if (!redisUrl) {
    console.log("  (Redis calls per second need a real Redis: skipped on the embedded store)\n");
    return;
  }
  // 200 open tabs = 200 event streams held open against one instance, each its own session.
  const redis = new IORedis(redisUrl);
  const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await redis.info("stats"))?.[1] ?? 0);
  const rate = async (seconds: number) => {
    const before = await commands();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return ((await commands()) - before - 1) / seconds;
  };
  const idle = await rate(3);
  const controllers: AbortController[] = [];
  const sessions: HttpSession[] = [];
  for (let i = 0; i < 20; i++) {
    const session = new HttpSession();
    await signIn(session, bank.url, "bob", "bob-password");
    sessions.push(session);
  }
  for (let i = 0; i < 200; i++) {
    const controller = new AbortController();
    controllers.push(controller);
    const response = await sessions[i % sessions.length]!.fetch(`${bank.url}/api/session/events`, { signal: controller.signal });
    if (response.status !== 200) throw new Error(`bench: event stream answered ${response.status}`);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const open = await rate(5);
  for (const controller of controllers) controller.abort();
  redis.disconnect();
  console.log(`  Redis commands per second, one instance: ${idle.toFixed(1)} with no tab open, ${open.toFixed(1)} with 200 tabs open\n`);
}
