import { beforeEach, describe, expect, it } from "vitest";
import { queueFrontchannelLogout, receiveFrontchannelLogout, type FrontchannelRequest } from "@/lib/logout/frontchannel/receive";
import { PendingEndings } from "@/lib/revocation/pending";
import { memoryStores } from "@/lib/store/memory";
import { signInTo, type SignedIn } from "../support/sessions";
import type { Stores } from "@/lib/store/ports";
import type { SessionRecord } from "@/lib/session/record";

const NOW_MS = 1_800_000_000_000;
const ISSUER = "https://idp.example.com";
const OTHER_ISSUER = "https://other-idp.example.com";

let clock: number;
let stores: Stores;

beforeEach(() => {
  clock = NOW_MS;
  stores = memoryStores({ ttlSeconds: 86_400, now: () => clock });
});

const receive = (request: FrontchannelRequest, sessionRequired = true) =>
  receiveFrontchannelLogout(request, {
    sessions: stores.sessions,
    revocations: stores.revocations,
    now: () => clock,
    issuer: ISSUER,
    sessionRequired,
  });

type Signed = SignedIn;
const signIn = (fields: Partial<SessionRecord> = {}) => signInTo(stores, ISSUER, clock, fields);

const check = (s: Signed) => stores.revocations.check(s.handle);
const ACTIVE = { active: true };
const ENDED = { active: false, reason: "frontchannel_logout" };

describe("receiveFrontchannelLogout (Front-Channel Logout 1.0) on the in-memory stores", () => {
  it("ends the session that iss and sid name, and only it (FCL §2)", async () => {
    const named = await signIn({ sid: "sid-1" });
    const otherSid = await signIn({ sid: "sid-2" });

    expect(await receive({ iss: ISSUER, sid: "sid-1" })).toEqual({ result: "ended", sessionIds: [named.id] });
    expect(await check(named)).toEqual(ENDED);
    expect(await stores.sessions.read(named.id)).toBeNull();
    expect(await check(otherSid)).toEqual(ACTIVE);
    expect((await stores.revocations.endedSince(0)).map((e) => e.lsid)).toEqual([named.id]);
  });

  it("ignores iss without sid, or sid without iss, even when a cookie names a session (FCL §2)", async () => {
    const session = await signIn({ sid: "sid-1" });

    expect(await receive({ iss: ISSUER, sid: null, cookieSessionId: session.id }, false)).toEqual({
      result: "ignored",
      code: "half_given",
    });
    expect(await receive({ iss: null, sid: "sid-1", cookieSessionId: session.id }, false)).toEqual({
      result: "ignored",
      code: "half_given",
    });
    expect(await check(session)).toEqual(ACTIVE);
    expect(await stores.revocations.endedSince(0)).toEqual([]);
  });

  it("ignores an iss that is not the configured issuer, even if that issuer's session has the sid (FCL §2)", async () => {
    const ours = await signIn({ sid: "sid-1" });
    const theirs = await signIn({ iss: OTHER_ISSUER, sid: "sid-1" });

    expect(await receive({ iss: OTHER_ISSUER, sid: "sid-1" })).toEqual({ result: "ignored", code: "wrong_issuer" });
    expect(await check(ours)).toEqual(ACTIVE);
    expect(await check(theirs)).toEqual(ACTIVE);
    expect(await stores.revocations.endedSince(0)).toEqual([]);
  });

  it("writes nothing for a sid no session holds, since the request is unauthenticated: a later sign-in with it goes on (FCL §2)", async () => {
    expect(await receive({ iss: ISSUER, sid: "made-up" })).toEqual({ result: "ignored", code: "unknown_sid" });
    expect(await stores.revocations.endedSince(0)).toEqual([]);

    clock += 1_000;
    const later = await signIn({ sid: "made-up", createdAt: clock });
    expect(await check(later)).toEqual(ACTIVE);
  });

  it("ignores a request without iss and sid when frontchannel_logout_session_required is set, whatever the cookie (FCL §2)", async () => {
    const session = await signIn({ sid: "sid-1" });

    expect(await receive({ iss: null, sid: null, cookieSessionId: session.id }, true)).toEqual({
      result: "ignored",
      code: "missing_iss_sid",
    });
    expect(await check(session)).toEqual(ACTIVE);
  });

  it("without iss and sid, and with sessions not required, ends the session its cookie names (FCL §2)", async () => {
    const session = await signIn({ sid: "sid-1" });
    const other = await signIn({ sid: "sid-2" });

    expect(await receive({ iss: null, sid: null, cookieSessionId: session.id }, false)).toEqual({
      result: "ended",
      sessionIds: [session.id],
    });
    expect(await check(session)).toEqual(ENDED);
    expect(await check(other)).toEqual(ACTIVE);
  });

  it("without iss and sid, sessions not required and no cookie in the frame (IdP on another site), says that no cookie came: nothing could name the session (FCL §2, §3)", async () => {
    const session = await signIn({ sid: "sid-1" });

    expect(await receive({ iss: null, sid: null, cookieSent: false }, false)).toEqual({ result: "ignored", code: "no_iss_sid_no_cookie" });
    expect(await receive({ iss: null, sid: null }, false)).toEqual({ result: "ignored", code: "no_iss_sid_no_cookie" });
    expect(await check(session)).toEqual(ACTIVE);
    expect(await stores.revocations.endedSince(0)).toEqual([]);
  });

  it("without iss and sid, sessions not required, and a cookie that names no live session, says so: there was nothing left to end (FCL §2)", async () => {
    const session = await signIn({ sid: "sid-1" });

    expect(await receive({ iss: null, sid: null, cookieSent: true }, false)).toEqual({ result: "ignored", code: "no_iss_sid_no_session" });
    expect(await check(session)).toEqual(ACTIVE);
  });

  it("keeps missing_iss_sid for sessions required, cookie or not: the request was not allowed to rely on one (FCL §2)", async () => {
    expect(await receive({ iss: null, sid: null, cookieSent: false }, true)).toEqual({ result: "ignored", code: "missing_iss_sid" });
    expect(await receive({ iss: null, sid: null, cookieSent: true }, true)).toEqual({ result: "ignored", code: "missing_iss_sid" });
  });
});

describe("a front-channel logout the store could not take (queued)", () => {
  const deps = (pending: PendingEndings, sessionRequired = true) => ({
    sessions: stores.sessions,
    revocations: stores.revocations,
    now: () => clock,
    issuer: ISSUER,
    sessionRequired,
    pending,
  });
  const queue = () => new PendingEndings({ log: () => {}, now: () => clock, maxAgeMs: 60_000 });

  it("is stored once the store answers: the session of iss and sid ends, an unknown sid still writes nothing", async () => {
    const named = await signIn({ sid: "sid-q" });
    const pending = queue();
    expect(queueFrontchannelLogout({ iss: ISSUER, sid: "sid-q" }, deps(pending))).toBe(true);
    expect(queueFrontchannelLogout({ iss: ISSUER, sid: "made-up" }, deps(pending))).toBe(true);
    expect(pending.covers(named.handle)).toBe("frontchannel_logout");
    await pending.flush();
    expect(pending.size).toBe(0);
    expect(await check(named)).toEqual(ENDED);
    expect(await stores.revocations.endedSince(0)).toHaveLength(1);
  });

  it("queues nothing for another issuer, half a pair, or a cookie where the client requires iss and sid (FCL §2)", async () => {
    const pending = queue();
    expect(queueFrontchannelLogout({ iss: OTHER_ISSUER, sid: "sid-q" }, deps(pending))).toBe(false);
    expect(queueFrontchannelLogout({ iss: ISSUER, sid: null }, deps(pending))).toBe(false);
    expect(queueFrontchannelLogout({ iss: null, sid: null, cookieSessionId: "x".repeat(43) }, deps(pending, true))).toBe(false);
    expect(pending.size).toBe(0);
    expect(queueFrontchannelLogout({ iss: null, sid: null, cookieSessionId: "x".repeat(43) }, deps(pending, false))).toBe(true);
  });
});
