/**
 * Sign-in failures name their cause, end to end against the demo IdP: a wrong client secret and a
 * browser at 127.0.0.1 while AUTH_URL says localhost each land on the signed-out page with a message
 * of their own (its data-reason), and leave one `sign_in.failed` line naming the setting to fix, with
 * no Auth.js stack trace. The other causes are classified in tests/unit/sign-in-errors.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSession } from "../support/http-client";
import { bank, signIn, startTestStack } from "../support/lockstep";
import type { AppSpec, Stack } from "../../demo/scripts/stack";

const wrongSecret: AppSpec = {
  appId: "wrong",
  name: "Lockstep Wrong Secret",
  clientId: "lockstep-wrong",
  clientSecret: "wrong-test-secret-registered-0123",
  // The IdP knows the secret above; the app is given another. Without PAR, so that the code exchange
  // is the first request that authenticates (with PAR the push is refused first: par_refused).
  env: { OIDC_CLIENT_SECRET: "not-the-registered-secret-4567", OIDC_PAR: "off" },
};

let stack: Stack;
const lines: { source: string; line: string }[] = [];

beforeAll(async () => {
  const echo = process.env.LOCKSTEP_TEST_LOGS === "1";
  stack = await startTestStack({
    apps: [bank, wrongSecret],
    log: (source, line) => {
      lines.push({ source, line });
      if (echo) console.log(`[${source}] ${line}`);
    },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const appUrl = (appId: string) => stack.apps.find((a) => a.appId === appId)!.url;

/** The security lines an app wrote since `from`. */
function securityLines(appId: string, from: number): Record<string, unknown>[] {
  return lines
    .slice(from)
    .filter((l) => l.source === appId && l.line.startsWith("{"))
    .map((l) => JSON.parse(l.line) as Record<string, unknown>)
    .filter((entry) => entry.kind === "security");
}

function reasonOf(html: string): string | undefined {
  return /data-reason="([^"]+)"/.exec(html)?.[1];
}

describe("sign-in failures name their cause", () => {
  it("a wrong OIDC_CLIENT_SECRET: invalid_client at the token endpoint, named on the page and in one log line", async () => {
    const from = lines.length;
    const landed = await signIn(new HttpSession(), appUrl("wrong"), "alice", "alice-password");
    expect(new URL(landed.url).pathname).toBe("/signed-out");
    // Only a fixed code in the URL; the cause rides in a one-minute cookie.
    expect(new URL(landed.url).search).toBe("?error=Configuration");
    expect(reasonOf(await landed.text())).toBe("sign_in_client_rejected");

    await expect.poll(() => securityLines("wrong", from).filter((e) => e.event === "sign_in.failed")).toHaveLength(1);
    expect(securityLines("wrong", from).find((e) => e.event === "sign_in.failed")).toMatchObject({
      outcome: "error",
      code: "client_rejected",
      setting: "OIDC_CLIENT_ID/OIDC_CLIENT_SECRET",
      oauth_error: "invalid_client",
    });
    const output = lines.slice(from).filter((l) => l.source === "wrong");
    expect(output.some((l) => l.line.includes("[auth][error]") || /^\s+at /.test(l.line))).toBe(false);
    expect(output.some((l) => l.line.includes("not-the-registered-secret"))).toBe(false);
  });

  it("a browser at 127.0.0.1 while AUTH_URL says localhost: the check cookies do not come back, AUTH_URL is named", async () => {
    const from = lines.length;
    const local = new URL(appUrl("bank"));
    expect(local.hostname).toBe("localhost");
    const elsewhere = `http://127.0.0.1:${local.port}`;
    const landed = await signIn(new HttpSession(), elsewhere, "alice", "alice-password");
    // The IdP sends the browser back to AUTH_URL's host, which never saw the state and PKCE cookies.
    expect(landed.url).toBe(`${local.origin}/signed-out?error=Configuration`);
    const html = await landed.text();
    expect(reasonOf(html)).toBe("sign_in_host_mismatch");
    expect(html).toContain(local.origin);

    await expect.poll(() => securityLines("bank", from).filter((e) => e.event === "sign_in.failed")).toHaveLength(1);
    expect(securityLines("bank", from).find((e) => e.event === "sign_in.failed")).toMatchObject({
      code: "host_mismatch",
      setting: "AUTH_URL",
      type: "InvalidCheck",
    });
  });

  it("the same app at its own address signs in, and its signed-out page says nothing of a failure", async () => {
    const browser = new HttpSession();
    const landed = await signIn(browser, appUrl("bank"), "alice", "alice-password");
    expect(new URL(landed.url).pathname).toBe("/account");
    const page = await browser.fetch(`${appUrl("bank")}/signed-out`);
    expect(reasonOf(await page.text())).not.toMatch(/^sign_in_/);
  });
});
