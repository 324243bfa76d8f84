import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis as IORedis } from "ioredis";
import { HttpSession } from "../support/http-client";
import { bank, sessionOf, signIn, startTestStack, onCluster } from "../support/lockstep";
import { testRedis } from "../support/test-redis";
import type { RunningApp, Stack } from "../../demo/scripts/stack";
import { appKeys } from "@/lib/store/keys";
import { CAEP_EVENTS, RISC_EVENTS, SSF_EVENTS } from "@/lib/ssf/events";
import type { StoredStream } from "@/lib/ssf/streams";
import { demoUsers } from "../../demo/idp/users";

/**
 * The Shared Signals receiver against the demo IdP's SSF transmitter: the conformance suite's
 * receiver modules SSF1–SSF7 (openid-ssf-receiver-test-plan) in push (the Bank) and poll (the Brokerage) mode,
 * and the policy table's actions on real sessions.
 */
const brokerage = {
  appId: "brokerage",
  name: "Lockstep Brokerage",
  clientId: "lockstep-brokerage",
  clientSecret: "brokerage-test-secret-0123",
  ssf: "poll" as const,
};

let stack: Stack;
let pushApp: RunningApp;
let pollApp: RunningApp;
let redis: IORedis;
const appLog: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    apps: [{ ...bank, ssf: "push", env: { ADMIN_SUBS: demoUsers.find((u) => u.username === "alice")!.sub } }, brokerage],
    log: (source, line) => void (source === bank.appId && appLog.push(line)),
  });
  [pushApp, pollApp] = stack.apps as [RunningApp, RunningApp];
  redis = await testRedis();
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

const k = () => appKeys(stack.keyPrefix, bank.appId);
const storedStream = async (): Promise<StoredStream> => JSON.parse((await redis.get(k().ssfStream()))!) as StoredStream;
const streamOf = (app: RunningApp) =>
  stack.idp.ssf.streams().find((s) => s.aud === app.url || (Array.isArray(s.aud) && s.aud.includes(app.url)))!;
const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
};
const lastDelivery = (type: string, app: RunningApp = pushApp) =>
  [...stack.idp.ssf.deliveries()].reverse().find((d) => d.eventType === type && d.streamId === streamOf(app).stream_id);
/** The CLI's result line (the security log shares its stdout). */
const result = (output: string) =>
  JSON.parse(
    output.split("\n").find((l) => l.startsWith('{"received"') || l.startsWith('{"stream_id"') || l.startsWith('{"status"'))!,
  ) as Record<string, unknown>;

async function signedIn(app: RunningApp, username = "alice") {
  const browser = new HttpSession();
  const landed = await signIn(browser, app.url, username, `${username}-password`);
  expect(new URL(landed.url).pathname).toBe("/account");
  return browser;
}

describe("stream management (SSF §7–8) and the receiver modules", () => {
  it("SSF1/SSF2: `npm run ssf -- register` discovered the transmitter, created a push stream and stored it", async () => {
    const stream = streamOf(pushApp);
    expect(stream).toBeDefined();
    expect(stream.delivery.method).toBe("urn:ietf:rfc:8935");
    expect(stream.delivery.endpoint_url).toBe(`${pushApp.url}/api/ssf/events`);
    expect(stream.events_delivered).toContain(CAEP_EVENTS.sessionRevoked);
  });

  it("SSF4: the verification it asked for arrived with its state and was accepted (202)", async () => {
    expect(await until(async () => Boolean((await storedStream()).verifiedAt))).toBe(true);
  });

  it("SSF5: accepts an unsolicited verification (no state)", async () => {
    await stack.idp.ssf.sendVerification(streamOf(pushApp).stream_id);
    expect(await until(() => lastDelivery(SSF_EVENTS.verification)?.status === 202)).toBe(true);
  });

  it("refuses a verification whose state is not the one it asked for, with invalid_state (SSF §8.1.4.1)", async () => {
    await stack.idp.ssf.sendVerification(streamOf(pushApp).stream_id, "not-the-state-we-sent");
    // Look at every answer, not the last: a retried delivery of an earlier verification may come after it.
    const refused = () =>
      stack.idp.ssf
        .deliveries()
        .some((d) => d.streamId === streamOf(pushApp).stream_id && d.eventType === SSF_EVENTS.verification && d.err === "invalid_state");
    expect(await until(refused)).toBe(true);
  });

  it("SSF3: reads and updates the stream's status through the CLI", async () => {
    await stack.runSsf(pushApp, "pause");
    expect(result(await stack.runSsf(pushApp, "status")).status).toBe("paused");
    await stack.runSsf(pushApp, "enable");
    expect(result(await stack.runSsf(pushApp, "status")).status).toBe("enabled");
  });

  it("SSF1: register again takes over the existing stream (409, then read and update)", async () => {
    const before = streamOf(pushApp).stream_id;
    await stack.runSsf(pushApp, "register");
    expect(streamOf(pushApp).stream_id).toBe(before);
  });

  it("SSF6/SSF7: every delivered event type is answered 202, and unknown ones are accepted and ignored", async () => {
    const subject = { format: "iss_sub", iss: stack.issuer, sub: "no-such-user" };
    for (const type of [...Object.values(CAEP_EVENTS), ...Object.values(RISC_EVENTS)]) {
      await stack.idp.ssf.emit(type, subject, {});
    }
    expect(
      await until(() => {
        const pushed = stack.idp.ssf
          .deliveries()
          .filter((d) => d.streamId === streamOf(pushApp).stream_id && d.eventType !== SSF_EVENTS.verification);
        return pushed.length > 0 && pushed.every((d) => d.status === 202);
      }),
    ).toBe(true);
  });
});

describe("the admin page (/admin/ssf)", () => {
  it("shows the stream and runs management actions for an admin, same-origin only", async () => {
    const alice = await signedIn(pushApp);
    const page = await alice.fetch(`${pushApp.url}/admin/ssf`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(streamOf(pushApp).stream_id);
    const verify = await alice.fetch(`${pushApp.url}/api/admin/ssf`, {
      method: "POST",
      headers: { origin: pushApp.url },
      body: new URLSearchParams({ action: "verify" }),
    });
    expect(verify.status).toBe(303);
    expect(new URL(verify.headers.get("location")!, pushApp.url).searchParams.get("done")).toBe("verify");
    const forged = await alice.fetch(`${pushApp.url}/api/admin/ssf`, {
      method: "POST",
      headers: { origin: "http://evil.example" },
      body: new URLSearchParams({ action: "disable" }),
    });
    expect(forged.status).toBe(403);
  });

  it("is not there for anyone else", async () => {
    const bob = await signedIn(pushApp, "bob");
    expect((await bob.fetch(`${pushApp.url}/admin/ssf`)).status).toBe(404);
    const post = await bob.fetch(`${pushApp.url}/api/admin/ssf`, {
      method: "POST",
      headers: { origin: pushApp.url },
      body: new URLSearchParams({ action: "disable" }),
    });
    expect(post.status).toBe(404);
  });
});

describe("push delivery (RFC 8935)", () => {
  const push = (body: string, headers: Record<string, string>) => fetch(`${pushApp.url}/api/ssf/events`, { method: "POST", headers, body });
  const authorized = () => ({ "content-type": "application/secevent+jwt", authorization: pushApp.env!.SSF_PUSH_AUTHORIZATION! });
  const set = (
    events: Record<string, unknown>,
    subject: Record<string, unknown> = { format: "iss_sub", iss: stack.issuer, sub: "nobody" },
  ) =>
    stack.idp.sign(
      { iss: stack.issuer, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000), aud: pushApp.url, sub_id: subject, events },
      { header: { typ: "secevent+jwt" } },
    );

  it("accepts and ignores an unknown event type, and an unknown subject (SSF §4.2.3, §9.3)", async () => {
    expect((await push(await set({ "urn:example:unknown-event": {} }), authorized())).status).toBe(202);
    expect(
      (await push(await set({ [CAEP_EVENTS.sessionRevoked]: {} }, { format: "email", email: "nobody@example.com" }), authorized())).status,
    ).toBe(202);
  });

  it("answers 202 with an empty body on success (RFC 8935 §2.2)", async () => {
    const response = await push(await set({ [RISC_EVENTS.identifierChanged]: { "new-value": "x@example.com" } }), authorized());
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("");
  });

  // The stack cannot take a Redis Cluster away (onCluster): Redis-down behaviour is tested on one Redis, and a cluster that cannot be reached in the store-cluster tier.
  it.skipIf(onCluster)(
    "answers 503 when the event cannot be stored, and acts on it itself once the store is back, for a transmitter that never retries",
    async () => {
      const alice = await signedIn(pushApp);
      const bob = await signedIn(pushApp, "bob");
      const subOf = async (browser: HttpSession) =>
        ((await (await sessionOf(browser, pushApp.url)).json()) as { user: { sub: string } }).user.sub;
      const body = await set({ [CAEP_EVENTS.sessionRevoked]: {} }, { format: "iss_sub", iss: stack.issuer, sub: await subOf(alice) });
      // One that will not validate (a JWT's typ, not a SET's: RFC 8417 §2.3), queued first: it must be dropped, not acted on.
      const forged = await stack.idp.sign(
        {
          iss: stack.issuer,
          jti: crypto.randomUUID(),
          iat: Math.floor(Date.now() / 1000),
          aud: pushApp.url,
          sub_id: { format: "iss_sub", iss: stack.issuer, sub: await subOf(bob) },
          events: { [CAEP_EVENTS.sessionRevoked]: {} },
        },
        { header: { typ: "JWT" } },
      );
      await stack.stopGateway();
      let statuses: number[];
      try {
        statuses = [(await push(forged, authorized())).status, (await push(body, authorized())).status];
      } finally {
        await stack.startGateway();
      }
      expect(statuses).toEqual([503, 503]);
      expect(await until(async () => (await sessionOf(alice, pushApp.url)).status === 401, 10_000)).toBe(true);
      // The queue is applied in order: the forged SET came first and was dropped on validation.
      expect((await sessionOf(bob, pushApp.url)).status).toBe(200);
      // The transmitter's own retry, if it makes one, is a duplicate: accepted, nothing done twice.
      expect((await push(body, authorized())).status).toBe(202);
    },
  );

  it("requires the Authorization value given at stream creation (SSF §6.1.1)", async () => {
    const response = await push("x.y.z", { "content-type": "application/secevent+jwt", authorization: "Bearer wrong-wrong-wrong-wrong" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { err: string }).err).toBe("authentication_failed");
  });

  it("requires application/secevent+jwt (RFC 8935 §2.1)", async () => {
    const response = await push("x.y.z", { "content-type": "application/json", authorization: pushApp.env!.SSF_PUSH_AUTHORIZATION! });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { err: string }).err).toBe("invalid_request");
  });

  it("refuses a body larger than any SET (RFC 8935 §2.1)", async () => {
    const response = await push("x".repeat(70_000), authorized());
    expect(response.status).toBe(400);
    expect(((await response.json()) as { err: string }).err).toBe("invalid_request");
  });

  it("refuses a SET that does not verify, with an RFC 8935 code and JSON body (RFC 8935 §2.3)", async () => {
    const forged = await stack.idp.sign(
      {
        iss: stack.issuer,
        jti: "x",
        iat: Math.floor(Date.now() / 1000),
        aud: pushApp.url,
        sub_id: { format: "opaque", id: "x" },
        events: { [CAEP_EVENTS.sessionRevoked]: {} },
      },
      { header: { typ: "JWT" } },
    );
    const response = await push(forged, {
      "content-type": "application/secevent+jwt",
      authorization: pushApp.env!.SSF_PUSH_AUTHORIZATION!,
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(((await response.json()) as { err: string }).err).toBe("invalid_request");
  });
});

describe("the policy table, on real sessions", () => {
  it("CAEP session-revoked ends the user's sessions (push), not another user's, and the tab is told why", async () => {
    const alice = await signedIn(pushApp);
    const bob = await signedIn(pushApp, "bob");
    await stack.idp.ssf.emitForUser("alice", "session-revoked");
    let refused: unknown;
    expect(
      await until(async () => {
        const response = await sessionOf(alice, pushApp.url);
        if (response.status === 401) refused = await response.json();
        return response.status === 401;
      }),
    ).toBe(true);
    expect(refused).toEqual({ error: "unauthorized", reason: "security_event" });
    expect((await sessionOf(bob, pushApp.url)).status).toBe(200);
  });

  it("a duplicate SET (same jti) is answered 202 without acting twice (RFC 8935 §2, RFC 8417 §2.2 jti)", async () => {
    await signedIn(pushApp);
    await stack.idp.ssf.emitForUser("alice", "session-revoked");
    const delivery = await (async () => {
      await until(() => lastDelivery(CAEP_EVENTS.sessionRevoked)?.status === 202);
      return lastDelivery(CAEP_EVENTS.sessionRevoked)!;
    })();
    const again = await fetch(`${pushApp.url}/api/ssf/events`, {
      method: "POST",
      headers: { "content-type": "application/secevent+jwt", authorization: pushApp.env!.SSF_PUSH_AUTHORIZATION! },
      body: delivery.set,
    });
    expect(again.status).toBe(202);
    await new Promise((r) => setTimeout(r, 100));
    const lines = appLog.filter((l) => l.includes(`"jti":"${delivery.jti}"`)).map((l) => (JSON.parse(l) as { code: string }).code);
    expect(lines).toEqual(["acted", "duplicate"]);
  });

  it("RISC account-disabled ends all sessions and refuses sign-in until account-enabled", async () => {
    const alice = await signedIn(pushApp);
    await stack.idp.ssf.emitForUser("alice", "account-disabled");
    expect(await until(async () => (await sessionOf(alice, pushApp.url)).status === 401)).toBe(true);

    const refused = await signIn(new HttpSession(), pushApp.url, "alice", "alice-password");
    expect(new URL(refused.url).pathname).toBe("/signed-out");
    expect(new URL(refused.url).searchParams.get("error")).toBe("AccessDenied");

    await stack.idp.ssf.emitForUser("alice", "account-enabled");
    expect(await until(() => lastDelivery(RISC_EVENTS.accountEnabled)?.status === 202)).toBe(true);
    await signedIn(pushApp);
  });

  it("CAEP credential-change ends the sessions begun before the change", async () => {
    const alice = await signedIn(pushApp);
    await stack.idp.ssf.emitForUser("alice", "credential-change");
    expect(await until(async () => (await sessionOf(alice, pushApp.url)).status === 401)).toBe(true);
  });

  it("RISC account-purged ends the sessions and deletes what the app stores for the user", async () => {
    const bob = await signedIn(pushApp, "bob");
    const session = (await (await sessionOf(bob, pushApp.url)).json()) as { user: { sub: string } };
    await stack.idp.ssf.emitForUser("bob", "account-purged");
    expect(await until(async () => (await sessionOf(bob, pushApp.url)).status === 401)).toBe(true);
    expect(await redis.exists(k().activityLog(stack.issuer, session.user.sub))).toBe(0);
  });
});

describe("poll delivery (RFC 8936)", () => {
  it("SSF1 (poll): the Brokerage registered a poll stream with a transmitter-supplied endpoint", () => {
    const stream = streamOf(pollApp);
    expect(stream.delivery.method).toBe("urn:ietf:rfc:8936");
    expect(stream.delivery.endpoint_url).toMatch(/^http:\/\/localhost:\d+\//);
  });

  it("polls, acts, and acknowledges: session-revoked ends the user's Brokerage sessions", async () => {
    const alice = await signedIn(pollApp);
    await stack.idp.ssf.emitForUser("alice", "session-revoked");
    const output = await stack.runSsf(pollApp, "poll");
    expect(result(output).acknowledged).toBeGreaterThan(0);
    expect((await sessionOf(alice, pollApp.url)).status).toBe(401);
    // Acknowledged: nothing is left to poll.
    expect(result(await stack.runSsf(pollApp, "poll")).received).toBe(0);
  });

  it("SSF4/SSF5 (poll): the requested verification and an unsolicited one are polled, accepted and acknowledged", async () => {
    await stack.idp.ssf.sendVerification(streamOf(pollApp).stream_id);
    expect(result(await stack.runSsf(pollApp, "poll")).received).toBeGreaterThanOrEqual(1);
    const stored = JSON.parse((await redis.get(appKeys(stack.keyPrefix, brokerage.appId).ssfStream()))!) as StoredStream;
    expect(stored.verifiedAt).toBeGreaterThan(0);
    const acked = stack.idp.ssf
      .deliveries()
      .filter((d) => d.streamId === streamOf(pollApp).stream_id && d.eventType === SSF_EVENTS.verification);
    expect(acked.some((d) => d.outcome === "acknowledged")).toBe(true);
  });

  it("reports a bad SET in setErrs with its RFC 8935 §2.4 code (RFC 8936 §2.2): a verification with the wrong state", async () => {
    await stack.idp.ssf.sendVerification(streamOf(pollApp).stream_id, "not-the-state-we-sent");
    expect(result(await stack.runSsf(pollApp, "poll")).refused).toBe(1);
    const refused = stack.idp.ssf.deliveries().filter((d) => d.streamId === streamOf(pollApp).stream_id && d.err === "invalid_state");
    expect(refused.length).toBeGreaterThan(0);
  });

  it("SSF3 (poll): status through the CLI", async () => {
    await stack.runSsf(pollApp, "pause");
    expect(result(await stack.runSsf(pollApp, "status")).status).toBe("paused");
    await stack.runSsf(pollApp, "enable");
    expect(result(await stack.runSsf(pollApp, "status")).status).toBe("enabled");
  });

  it("SSF6 (poll): every delivered event type is polled and acknowledged, following moreAvailable", async () => {
    const subject = { format: "iss_sub", iss: stack.issuer, sub: "no-such-user" };
    const types = [...Object.values(CAEP_EVENTS), ...Object.values(RISC_EVENTS)];
    // Twice over, so that there are more than one batch of 16 and the transmitter says moreAvailable.
    for (let i = 0; i < 2; i++) for (const type of types) await stack.idp.ssf.emit(type, subject, {});
    const polled = result(await stack.runSsf(pollApp, "poll"));
    expect(polled.received).toBe(2 * streamOf(pollApp).events_delivered!.filter((t) => (types as string[]).includes(t)).length);
    expect(polled.received).toBeGreaterThan(16);
    expect(polled.acknowledged).toBe(polled.received);
    expect(polled.rounds).toBeGreaterThan(2);
  });

  it("GET /api/ssf/poll polls for a scheduled job, and only with the CRON_SECRET", async () => {
    expect((await fetch(`${pollApp.url}/api/ssf/poll`)).status).toBe(401);
    const response = await fetch(`${pollApp.url}/api/ssf/poll`, { headers: { authorization: `Bearer ${pollApp.env!.CRON_SECRET}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: expect.any(Number) });
  });
});
