import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSession } from "../support/http-client";
import { bank, signIn, startTestStack } from "../support/lockstep";
import type { AppSpec, Stack } from "../../demo/scripts/stack";
import { demoUsers } from "../../demo/idp/users";

/**
 * The demo's remote APIs end to end over HTTP: the built app's proxy (`/api/remote/<name>/<path>`)
 * calling the demo resource server (demo/api/) with tokens from the demo IdP. The Bank's statements
 * with a bearer JWT (RFC 8707, RFC 9068), the Brokerage's portfolio with a DPoP-bound one (RFC 9449),
 * nonces demanded by both the IdP and the resource server so that the proxy's retries are exercised;
 * and after a sign-out, the next API call is refused by Lockstep itself and reaches no upstream.
 */
const brokerage: AppSpec = {
  appId: "brokerage",
  name: "Lockstep Brokerage",
  clientId: "lockstep-brokerage",
  clientSecret: "brokerage-test-secret-0123",
  remoteApis: { portfolio: "portfolio" },
};
const alice = demoUsers.find((u) => u.username === "alice")!;

let stack: Stack;
let bankUrl: string;
let brokerageUrl: string;

beforeAll(async () => {
  stack = await startTestStack({
    apps: [{ ...bank, remoteApis: { statements: "statements" } }, brokerage],
    dpopRequireNonce: true,
    resourceServer: { requireDpopNonce: true },
  });
  [bankUrl, brokerageUrl] = stack.apps.map((a) => a.url) as [string, string];
});

afterAll(async () => {
  await stack?.stop();
});

const callApi = (browser: HttpSession, app: string, path: string, headers: Record<string, string> = { "x-csrf": "1" }) =>
  browser.fetch(`${app}/api/remote/${path}`, { headers });

/** No JWT, and nothing that looks like one, in what the browser gets. */
async function expectNoToken(response: Response): Promise<string> {
  const text = await response.text();
  expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  for (const [, value] of response.headers) expect(value).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  return text;
}

describe("the dashboard's remote APIs through the proxy", () => {
  it("puts a Statements card on the Bank's dashboard, naming the API and nothing more", async () => {
    const browser = new HttpSession();
    const landed = await signIn(browser, bankUrl, alice.username, alice.password);
    expect(new URL(landed.url).pathname).toBe("/account");
    const html = await landed.text();
    expect(html).toContain('data-api="statements"');
    expect(html).not.toContain('data-api="portfolio"');
    expect(html).not.toContain(stack.resourceServer!.url);
  });

  it("shows alice's statements: the proxy sends her bearer JWT for the statements resource, the browser never sees it", async () => {
    const browser = new HttpSession();
    await signIn(browser, bankUrl, alice.username, alice.password);
    const response = await callApi(browser, bankUrl, "statements/statements");
    expect(response.status).toBe(200);
    const body = JSON.parse(await expectNoToken(response)) as { items: Record<string, string>[] };
    expect(body.items).toHaveLength(3);
    expect(body.items[0]).toEqual(expect.objectContaining({ period: expect.any(String), closing_balance: expect.any(String) }));
    expect(stack.resourceServer!.requests.at(-1)).toMatchObject({
      resource: "statements",
      status: 200,
      scheme: "Bearer",
      sub: alice.sub,
      clientId: bank.clientId,
    });
  });

  it("refuses a call without the anti-forgery header, before any upstream", async () => {
    const browser = new HttpSession();
    await signIn(browser, bankUrl, alice.username, alice.password);
    const before = stack.resourceServer!.requests.length;
    expect((await callApi(browser, bankUrl, "statements/statements", {})).status).toBe(403);
    expect(stack.resourceServer!.requests).toHaveLength(before);
  });

  it("shows the Brokerage's holdings with a DPoP-bound token and a proof, through both servers' nonces (RFC 9449 §8, §9)", async () => {
    const browser = new HttpSession();
    await signIn(browser, brokerageUrl, alice.username, alice.password);
    const response = await callApi(browser, brokerageUrl, "portfolio/holdings");
    expect(response.status).toBe(200);
    const body = JSON.parse(await expectNoToken(response)) as { items: Record<string, unknown>[] };
    expect(body.items.length).toBeGreaterThan(0);
    const served = stack.resourceServer!.requests.filter((r) => r.resource === "portfolio");
    expect(served.at(-1)).toMatchObject({
      status: 200,
      scheme: "DPoP",
      sub: alice.sub,
      clientId: brokerage.clientId,
      jkt: expect.any(String),
    });
    // The proxy's first proof had no nonce: the resource server asked for one (RFC 9449 §9).
    expect(served.some((r) => r.code === "use_dpop_nonce")).toBe(true);
  });

  it("after a sign-out, the next API call is answered 401 by Lockstep and reaches no upstream", async () => {
    const browser = new HttpSession();
    await signIn(browser, bankUrl, alice.username, alice.password);
    expect((await callApi(browser, bankUrl, "statements/statements")).status).toBe(200);
    // The session cookie as it was: what another tab of this browser, or a copied cookie, would still send.
    const cookieHeader = browser.cookieHeader(bankUrl)!;

    const signOut = await browser.fetch(`${bankUrl}/api/logout`, { method: "POST", headers: { origin: bankUrl } });
    expect(signOut.status).toBe(303);
    const before = stack.resourceServer!.requests.length;

    const afterwards = await callApi(browser, bankUrl, "statements/statements");
    expect(afterwards.status).toBe(401);
    expect(await afterwards.json()).toMatchObject({ error: "unauthorized" });

    const replayed = await fetch(`${bankUrl}/api/remote/statements/statements`, { headers: { "x-csrf": "1", cookie: cookieHeader } });
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ error: "unauthorized" });
    expect(stack.resourceServer!.requests).toHaveLength(before);
  });
});
