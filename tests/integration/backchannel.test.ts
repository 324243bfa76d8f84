import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis as IORedis } from "ioredis";
import { HttpSession } from "../support/http-client";
import { bank, confirmIdpLogout, sessionOf, signIn, startTestStack, onCluster } from "../support/lockstep";
import { testRedis } from "../support/test-redis";
import type { Stack } from "../../demo/scripts/stack";
import { appKeys, type Keys } from "@/lib/store/keys";
import type { SessionRecord } from "@/lib/session/record";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Back-Channel Logout 1.0 against the built app, with logout tokens signed by the demo IdP's
 * published keys: the OpenID conformance suite's RP modules S1–S8 (the oidcc-client-back-channel-logout-rp plans), replay,
 * the actions of §2.7, and the IdP's own logout and admin action end to end.
 */
let stack: Stack;
let app: string;
let redis: IORedis;
let k: Keys;
const appLog: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({ log: (source, line) => void (source === bank.appId && appLog.push(line)) });
  app = stack.apps[0]!.url;
  redis = await testRedis();
  k = appKeys(stack.keyPrefix, bank.appId);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

type SessionJson = { user: { sub: string }; session: { id: string; idp: { iss: string; sid: string } } };

async function signedIn(username = "alice") {
  const browser = new HttpSession();
  const landed = await signIn(browser, app, username, `${username}-password`);
  expect(new URL(landed.url).pathname).toBe("/account");
  const session = (await (await sessionOf(browser, app)).json()) as SessionJson;
  return { browser, session };
}

/** The conformance suite's base logout token: no typ, iat now, exp now+120, an ignored claim. */
function baseClaims(session: SessionJson): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: stack.issuer,
    sub: session.user.sub,
    aud: bank.clientId,
    jti: randomUUID(),
    sid: session.session.idp.sid,
    events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    iat: now,
    exp: now + 120,
    ignored_claim: "ignored",
  };
}

async function post(token: string): Promise<Response> {
  return fetch(`${app}/api/backchannel-logout`, {
    method: "POST",
    body: new URLSearchParams({ logout_token: token, ignored_parameter: "ignored" }),
  });
}

type SecurityLine = { event: string; outcome: string; code?: string; iss?: string; sid?: string; sub?: string; jti?: string };

/** The app's security log lines about one logout token, read from its stdout. */
async function logLinesFor(jti: string): Promise<SecurityLine[]> {
  await new Promise((r) => setTimeout(r, 100));
  return appLog
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as SecurityLine & { kind?: string })
    .filter((l) => l.kind === "security" && l.event === "backchannel_logout" && l.jti === jti);
}

async function status(browser: HttpSession): Promise<number> {
  return (await sessionOf(browser, app)).status;
}

describe("conformance suite back-channel RP modules S1–S8 (BCL §2.6, §2.8)", () => {
  it("S1 valid logout token: exactly 200 with Cache-Control no-store, and the session is over", async () => {
    const { browser, session } = await signedIn();
    const response = await post(await stack.idp.sign(baseClaims(session)));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toContain("no-store");
    const refused = await sessionOf(browser, app);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "unauthorized", reason: "revoked" });
  });

  const mutations: [string, (session: SessionJson) => Promise<string>][] = [
    [
      "S2 alg none",
      async (s) => {
        const payload = Buffer.from(JSON.stringify(baseClaims(s))).toString("base64url");
        return `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${payload}.`;
      },
    ],
    ["S3 no events", (s) => stack.idp.sign({ ...baseClaims(s), events: undefined })],
    ["S4 with nonce", (s) => stack.idp.sign({ ...baseClaims(s), nonce: "logout_tokens_must_not_contain_a_nonce" })],
    ["S5 wrong alg (ES256 with a published EC key)", (s) => stack.idp.sign(baseClaims(s), { alg: "ES256" })],
    ["S6 wrong aud", (s) => stack.idp.sign({ ...baseClaims(s), aud: `${bank.clientId}INVALID` })],
    ["S7 wrong event", (s) => stack.idp.sign({ ...baseClaims(s), events: { "http://schemas.openid.net/event/foobar": {} } })],
    ["S8 wrong iss", (s) => stack.idp.sign({ ...baseClaims(s), iss: `${stack.issuer}INVALID` })],
  ];

  for (const [name, build] of mutations) {
    it(`${name}: 400 invalid_request with no-store, and no logout`, async () => {
      const { browser, session } = await signedIn();
      const response = await post(await build(session));
      expect(response.status).toBe(400);
      expect(response.headers.get("cache-control")).toContain("no-store");
      expect(((await response.json()) as { error: string }).error).toBe("invalid_request");
      expect(await status(browser)).toBe(200);
    });
  }
});

describe("the request (BCL §2.5)", () => {
  const codeOf = async (response: Response) => ((await response.json()) as { error_description: string }).error_description.split(":")[0];

  it("refuses a body that is not form-encoded", async () => {
    const response = await fetch(`${app}/api/backchannel-logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("cache-control")).toContain("no-store");
    expect(await codeOf(response)).toBe("unsupported_content_type");
  });

  it("refuses a body larger than any logout token", async () => {
    const response = await fetch(`${app}/api/backchannel-logout`, {
      method: "POST",
      body: new URLSearchParams({ logout_token: "x".repeat(70_000) }),
    });
    expect(response.status).toBe(400);
    expect(await codeOf(response)).toBe("body_too_large");
  });

  it("refuses logout_token given twice", async () => {
    const body = new URLSearchParams([
      ["logout_token", "a.b.c"],
      ["logout_token", "d.e.f"],
    ]);
    const response = await fetch(`${app}/api/backchannel-logout`, { method: "POST", body });
    expect(response.status).toBe(400);
    expect(await codeOf(response)).toBe("duplicate_parameter");
  });

  it("refuses a request without logout_token", async () => {
    const response = await fetch(`${app}/api/backchannel-logout`, { method: "POST", body: new URLSearchParams({ other: "x" }) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error_description: string }).error_description).toMatch(/^missing_logout_token:/);
  });
});

describe("actions (BCL §2.7)", () => {
  it("with sid, ends exactly that session and keeps the user's other session", async () => {
    const one = await signedIn();
    const two = await signedIn();
    expect(one.session.session.idp.sid).not.toBe(two.session.session.idp.sid);
    expect((await post(await stack.idp.sign(baseClaims(one.session)))).status).toBe(200);
    expect(await status(one.browser)).toBe(401);
    expect(await status(two.browser)).toBe(200);
  });

  it("with sub only, ends every session of that user at that issuer, and not another user's", async () => {
    const one = await signedIn();
    const two = await signedIn();
    const bob = await signedIn("bob");
    expect((await post(await stack.idp.sign({ ...baseClaims(one.session), sid: undefined }))).status).toBe(200);
    expect(await status(one.browser)).toBe(401);
    expect(await status(two.browser)).toBe(401);
    expect(await status(bob.browser)).toBe(200);
  });

  it("with a sid whose session belongs to another sub, ends nothing", async () => {
    const alice = await signedIn();
    const bob = await signedIn("bob");
    const token = await stack.idp.sign({ ...baseClaims(alice.session), sub: bob.session.user.sub });
    expect((await post(token)).status).toBe(200);
    expect(await status(alice.browser)).toBe(200);
  });

  it("with an unknown sid, ends nothing and answers 200", async () => {
    const alice = await signedIn();
    expect((await post(await stack.idp.sign({ ...baseClaims(alice.session), sid: "no-such-sid" }))).status).toBe(200);
    expect(await status(alice.browser)).toBe(200);
  });

  it("after the 200 (Next's after()), deletes the ended session's tokens and revokes its refresh token at the IdP (RFC 7009)", async () => {
    const { session } = await signedIn();
    const record = JSON.parse((await redis.get(k.session(session.session.id)))!) as SessionRecord;
    expect(record.refreshToken).toBeTruthy();
    expect((await post(await stack.idp.sign(baseClaims(session)))).status).toBe(200);

    // The clean-up follows the answer: give it a moment (bounded), then both must have happened. The
    // IdP's own store is read for the refresh token (a refresh grant would use the token up itself).
    const stillAtIdp = async () => (await stack.idp.provider.RefreshToken.find(record.refreshToken!)) !== undefined;
    const deadline = Date.now() + 5_000;
    while (((await redis.exists(k.session(session.session.id))) === 1 || (await stillAtIdp())) && Date.now() < deadline) await sleep(25);
    expect(await redis.exists(k.session(session.session.id))).toBe(0);
    expect(await stillAtIdp()).toBe(false);

    const refresh = await fetch(`${stack.issuer}/token`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`${bank.clientId}:${bank.clientSecret}`).toString("base64")}` },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: record.refreshToken! }),
    });
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe("invalid_grant");
  });
});

describe("replay protection (BCL §2.6 step 8)", () => {
  // A sub-only token ends the sessions begun before it was issued (to the second); wait past that second.
  const pastIssueSecond = () => new Promise((r) => setTimeout(r, 1100));

  it("a replayed token changes nothing, whatever it carries: a sub-only replay does not end a session begun since", async () => {
    const first = await signedIn();
    const token = await stack.idp.sign({ ...baseClaims(first.session), sid: undefined });
    expect((await post(token)).status).toBe(200);
    expect(await status(first.browser)).toBe(401);

    await pastIssueSecond();
    const later = await signedIn();
    expect((await post(token)).status).toBe(200);
    expect(await status(later.browser)).toBe(200);
  });

  it("a late sub-only token with a fresh jti but an older iat cannot end sessions begun after the newer one", async () => {
    const first = await signedIn("bob");
    const claims: Record<string, unknown> = { ...baseClaims(first.session), sid: undefined };
    expect((await post(await stack.idp.sign(claims))).status).toBe(200);
    expect(await status(first.browser)).toBe(401);

    await pastIssueSecond();
    const later = await signedIn("bob");
    const late = { ...claims, jti: randomUUID(), iat: (claims.iat as number) - 5 };
    expect((await post(await stack.idp.sign(late))).status).toBe(200);
    expect(await status(later.browser)).toBe(200);
  });

  it("acts on a token once: the replay of a sid token is recognised and acted on no more", async () => {
    const { session } = await signedIn();
    const claims = baseClaims(session);
    const token = await stack.idp.sign(claims);
    expect((await post(token)).status).toBe(200);
    expect((await post(token)).status).toBe(200);
    const lines = await logLinesFor(claims.jti as string);
    expect(lines.map((l) => l.code)).toEqual(["ended", "replayed"]);
  });

  it("remembers (iss, jti) until the token's exp plus leeway, and no longer than needed", async () => {
    const { session } = await signedIn();
    const claims = baseClaims(session);
    expect((await post(await stack.idp.sign(claims))).status).toBe(200);
    const ttl = await redis.ttl(k.logoutTokenJti(stack.issuer, claims.jti as string));
    expect(ttl).toBeGreaterThan(120);
    expect(ttl).toBeLessThanOrEqual(600 + 60 + 1);
  });
});

describe("when the logout cannot be stored", () => {
  // The stack cannot take a Redis Cluster away (onCluster): Redis-down behaviour is tested on one Redis, and a cluster that cannot be reached in the store-cluster tier.
  it.skipIf(onCluster)(
    "answers 503 so that the IdP retries, and stores the logout itself once the store is back, for an IdP that never retries",
    async () => {
      const { browser, session } = await signedIn();
      const cookie = browser.cookieHeader(app)!;
      const token = await stack.idp.sign(baseClaims(session));
      await stack.stopGateway();
      let response: Response;
      let during: number;
      try {
        response = await post(token);
        // Fail closed meanwhile: the guard cannot ask the store.
        during = (await fetch(`${app}/api/session`, { headers: { cookie } })).status;
      } finally {
        await stack.startGateway();
      }
      expect(response.status).toBe(503);
      expect(response.headers.get("cache-control")).toContain("no-store");
      expect(during).toBe(503);
      // Stored in Redis, not only known to this process: the queued revocation's clean-up deletes the record.
      for (let i = 0; i < 100 && (await redis.exists(k.session(session.session.id))) === 1; i++) await sleep(100);
      expect(await redis.exists(k.session(session.session.id))).toBe(0);
      expect(await status(browser)).toBe(401);
      // The IdP's own retry, if it makes one, changes nothing.
      expect((await post(token)).status).toBe(200);
    },
  );
});

describe("security log", () => {
  it("writes one line per logout token with outcome, code, issuer, hashed sid and sub, and jti; never the token", async () => {
    const { session } = await signedIn();
    const good = baseClaims(session);
    const goodToken = await stack.idp.sign(good);
    await post(goodToken);
    const bad: Record<string, unknown> = { ...baseClaims(session), nonce: "n" };
    const badToken = await stack.idp.sign(bad);
    await post(badToken);

    const [ok] = await logLinesFor(good.jti as string);
    expect(ok).toMatchObject({ outcome: "ok", code: "ended", iss: stack.issuer, jti: good.jti });
    expect(ok!.sid).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(ok!.sid).not.toBe(session.session.idp.sid);
    expect(ok!.sub).not.toBe(session.user.sub);
    const [rejected] = await logLinesFor(bad.jti as string);
    expect(rejected).toMatchObject({ outcome: "rejected", code: "nonce_present" });

    const everything = appLog.join("\n");
    for (const token of [goodToken, badToken]) for (const part of token.split(".")) expect(everything).not.toContain(part);
    expect(everything).not.toContain(session.session.idp.sid);
  });
});

describe("end to end with the demo IdP", () => {
  it("logging out at the IdP makes the app refuse the very next request with the same cookie", async () => {
    const { browser } = await signedIn();
    await confirmIdpLogout(browser, await browser.fetch(`${stack.issuer}/session/end`, {}, { follow: true }));
    const refused = await sessionOf(browser, app);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "unauthorized", reason: "revoked" });
  });

  it("the IdP admin action ends all of a user's sessions at the app", async () => {
    const one = await signedIn("bob");
    const two = await signedIn("bob");
    const sent = await stack.idp.endAllSessions("bob");
    expect(sent).toContainEqual({ client: bank.clientId, status: 200 });
    expect(await status(one.browser)).toBe(401);
    expect(await status(two.browser)).toBe(401);
  });
});
