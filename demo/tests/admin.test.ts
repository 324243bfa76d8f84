// The demo IdP's admin page and its "End all sessions" action (sub-only back-channel logout tokens).
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { demoUsers } from "../idp/users";
import { HttpSession, parseForm } from "../../tests/support/http-client";
import { authorize, BACKCHANNEL_EVENT, closedPort, redeem, startAppServer, tokenRequest, type AppServer } from "./support";

const HOSTILE_NAME = `Second <script>alert("x")</script> & Co`;
const ESCAPED_NAME = "Second &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co";

/** The admin page's table row for a user. */
function rowOf(html: string, username: string): string {
  const row = html.split("<tr>").find((r) => r.includes(`<strong>${username}</strong>`));
  if (!row) throw new Error(`no row for ${username}`);
  return row.slice(0, row.indexOf("</tr>"));
}

describe("demo IdP admin page", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  const bob = demoUsers.find((u) => u.username === "bob")!;
  const logs: string[] = [];
  // Alice signs in with two browsers; bob with a third.
  const browserA = new HttpSession();
  const browserB = new HttpSession();
  const bobsBrowser = new HttpSession();
  let app: AppServer;
  let idp: RunningIdp;
  let first: DemoClient;
  let second: DemoClient;
  let noBackchannel: DemoClient;
  let offline: DemoClient;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  let rsaKid: string;
  let aliceRefreshToken: string;

  const signIn = (browser: HttpSession, client: DemoClient, user?: { username: string; password: string }) =>
    authorize(browser, idp.issuer, client, user);
  const adminPage = async () => {
    const res = await fetch(`${idp.issuer}/admin`);
    return { res, html: await res.text() };
  };
  const postEndSessions = (username: string, headers: Record<string, string>, base = idp.issuer) =>
    fetch(`${base}/admin/end-sessions`, { method: "POST", headers, body: new URLSearchParams({ username }) });

  beforeAll(async () => {
    app = await startAppServer();
    first = {
      clientId: "first-app",
      clientSecret: "first-secret",
      appUrl: app.origin,
      name: "First App",
      backchannelSessionRequired: true,
    };
    second = { clientId: "second-app", clientSecret: "second-secret", appUrl: `${app.origin}/second`, name: HOSTILE_NAME };
    noBackchannel = {
      clientId: "quiet-app",
      clientSecret: "quiet-secret",
      appUrl: `${app.origin}/quiet`,
      name: "Quiet App",
      backchannelLogout: false,
    };
    offline = {
      clientId: "offline-app",
      clientSecret: "offline-secret",
      appUrl: `http://localhost:${await closedPort()}`,
      name: "Offline App",
    };
    idp = await startIdp({
      port: 0,
      clients: [first, second, noBackchannel, offline],
      accessTokenTtlSeconds: 300,
      log: (line) => logs.push(line),
    });
    jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const { keys } = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: { kty: string; kid: string }[] };
    rsaKid = keys.find((k) => k.kty === "RSA")!.kid;

    // Alice: browser A signs in to all four apps (password once, then single sign-on), browser B to the first.
    const firstLogin = await signIn(browserA, first, alice);
    const redeemed = await redeem(idp.issuer, first, firstLogin.code!, firstLogin.pending.verifier);
    aliceRefreshToken = String(redeemed.body.refresh_token);
    for (const client of [second, noBackchannel, offline]) expect((await signIn(browserA, client)).code).toEqual(expect.any(String));
    expect((await signIn(browserB, first, alice)).code).toEqual(expect.any(String));
    expect((await signIn(bobsBrowser, first, bob)).code).toEqual(expect.any(String));
  });

  afterAll(async () => {
    await idp?.close();
    await app?.close();
  });

  it("is linked from the login page", async () => {
    const { page } = await signIn(new HttpSession(), first);
    expect(page?.status).toBe(200);
    expect(page?.html).toContain('<a href="/admin">');
  });

  it("lists each demo user's IdP sessions and the apps they are signed in to, escaped", async () => {
    const { res, html } = await adminPage();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(html).toContain("has no sign-in because the demo");
    expect(html).toContain("Never copy it into a real identity provider");

    const aliceRow = rowOf(html, "alice");
    expect(aliceRow).toContain(`<td data-label="IdP sessions">2</td>`);
    for (const client of [first, noBackchannel, offline]) expect(aliceRow).toContain(`${client.name} (<code>${client.clientId}</code>)`);
    expect(aliceRow).toContain(ESCAPED_NAME);
    expect(html).not.toContain("<script>");

    const bobRow = rowOf(html, "bob");
    expect(bobRow).toContain(`<td data-label="IdP sessions">1</td>`);
    expect(bobRow).toContain("First App");
    expect(bobRow).not.toContain("Quiet App");

    expect(parseForm(html)).toEqual({ action: "/admin/end-sessions", method: "POST", fields: { username: "alice" } });
  });

  it("refuses the end-sessions POST without a same-origin Origin or Sec-Fetch-Site (403)", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { origin: "http://evil.example" },
      { origin: "null" },
      { origin: "http://evil.example", "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      // Sec-Fetch-Site alone is not enough: a form POST from a browser always carries Origin.
      { "sec-fetch-site": "same-origin" },
      { origin: "http://evil.example", "sec-fetch-site": "same-origin" },
      { origin: idp.issuer.replace("localhost", "127.0.0.1") },
    ];
    for (const headers of attempts) {
      const res = await postEndSessions("alice", headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(await res.text()).toContain("only accepts the form on the IdP");
    }
    expect(app.deliveries).toEqual([]);
    expect(rowOf((await adminPage()).html, "alice")).toContain(`<td data-label="IdP sessions">2</td>`);
  });

  it("endAllSessions sends each app with a session one sub-only logout token and records the answers", async () => {
    app.statusFor = (path) => (path.startsWith("/second/") ? 204 : 200);
    const results = await idp.endAllSessions("alice");

    // Registration order; the app without a back-channel logout URI gets nothing; the offline one never answers.
    expect(results).toEqual([
      { client: first.clientId, status: 200 },
      { client: second.clientId, status: 204 },
      { client: offline.clientId, status: 0 },
    ]);
    expect(logs.some((line) => line.includes("offline-app failed"))).toBe(true);

    const deliveries = [...app.deliveries].sort((a, b) => a.path.localeCompare(b.path));
    expect(deliveries.map((d) => d.path)).toEqual(["/api/backchannel-logout", "/second/api/backchannel-logout"]);
    const jtis = new Set<unknown>();
    for (const [delivery, client] of [
      [deliveries[0]!, first],
      [deliveries[1]!, second],
    ] as const) {
      expect(delivery.contentType).toMatch(/^application\/x-www-form-urlencoded/);
      expect(Object.keys(delivery.fields)).toEqual(["logout_token"]);
      expect(decodeProtectedHeader(delivery.logoutToken)).toEqual({ alg: "RS256", kid: rsaKid, typ: "logout+jwt" });
      const { payload } = await jwtVerify(delivery.logoutToken, jwks, {
        issuer: idp.issuer,
        audience: client.clientId,
        typ: "logout+jwt",
        algorithms: ["RS256"],
        requiredClaims: ["iat", "exp", "jti", "sub", "events"],
      });
      // No sid, even for the app that registered backchannel_logout_session_required: every session of alice.
      expect(Object.keys(payload).sort()).toEqual(["aud", "events", "exp", "iat", "iss", "jti", "sub"]);
      expect(payload).toMatchObject({ sub: alice.sub, aud: client.clientId, events: { [BACKCHANNEL_EVENT]: {} } });
      expect(payload.exp! - payload.iat!).toBe(120);
      jtis.add(payload.jti);
    }
    expect(jtis.size).toBe(2);
  });

  it("has ended every IdP session of alice, and her grants, but not bob's", async () => {
    for (const browser of [browserA, browserB]) {
      const { page } = await signIn(browser, first);
      expect(page?.status).toBe(200);
      expect(page?.html).toContain("<title>Sign in to Lockstep Demo IdP</title>");
    }
    const refresh = await tokenRequest(idp.issuer, first, { grant_type: "refresh_token", refresh_token: aliceRefreshToken });
    expect(refresh.body.error).toBe("invalid_grant");

    expect((await signIn(bobsBrowser, second)).code).toEqual(expect.any(String));
    const { html } = await adminPage();
    expect(rowOf(html, "alice")).toContain(`<td data-label="IdP sessions">0</td>`);
    expect(rowOf(html, "bob")).toContain(`<td data-label="IdP sessions">1</td>`);
  });

  it("runs the action from the admin page's own form and renders what was sent, escaped", async () => {
    app.deliveries.length = 0;
    expect((await signIn(browserA, second, alice)).code).toEqual(expect.any(String));
    const { html: page } = await adminPage();
    const form = parseForm(page);

    const res = await postEndSessions(form.fields.username!, { origin: idp.issuer });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain("Ended 1 IdP session of <strong>alice</strong>.");
    expect(html).toContain("Never copy it into a real identity provider");
    expect(html).toContain(ESCAPED_NAME);
    expect(html).not.toContain("<script>");
    expect(html).toContain(`<code>${second.appUrl}/api/backchannel-logout</code>`);
    expect(html).toContain(`&quot;sub&quot;: &quot;${alice.sub}&quot;`);
    expect(html).toContain(`&quot;aud&quot;: &quot;${second.clientId}&quot;`);
    // The logout token has no sid; only the front-channel iframe URL carries one.
    expect(html).not.toContain("&quot;sid&quot;");
    expect(html).toContain("HTTP 204");
    expect(app.deliveries.map((d) => d.path)).toEqual(["/second/api/backchannel-logout"]);
  });

  it("accepts the form from the IdP opened as 127.0.0.1 (Origin of that page and Sec-Fetch-Site: same-origin) and says when nothing was sent", async () => {
    app.deliveries.length = 0;
    const base = idp.issuer.replace("localhost", "127.0.0.1");
    const bobsApps = await postEndSessions("bob", { origin: new URL(base).origin, "sec-fetch-site": "same-origin" }, base);
    expect(bobsApps.status).toBe(200);
    expect(await bobsApps.text()).toContain("Ended 1 IdP session of <strong>bob</strong>.");
    expect(app.deliveries.map((d) => d.path).sort()).toEqual(["/api/backchannel-logout", "/second/api/backchannel-logout"]);

    const nothing = await postEndSessions("bob", { origin: new URL(idp.issuer).origin });
    const html = await nothing.text();
    expect(html).toContain("Ended 0 IdP sessions of <strong>bob</strong>.");
    expect(html).toContain("no logout token was sent");
  });

  it("answers bad admin requests with 400 and 405", async () => {
    const unknown = await postEndSessions("<mallory>", { origin: idp.issuer });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain("There is no demo user with that username.");
    await expect(idp.endAllSessions("mallory")).rejects.toThrow("no demo user");

    const json = await fetch(`${idp.issuer}/admin/end-sessions`, {
      method: "POST",
      headers: { origin: idp.issuer, "content-type": "application/json" },
      body: JSON.stringify({ username: "alice" }),
    });
    expect(json.status).toBe(400);

    const get = await fetch(`${idp.issuer}/admin/end-sessions`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const post = await fetch(`${idp.issuer}/admin`, { method: "POST", headers: { origin: idp.issuer } });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("sendLogoutToken posts a given token (with an extra parameter) and answers the app's status", async () => {
    app.deliveries.length = 0;
    app.statusFor = (path) => (path.startsWith("/second/") ? 400 : 200);
    const token = await idp.sign({ sub: alice.sub }, { header: { typ: "logout+jwt" } });

    expect(await idp.sendLogoutToken(first.clientId, token)).toBe(200);
    expect(await idp.sendLogoutToken(second.clientId, "not-a-jwt")).toBe(400);
    expect(app.deliveries.map((d) => [d.path, d.fields])).toEqual([
      ["/api/backchannel-logout", { logout_token: token, ignored_parameter: "x" }],
      ["/second/api/backchannel-logout", { logout_token: "not-a-jwt", ignored_parameter: "x" }],
    ]);

    await expect(idp.sendLogoutToken("no-such-app", token)).rejects.toThrow("unknown or has no back-channel logout URI");
    await expect(idp.sendLogoutToken(noBackchannel.clientId, token)).rejects.toThrow("unknown or has no back-channel logout URI");
    await expect(idp.sendLogoutToken(offline.clientId, token)).rejects.toThrow();
  });
});
