import { randomBytes } from "node:crypto";
import { HttpSession, parseForm } from "./http-client";
import { startStack, type AppSpec, type Stack, type StackOptions } from "../../demo/scripts/stack";
import { testRedisUrl } from "./require-redis";
import { clusterNodes, onCluster } from "./test-redis";
import { continueLinkOf } from "../../demo/tests/support";

export { clusterNodes, onCluster };

export const bank: AppSpec = {
  appId: "bank",
  name: "Lockstep Bank",
  clientId: "lockstep-bank",
  clientSecret: "bank-test-secret-0123456789",
};

/**
 * A stack for one test file: real Redis behind the gateway (or, in the integration-cluster tier, the
 * private Redis Cluster), keys under a prefix of the file's own.
 */
export async function startTestStack(options: Partial<StackOptions> = {}): Promise<Stack> {
  const cluster = onCluster && !options.redisUrl ? await clusterNodes() : undefined;
  return startStack({
    redisUrl: testRedisUrl,
    redisClusterNodes: cluster,
    keyPrefix: `lockstep-test:${randomBytes(6).toString("hex")}:`,
    apps: [bank],
    log: process.env.LOCKSTEP_TEST_LOGS === "1" ? (source, line) => console.log(`[${source}] ${line}`) : undefined,
    ...options,
  });
}

/**
 * Signs in over HTTP as a browser would: Auth.js's sign-in POST, the IdP's real login form,
 * the code flow back to the app. Returns the page the app lands on.
 */
export async function signIn(browser: HttpSession, appUrl: string, username: string, password: string): Promise<Response> {
  const csrf = (await (await browser.fetch(`${appUrl}/api/auth/csrf`)).json()) as { csrfToken: string };
  const toIdp = await browser.fetch(
    `${appUrl}/api/auth/signin/oidc`,
    { method: "POST", body: new URLSearchParams({ csrfToken: csrf.csrfToken, callbackUrl: `${appUrl}/account` }) },
    { follow: true },
  );
  if (toIdp.status !== 200) throw new Error(`sign-in: expected the IdP's login page, got HTTP ${toIdp.status} from ${toIdp.url}`);
  if (toIdp.url.startsWith(appUrl)) return toIdp; // single sign-on: no login form
  const html = await toIdp.text();
  const form = parseForm(html);
  const landed = await browser.submit(form, toIdp.url, { username, password }, { follow: true });
  return landed;
}

export async function sessionOf(browser: HttpSession, appUrl: string): Promise<Response> {
  return browser.fetch(`${appUrl}/api/session`);
}

/**
 * Confirms a logout on the IdP's confirm page, as a browser would: the IdP answers with a page
 * that loads the front-channel iframes, then moves on through its continue link (over plain HTTP
 * nothing runs the iframes, so this skips straight to the link). Returns the final response.
 */
export async function confirmIdpLogout(browser: HttpSession, confirmPage: Response): Promise<Response> {
  const form = parseForm(await confirmPage.text(), "op.logoutForm");
  const answer = await browser.submit(form, confirmPage.url, { logout: "yes" }, { follow: true });
  if (!answer.url.includes("/session/end/confirm")) return answer;
  return browser.fetch(new URL(continueLinkOf(await answer.text()), answer.url), {}, { follow: true });
}
