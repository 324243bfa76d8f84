import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpSession } from "../support/http-client";
import { bank, sessionOf, signIn, startTestStack } from "../support/lockstep";
import { nextEnded } from "../support/events";
import type { RunningApp, Stack } from "../../demo/scripts/stack";

/**
 * Front-Channel Logout 1.0 and the live feed to open tabs (server-sent events), over HTTP against
 * the built app; the same in real browser tabs is in tests/e2e.
 */
let stack: Stack;
let app: string;
let second: RunningApp;

beforeAll(async () => {
  stack = await startTestStack();
  app = stack.apps[0]!.url;
  second = await stack.addInstance(stack.apps[0]!);
});

afterAll(async () => {
  await stack?.stop();
});

type SessionJson = { user: { sub: string }; session: { id: string; idp: { sid: string } } };

async function signedIn() {
  const browser = new HttpSession();
  await signIn(browser, app, "alice", "alice-password");
  const session = (await (await sessionOf(browser, app)).json()) as SessionJson;
  return { browser, session };
}

function frontchannel(query: Record<string, string>, browser?: HttpSession) {
  const url = `${app}/api/frontchannel-logout?${new URLSearchParams(query)}`;
  return browser ? browser.fetch(url) : fetch(url);
}

describe("Front-Channel Logout 1.0 (FCL)", () => {
  it("ends the session named by iss and sid on the server, with no cookie (FCL §2, §4.1)", async () => {
    const { browser, session } = await signedIn();
    const response = await frontchannel({ iss: stack.issuer, sid: session.session.idp.sid });
    expect(response.status).toBe(200);
    const refused = await sessionOf(browser, app);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "unauthorized", reason: "frontchannel_logout" });
  });

  it("answers a small no-store page frameable by the IdP's origin only (FCL §2, §4.1)", async () => {
    const { session } = await signedIn();
    const response = await frontchannel({ iss: stack.issuer, sid: session.session.idp.sid });
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-security-policy")).toBe(`frame-ancestors ${new URL(stack.issuer).origin}`);
    expect(response.headers.get("x-frame-options")).toBeNull();
    expect((await response.text()).length).toBeLessThan(2000);
  });

  it("answers a page that names no session: neither Lockstep's session id nor the IdP's sid", async () => {
    const { session } = await signedIn();
    const body = await (await frontchannel({ iss: stack.issuer, sid: session.session.idp.sid })).text();
    expect(body).not.toContain(session.session.id);
    expect(body).not.toContain(session.session.idp.sid);
  });

  it("counts an already ended session as success, even with its stale cookie in the iframe (FCL §2)", async () => {
    const { browser, session } = await signedIn();
    await frontchannel({ iss: stack.issuer, sid: session.session.idp.sid });
    const again = await frontchannel({ iss: stack.issuer, sid: session.session.idp.sid }, browser);
    expect(again.status).toBe(200);
  });

  const ignored: [string, (s: SessionJson) => Record<string, string>][] = [
    ["only iss (FCL §2: both or neither)", () => ({ iss: stack.issuer })],
    ["only sid (FCL §2: both or neither)", (s) => ({ sid: s.session.idp.sid })],
    ["neither, with frontchannel_logout_session_required (FCL §2)", () => ({})],
    ["another issuer (FCL §2: mismatch)", (s) => ({ iss: `${stack.issuer}/other`, sid: s.session.idp.sid })],
    ["an unknown sid (FCL §2: mismatch)", () => ({ iss: stack.issuer, sid: randomUUID() })],
  ];
  for (const [name, query] of ignored) {
    it(`ignores a request with ${name}: 200, and the session goes on`, async () => {
      const { browser, session } = await signedIn();
      const response = await frontchannel(query(session), browser);
      expect(response.status).toBe(200);
      expect((await sessionOf(browser, app)).status).toBe(200);
    });
  }
});

describe("live tabs: the server's event stream", () => {
  it("refuses a stream without a live session", async () => {
    expect((await fetch(`${app}/api/session/events`)).status).toBe(401);
  });

  it("tells every open stream, on every instance behind the same Redis, within a second, with the reason", async () => {
    const { browser, session } = await signedIn();
    const streams = await Promise.all([app, second.url, second.url].map((base) => browser.fetch(`${base}/api/session/events`)));
    for (const s of streams) {
      expect(s.status).toBe(200);
      expect(s.headers.get("content-type")).toBe("text/event-stream");
    }
    const waiting = streams.map((s) => nextEnded(s, 3000));
    const token = await stack.idp.sign({
      iss: stack.issuer,
      aud: bank.clientId,
      sub: session.user.sub,
      sid: session.session.idp.sid,
      jti: randomUUID(),
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 120,
      events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    const t0 = Date.now();
    expect(
      (await fetch(`${app}/api/backchannel-logout`, { method: "POST", body: new URLSearchParams({ logout_token: token }) })).status,
    ).toBe(200);
    const results = await Promise.all(waiting);
    for (const result of results) {
      expect(result?.reason).toBe("revoked");
    }
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it("tells a tab when this session is ended from another of the user's sessions", async () => {
    const mine = await signedIn();
    const other = await signedIn();
    const stream = await other.browser.fetch(`${app}/api/session/events`);
    const waiting = nextEnded(stream, 3000);
    const end = await mine.browser.fetch(`${app}/api/sessions/end`, {
      method: "POST",
      headers: { origin: app },
      body: new URLSearchParams({ id: other.session.session.id }),
    });
    expect(end.status).toBe(303);
    expect((await waiting)?.reason).toBe("ended_elsewhere");
  });

  it("refuses a cross-site 'sign out this device'", async () => {
    const mine = await signedIn();
    const other = await signedIn();
    const forged = await mine.browser.fetch(`${app}/api/sessions/end`, {
      method: "POST",
      headers: { origin: "http://evil.example" },
      body: new URLSearchParams({ id: other.session.session.id }),
    });
    expect(forged.status).toBe(403);
    expect((await sessionOf(other.browser, app)).status).toBe(200);
  });

  it("never lets one user end another user's session", async () => {
    const alice = await signedIn();
    const bob = new HttpSession();
    await signIn(bob, app, "bob", "bob-password");
    const response = await bob.fetch(`${app}/api/sessions/end`, {
      method: "POST",
      headers: { origin: app },
      body: new URLSearchParams({ id: alice.session.session.id }),
    });
    expect(response.status).toBe(404);
    expect((await sessionOf(alice.browser, app)).status).toBe(200);
  });
});

describe("limits on live-update streams", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Opens a stream and leaves it open; `close` aborts it as a closed tab would. */
  async function open(url: string, cookie: string) {
    const controller = new AbortController();
    const response = await fetch(`${url}/api/session/events`, { headers: { cookie }, signal: controller.signal });
    return { response, close: () => controller.abort() };
  }
  const head = (url: string, cookie: string) => fetch(`${url}/api/session/events`, { method: "HEAD", headers: { cookie } });
  /** The text a stream sends until it closes (bounded). */
  async function readToEnd(response: Response, ms: number): Promise<string> {
    const reader = response.body!.getReader();
    const timer = setTimeout(() => void reader.cancel(), ms);
    let text = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += new TextDecoder().decode(value);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  it("holds at most 10 streams per session on one instance: 429 with Retry-After beyond, and HEAD says so without opening one", async () => {
    const { browser } = await signedIn();
    const cookie = browser.cookieHeader(app)!;
    const streams: Awaited<ReturnType<typeof open>>[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        streams.push(await open(app, cookie));
        expect(streams.at(-1)!.response.status).toBe(200);
      }
      const refused = await open(app, cookie);
      expect(refused.response.status).toBe(429);
      expect(Number(refused.response.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await refused.response.json()) as { error: string }).error).toBe("session_streams_full");
      const asked = await head(app, cookie);
      expect(asked.status).toBe(429);
      expect(Number(asked.headers.get("retry-after"))).toBeGreaterThan(0);
      // Each instance counts its own streams.
      const elsewhere = await open(second.url, cookie);
      expect(elsewhere.response.status).toBe(200);
      elsewhere.close();
      // A tab closes: there is room again.
      streams.pop()!.close();
      let status = 0;
      for (let i = 0; i < 50 && status !== 204; i++, await sleep(100)) status = (await head(app, cookie)).status;
      expect(status).toBe(204);
    } finally {
      for (const stream of streams) stream.close();
    }
  });

  it("holds at most LIVE_MAX_STREAMS per process (503 with Retry-After beyond), and renews a stream after LIVE_STREAM_MAX_SECONDS", async () => {
    const running = stack.apps[0]!;
    const limited = await stack.addInstance({ ...running, env: { ...running.env, LIVE_MAX_STREAMS: "2", LIVE_STREAM_MAX_SECONDS: "2" } });
    const cookies = await Promise.all([signedIn(), signedIn(), signedIn()].map(async (s) => (await s).browser.cookieHeader(app)!));
    const [a, b] = [await open(limited.url, cookies[0]!), await open(limited.url, cookies[1]!)];
    try {
      expect([a.response.status, b.response.status]).toEqual([200, 200]);
      const refused = await open(limited.url, cookies[2]!);
      expect(refused.response.status).toBe(503);
      expect(Number(refused.response.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await refused.response.json()) as { error: string }).error).toBe("process_streams_full");
      // Its life over (2 s, less up to a tenth), the stream says `renew` and closes; the tab then opens another.
      const text = await readToEnd(a.response, 10_000);
      expect(text).toContain("event: ready");
      expect(text).toMatch(/event: renew\n/);
      let status = 0;
      for (let i = 0; i < 50 && status !== 204; i++, await sleep(100)) status = (await head(limited.url, cookies[2]!)).status;
      expect(status).toBe(204);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe("Session Management's silent re-check (SM §3.1)", () => {
  /** Starts a re-check as the hidden iframe would, and returns the state it sent to the IdP. */
  async function startCheck(browser: HttpSession): Promise<string> {
    const start = await browser.fetch(`${app}/api/session/check`);
    expect(start.status).toBe(303);
    // With PAR (RFC 9126) the state is in the pushed request, not the URL: the IdP's answer carries it back.
    const answer = await browser.fetch(
      start.headers.get("location")!,
      {},
      { follow: true, stopAt: (url) => url.pathname === "/api/session/check/callback" },
    );
    return new URL(answer.headers.get("location")!).searchParams.get("state")!;
  }
  const callback = (browser: HttpSession, query: Record<string, string>) =>
    browser.fetch(`${app}/api/session/check/callback?${new URLSearchParams({ iss: stack.issuer, ...query })}`);

  it("does not trust an answer whose state is not the one this browser was given", async () => {
    const { browser } = await signedIn();
    const state = await startCheck(browser);
    const answer = await callback(browser, { error: "login_required", state: `${state}_INVALID` });
    expect(await answer.text()).toContain('"result":"error"');
    expect((await sessionOf(browser, app)).status).toBe(200);
  });

  it("ends the session when the IdP answers login_required to the request it was sent", async () => {
    const { browser } = await signedIn();
    const state = await startCheck(browser);
    const answer = await callback(browser, { error: "login_required", state });
    expect(answer.headers.get("content-security-policy")).toBe("frame-ancestors 'self'");
    expect(await answer.text()).toContain('"result":"ended"');
    const refused = await sessionOf(browser, app);
    expect(await refused.json()).toEqual({ error: "unauthorized", reason: "idp_session_changed" });
  });
});
