import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSession } from "../support/http-client";
import { bank, signIn, startTestStack } from "../support/lockstep";
import type { Stack } from "../../demo/scripts/stack";
import type { ResourceRequestRecord } from "../../demo/api/server";
import { demoUsers } from "../../demo/idp/users";

/**
 * The token kinds of apis.ts (lib/api/tokens.ts) end to end: the built Bank's proxy and fetchApi
 * calling the demo resource server (demo/api/), which checks what each request carried:
 * - `none` (market): no Authorization, signed in or not (the resource server refuses any token);
 * - `client` (reports): the app's own token from the client credentials grant (RFC 6749 §4.4) for the
 *   reports audience (RFC 8707), its `sub` the client (RFC 9068 §2.2), fetched once and reused across
 *   sessions; a signed-in session is still required;
 * - `user-or-none` (news): the user's token for the news audience when signed in, none when not;
 * and the dashboard's report card, rendered on the server with fetchApi.
 */
const alice = demoUsers.find((u) => u.username === "alice")!;
const bob = demoUsers.find((u) => u.username === "bob")!;
const JWT = /eyJ[A-Za-z0-9_-]{10,}/;

let stack: Stack;
let bankUrl: string;

beforeAll(async () => {
  stack = await startTestStack({
    apps: [{ ...bank, remoteApis: { statements: "statements", market: "market", reports: "reports", news: "news" } }],
  });
  bankUrl = stack.apps[0]!.url;
});

afterAll(async () => {
  await stack?.stop();
});

const callApi = (browser: HttpSession, path: string) => browser.fetch(`${bankUrl}/api/remote/${path}`, { headers: { "x-csrf": "1" } });

/** What the resource server answered from `since` on, for one mount. */
const served = (resource: ResourceRequestRecord["resource"], since = 0) =>
  stack.resourceServer!.requests.slice(since).filter((r) => r.resource === resource);

/** Token-endpoint requests the Bank made at the IdP so far (every grant authenticates the client). */
const tokenRequests = () => stack.idp.clientAuthentications.filter((a) => a.clientId === bank.clientId && a.endpoint === "token").length;

/** No JWT, and nothing that looks like one, in what the browser gets. */
async function expectNoToken(response: Response): Promise<string> {
  const text = await response.text();
  expect(text).not.toMatch(JWT);
  for (const [, value] of response.headers) expect(value).not.toMatch(JWT);
  return text;
}

async function signedIn(user = alice): Promise<HttpSession> {
  const browser = new HttpSession();
  const landed = await signIn(browser, bankUrl, user.username, user.password);
  expect(new URL(landed.url).pathname).toBe("/account");
  return browser;
}

describe("token: none (the market)", () => {
  it("reaches the upstream with no Authorization for a signed-out browser: the guard lets /api/remote/ through", async () => {
    const before = stack.resourceServer!.requests.length;
    const response = await callApi(new HttpSession(), "market/quotes");
    expect(response.status).toBe(200);
    expect((JSON.parse(await expectNoToken(response)) as { items: unknown[] }).items.length).toBeGreaterThan(0);
    // The resource server refuses any Authorization (400 token_not_expected): a 200 there means none was sent.
    expect(served("market", before)).toEqual([{ resource: "market", path: "quotes", status: 200 }]);
  });

  it("sends no token for a signed-in browser either", async () => {
    const browser = await signedIn();
    const before = stack.resourceServer!.requests.length;
    expect((await callApi(browser, "market/quotes")).status).toBe(200);
    expect(served("market", before)).toEqual([{ resource: "market", path: "quotes", status: 200 }]);
  });
});

describe("token: client (the reports)", () => {
  it("answers 401 without a session, and reaches no upstream", async () => {
    const before = stack.resourceServer!.requests.length;
    const response = await callApi(new HttpSession(), "reports/summary");
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "unauthorized" });
    expect(stack.resourceServer!.requests).toHaveLength(before);
  });

  it("carries the app's own token for the reports audience (sub = the client, RFC 9068 §2.2), fetched once and reused across sessions", async () => {
    // Both sign-ins land on the dashboard, whose report card already called the API on the server.
    const [first, second] = await Promise.all([signedIn(alice), signedIn(bob)]);
    const grants = tokenRequests();
    const before = stack.resourceServer!.requests.length;
    for (const browser of [first, second]) {
      const response = await callApi(browser, "reports/summary");
      expect(response.status).toBe(200);
      expect(JSON.parse(await expectNoToken(response))).toMatchObject({ items: expect.any(Array) });
    }
    const calls = served("reports", before);
    expect(calls).toHaveLength(2);
    for (const call of calls) expect(call).toMatchObject({ status: 200, scheme: "Bearer", sub: bank.clientId, clientId: bank.clientId });
    // One token: the same jti every time the app called the reports, and no token request for these calls (RFC 6749 §4.4, cached per API).
    expect(new Set(served("reports").map((r) => r.jti)).size).toBe(1);
    expect(tokenRequests()).toBe(grants);
  });

  it("after a sign-out answers 401 and reaches no upstream", async () => {
    const browser = await signedIn();
    expect((await callApi(browser, "reports/summary")).status).toBe(200);
    const cookieHeader = browser.cookieHeader(bankUrl)!;
    const signOut = await browser.fetch(`${bankUrl}/api/logout`, { method: "POST", headers: { origin: bankUrl } });
    expect(signOut.status).toBe(303);
    const before = stack.resourceServer!.requests.length;

    const afterwards = await callApi(browser, "reports/summary");
    expect(afterwards.status).toBe(401);
    expect(await afterwards.json()).toMatchObject({ error: "unauthorized" });
    // The cookie as it was, from another tab or copied: the session is over all the same.
    const replayed = await fetch(`${bankUrl}/api/remote/reports/summary`, { headers: { "x-csrf": "1", cookie: cookieHeader } });
    expect(replayed.status).toBe(401);
    expect(stack.resourceServer!.requests).toHaveLength(before);
  });
});

describe("token: user-or-none (the news)", () => {
  it("sends the user's token for the news audience when signed in: her own headlines", async () => {
    const browser = await signedIn();
    const before = stack.resourceServer!.requests.length;
    const response = await callApi(browser, "news/headlines");
    expect(response.status).toBe(200);
    expect(JSON.parse(await expectNoToken(response))).toMatchObject({ personalised: true });
    expect(served("news", before)).toEqual([
      expect.objectContaining({ status: 200, scheme: "Bearer", sub: alice.sub, clientId: bank.clientId }),
    ]);
  });

  it("sends none when signed out: the generic headlines", async () => {
    const before = stack.resourceServer!.requests.length;
    const response = await callApi(new HttpSession(), "news/headlines");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ personalised: false });
    expect(served("news", before)).toEqual([{ resource: "news", path: "headlines", status: 200 }]);
  });
});

describe("fetchApi from a server component (the dashboard's report card)", () => {
  it("shows the bank-wide report, fetched on the server with the app's token, and no token reaches the page", async () => {
    const browser = new HttpSession();
    const before = stack.resourceServer!.requests.length;
    const landed = await signIn(browser, bankUrl, alice.username, alice.password);
    const html = await landed.text();
    expect(html).toContain('data-testid="server-report"');
    expect(html).toContain("Bank-wide report");
    expect(html).toContain("Customers");
    expect(html).not.toContain("unavailable just now");
    expect(html).not.toMatch(JWT);
    expect(html).not.toContain(stack.resourceServer!.url);
    expect(served("reports", before)).toEqual([expect.objectContaining({ status: 200, sub: bank.clientId })]);
    // The browser-side cards of the other two are there too (names only).
    expect(html).toContain('data-api="market"');
    expect(html).toContain('data-api="news"');
    expect(html).not.toContain('data-api="reports"');
  });
});
