/**
 * The store contract: what every implementation of the ports in lib/store/ports.ts must do, run
 * against each of them (tests/unit/store-memory.test.ts, gateway/tests/upstash-store.test.ts), the way
 * Auth.js runs one adapter suite against every adapter.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { EndedEvent, Revoked, Stores } from "@/lib/store/ports";
import type { SessionRecord } from "@/lib/session/record";
import type { SessionHandle } from "@/lib/session/handle";
import { endSessions } from "@/lib/revocation/end-sessions";
import type { ApiState } from "@/lib/api/state";

export type ContractSubject = { stores: Stores; cleanup?: () => Promise<void> };

const ISS = "https://idp.example.com";
const OTHER_ISS = "https://other.example.com";
let counter = 0;

/** A record with unique sub/sid per call unless given. */
export function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  counter += 1;
  const now = Date.now();
  return {
    iss: ISS,
    sub: `user-${counter}-${Math.random().toString(36).slice(2)}`,
    sid: `sid-${counter}-${Math.random().toString(36).slice(2)}`,
    createdAt: now,
    expiresAt: now + 3_600_000,
    claims: { name: "Alice", email: `alice-${counter}@example.com` },
    idToken: "id-token-value",
    accessToken: "access-token-value",
    refreshToken: "refresh-token-value",
    ...overrides,
  };
}

/** The feed entries of a revocation that was written (a test failure otherwise). */
export function eventsOf(revoked: Revoked): EndedEvent[] {
  expect(revoked.result).toBe("written");
  return revoked.result === "written" ? revoked.events : [];
}

export const handleOf = (id: string, r: SessionRecord): SessionHandle => ({
  lsid: id,
  iss: r.iss,
  sub: r.sub,
  sid: r.sid,
  createdAt: r.createdAt,
});

export function storeContract(name: string, make: () => Promise<ContractSubject>): void {
  describe(`store contract: ${name}`, () => {
    let stores: Stores;
    beforeEach(async (context) => {
      const made = await make();
      stores = made.stores;
      if (made.cleanup) context.onTestFinished(made.cleanup);
    });

    describe("session store", () => {
      it("creates a record under a fresh 43-character id and reads it back", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(await stores.sessions.read(id)).toEqual(r);
        expect(await stores.sessions.create(r)).not.toBe(id);
      });

      it("reads null for an id it never stored", async () => {
        expect(await stores.sessions.read("A".repeat(43))).toBeNull();
      });

      it("updates a live record and refuses to bring back one that is gone", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        expect(await stores.sessions.update(id, { ...r, claimsStale: true })).toBe(true);
        expect((await stores.sessions.read(id))?.claimsStale).toBe(true);
        expect(await stores.sessions.update("B".repeat(43), r)).toBe(false);
        expect(await stores.sessions.read("B".repeat(43))).toBeNull();
      });

      it("finds a session by (iss, sid) only at that issuer", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        await stores.sessions.create(record({ iss: OTHER_ISS, sid: r.sid }));
        expect((await stores.sessions.find({ iss: ISS, sid: r.sid })).map((s) => s.id)).toEqual([id]);
        expect(await stores.sessions.find({ iss: ISS, sid: "no-such-sid" })).toEqual([]);
        expect(await stores.sessions.holderOf(ISS, r.sid as string)).toBe(id);
        expect(await stores.sessions.holderOf(ISS, "no-such-sid")).toBeNull();
        await stores.sessions.end([{ id, record: r }], "logout");
        expect(await stores.sessions.holderOf(ISS, r.sid as string)).toBeNull();
      });

      it("finds by (iss, sid, sub) only when the sid's session is that subject's", async () => {
        const r = record();
        await stores.sessions.create(r);
        expect(await stores.sessions.find({ iss: ISS, sid: r.sid, sub: "someone-else" })).toEqual([]);
        expect(await stores.sessions.find({ iss: ISS, sid: r.sid, sub: r.sub })).toHaveLength(1);
      });

      it("lists a subject's sessions at one issuer, oldest first", async () => {
        const first = record({ createdAt: 1_000 });
        const second = record({ sub: first.sub, createdAt: 2_000 });
        const b = await stores.sessions.create(second);
        const a = await stores.sessions.create(first);
        await stores.sessions.create(record({ iss: OTHER_ISS, sub: first.sub }));
        expect((await stores.sessions.find({ iss: ISS, sub: first.sub })).map((s) => s.id)).toEqual([a, b]);
      });

      it("refuses a query that names neither sid nor sub", async () => {
        await expect(stores.sessions.find({ iss: ISS })).rejects.toThrow();
      });

      it("ends sessions: the record and its indexes go, the ending is logged with its reason", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        await stores.sessions.end([{ id, record: r }], "revoked");
        expect(await stores.sessions.read(id)).toBeNull();
        expect(await stores.sessions.find({ iss: ISS, sid: r.sid })).toEqual([]);
        expect(await stores.sessions.find({ iss: ISS, sub: r.sub })).toEqual([]);
        const [latest] = await stores.sessions.activity(r);
        expect(latest).toMatchObject({ session: id, kind: "ended", reason: "revoked" });
        await stores.sessions.end([{ id, record: r }], "revoked");
      });

      it("logs how an ending came (mechanism, sent time) and the session's device, and nothing else that rides along", async () => {
        const r = record({ device: { browser: "Firefox 128", os: "Windows 10", type: "desktop" } });
        const id = await stores.sessions.create(r);
        const [signedIn] = await stores.sessions.activity(r);
        expect(signedIn).toMatchObject({ session: id, kind: "signed_in", device: "Firefox 128 on Windows 10" });
        const detail = { mechanism: "backchannel" as const, sentAt: 1_700_000_000_000.5, extra: "not kept" };
        await stores.sessions.end([{ id, record: r }], "revoked", detail);
        const [ended] = await stores.sessions.activity(r);
        expect(ended).toMatchObject({
          session: id,
          kind: "ended",
          reason: "revoked",
          mechanism: "backchannel",
          sentAt: 1_700_000_000_000,
          device: "Firefox 128 on Windows 10",
        });
        expect(ended).not.toHaveProperty("extra");
        expect(await stores.sessions.read(id)).toBeNull();
      });

      it("keeps when a session was last seen, until it ends", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        const other = await stores.sessions.create(record());
        expect(await stores.sessions.lastSeen([id, other])).toEqual([null, null]);
        await stores.sessions.touch(id, 1_700_000_000_000);
        await stores.sessions.touch(id, 1_700_000_060_000);
        expect(await stores.sessions.lastSeen([other, id])).toEqual([null, 1_700_000_060_000]);
        expect(await stores.sessions.lastSeen([])).toEqual([]);
        await stores.sessions.end([{ id, record: r }], "logout");
        expect(await stores.sessions.lastSeen([id])).toEqual([null]);
      });

      it("keeps the activity log newest first and bounded", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        for (let i = 0; i < 35; i += 1) await stores.sessions.update(id, r, "token_refreshed");
        const log = await stores.sessions.activity(r);
        expect(log).toHaveLength(30);
        expect(log[0]?.kind).toBe("token_refreshed");
      });

      it("indexes subjects by email, case-insensitively, and moves the entry when the identifier changes", async () => {
        const r = record({ claims: { email: "Zoe@Example.com" } });
        await stores.sessions.create(r);
        expect(await stores.sessions.subjectsForEmail("zoe@example.com")).toContainEqual({ iss: ISS, sub: r.sub });
        await stores.sessions.changeEmail(r, "zoe@example.com", "zoe.new@example.com");
        expect(await stores.sessions.subjectsForEmail("zoe@example.com")).not.toContainEqual({ iss: ISS, sub: r.sub });
        expect(await stores.sessions.subjectsForEmail("ZOE.NEW@example.com")).toContainEqual({ iss: ISS, sub: r.sub });
      });

      it("disables and enables an account, and purges what it holds of a user", async () => {
        const r = record();
        await stores.sessions.create(r);
        expect(await stores.sessions.isDisabled(r)).toBe(false);
        await stores.sessions.setDisabled(r, true);
        expect(await stores.sessions.isDisabled(r)).toBe(true);
        await stores.sessions.setDisabled(r, false);
        expect(await stores.sessions.isDisabled(r)).toBe(false);
        await stores.sessions.setDisabled(r, true);
        await stores.sessions.purge(r);
        expect(await stores.sessions.isDisabled(r)).toBe(false);
        expect(await stores.sessions.activity(r)).toEqual([]);
      });

      it("gives a session's liveness check to exactly one of many concurrent claimers, and again once the claim expires", async () => {
        const claims = await Promise.all(Array.from({ length: 8 }, () => stores.sessions.claimCheck("claim-test", 300)));
        expect(claims.filter(Boolean)).toHaveLength(1);
        // Another session's claim is its own.
        expect(await stores.sessions.claimCheck("claim-other", 300)).toBe(true);
        await new Promise((r) => setTimeout(r, 450));
        expect(await stores.sessions.claimCheck("claim-test", 300)).toBe(true);
      });

      it("lets one owner hold a session's refresh lock, and only that owner release it", async () => {
        expect(await stores.sessions.lock("lock-test", "a", 5_000)).toBe(true);
        expect(await stores.sessions.lock("lock-test", "b", 5_000)).toBe(false);
        await stores.sessions.unlock("lock-test", "b");
        expect(await stores.sessions.lock("lock-test", "b", 5_000)).toBe(false);
        await stores.sessions.unlock("lock-test", "a");
        expect(await stores.sessions.lock("lock-test", "b", 5_000)).toBe(true);
        await stores.sessions.unlock("lock-test", "b");
      });
    });

    describe("revocation list", () => {
      it("answers active for a live session and expired once its record is gone", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: true });
        await stores.sessions.end([{ id, record: r }], "logout");
        expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "expired" });
      });

      it("marks a session with the reason its user will see, and feeds the ending to the tabs", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        const since = Date.now() - 1;
        const events = eventsOf(await stores.revocations.revoke({ targets: [], sessionIds: [id], reason: "logout", now: Date.now() }));
        expect(events).toHaveLength(1);
        expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "logout" });
        const feed = await stores.revocations.endedSince(since);
        expect(feed.filter((e) => e.lsid === id)).toEqual(events);
      });

      it("feeds the ending's mechanism to the tabs with it", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        const since = Date.now() - 1;
        const events = eventsOf(
          await stores.revocations.revoke({
            targets: [],
            sessionIds: [id],
            reason: "frontchannel_logout",
            detail: { mechanism: "frontchannel" },
            now: Date.now(),
          }),
        );
        expect(events[0]).toMatchObject({ lsid: id, reason: "frontchannel_logout", mechanism: "frontchannel" });
        const feed = await stores.revocations.endedSince(since);
        expect(feed.filter((e) => e.lsid === id)).toEqual(events);
      });

      it("an IdP-session mark stops every session holding that (iss, sid), even one created after it", async () => {
        const r = record();
        await stores.revocations.revoke({
          targets: [{ kind: "idp-session", iss: ISS, sid: r.sid as string }],
          sessionIds: [],
          reason: "revoked",
          now: Date.now(),
        });
        const id = await stores.sessions.create(r);
        expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "revoked" });
        // The rest of that sign-in was written all the same: the record and both indexes.
        expect(await stores.sessions.read(id)).toEqual(r);
        expect((await stores.sessions.find({ iss: ISS, sid: r.sid as string })).map((s) => s.id)).toEqual([id]);
        expect(await stores.sessions.subjectsForEmail(r.claims.email as string)).toEqual([{ iss: r.iss, sub: r.sub }]);
        const elsewhere = record({ iss: OTHER_ISS, sid: r.sid });
        const other = await stores.sessions.create(elsewhere);
        expect(await stores.revocations.check(handleOf(other, elsewhere))).toEqual({ active: true });
      });

      it("an IdP-session mark by (iss, sid) alone stops a session signed in before it, with no session id given", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        await stores.revocations.revoke({
          targets: [{ kind: "idp-session", iss: ISS, sid: r.sid as string }],
          sessionIds: [],
          reason: "revoked",
          now: Date.now(),
        });
        expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "revoked" });
      });

      it("an IdP-session mark stops the session holding the sid whoever the caller names as its holder (`heldBy` is a hint)", async () => {
        const bystander = record();
        const named = await stores.sessions.create(bystander);
        for (const hint of ["right", "wrong"] as const) {
          const r = record();
          const holder = await stores.sessions.create(r);
          const replay = { kind: "bcl" as const, iss: ISS, jti: `jti-${Math.random()}`, ttlSeconds: 60 };
          const revoked = await stores.revocations.revoke({
            targets: [{ kind: "idp-session", iss: ISS, sid: r.sid as string, heldBy: hint === "right" ? holder : named }],
            sessionIds: [],
            reason: "revoked",
            replay,
            now: Date.now(),
          });
          // The record of the session named as the holder, read in the same step, whoever it is.
          const held = hint === "right" ? { id: holder, record: r } : { id: named, record: bystander };
          expect(revoked).toEqual({ result: "written", events: [], held: [held] });
          expect(await stores.revocations.check(handleOf(holder, r))).toEqual({ active: false, reason: "revoked" });
          // The replay record is written once every mark is, whichever step wrote them.
          expect(await stores.revocations.seen(replay)).toBe(true);
        }
        // A session of the user named by mistake that holds another sid is untouched.
        expect(await stores.revocations.check(handleOf(named, bystander))).toEqual({ active: true });
      });

      it("an IdP-session mark stops an older session holding the sid after the newer one holding it ended", async () => {
        const r = record();
        const older = await stores.sessions.create(r);
        const newer = await stores.sessions.create({ ...r, createdAt: r.createdAt + 1 });
        await stores.sessions.end([{ id: newer, record: r }], "logout");
        await stores.revocations.revoke({
          targets: [{ kind: "idp-session", iss: ISS, sid: r.sid as string }],
          sessionIds: [],
          reason: "revoked",
          now: Date.now(),
        });
        expect(await stores.revocations.check(handleOf(older, r))).toEqual({ active: false, reason: "revoked" });
      });

      it("a sid-only logout racing a sign-in with that sid stops the session, whichever comes first (BCL §2.4)", async () => {
        const deps = { sessions: stores.sessions, revocations: stores.revocations, now: Date.now };
        const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
        const races = Array.from({ length: 16 }, async (_, i) => {
          const r = record();
          const signIn = async () => {
            if (i % 2 === 0) await pause(i % 4);
            return stores.sessions.create(r);
          };
          const logout = async () => {
            if (i % 2 === 1) await pause(i % 4);
            return endSessions(deps, [{ kind: "idp-session", iss: ISS, sid: r.sid as string }], "revoked");
          };
          const [id] = await Promise.all([signIn(), logout()]);
          return stores.revocations.check(handleOf(id, r));
        });
        for (const verdict of await Promise.all(races)) expect(verdict).toEqual({ active: false, reason: "revoked" });
      });

      it("a subject mark stops sessions that started before it, not after", async () => {
        const before = record({ createdAt: 1_000 });
        const after = record({ sub: before.sub, createdAt: 3_000 });
        const a = await stores.sessions.create(before);
        const b = await stores.sessions.create(after);
        await stores.revocations.revoke({
          targets: [{ kind: "subject", iss: ISS, sub: before.sub, beforeMs: 2_000 }],
          sessionIds: [],
          reason: "security_event",
          now: Date.now(),
        });
        expect(await stores.revocations.check(handleOf(a, before))).toEqual({ active: false, reason: "security_event" });
        expect(await stores.revocations.check(handleOf(b, after))).toEqual({ active: true });
      });

      it("a subject mark only moves forward: an older one cannot shorten a newer one", async () => {
        const r = record({ createdAt: 1_500 });
        const id = await stores.sessions.create(r);
        await stores.revocations.revoke({
          targets: [{ kind: "subject", iss: ISS, sub: r.sub, beforeMs: 2_000 }],
          sessionIds: [],
          reason: "revoked",
          now: Date.now(),
        });
        await stores.revocations.revoke({
          targets: [{ kind: "subject", iss: ISS, sub: r.sub, beforeMs: 1_000 }],
          sessionIds: [],
          reason: "revoked",
          now: Date.now(),
        });
        expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: false, reason: "revoked" });
      });

      it("writes only the replay record when a session named in subjectOf is not that subject's (BCL §2.7)", async () => {
        const mine = record();
        const theirs = record();
        const mineId = await stores.sessions.create(mine);
        const theirsId = await stores.sessions.create(theirs);
        const since = Date.now() - 1;
        const replay = { kind: "bcl" as const, iss: ISS, jti: `jti-${Math.random()}`, ttlSeconds: 60 };
        const revocation = {
          targets: [{ kind: "idp-session" as const, iss: ISS, sid: theirs.sid as string, heldBy: theirsId }],
          sessionIds: [theirsId],
          reason: "revoked" as const,
          replay,
          now: Date.now(),
        };
        // The sid's session is checked against the other user, and against that user at another issuer.
        for (const check of [
          { sessionId: theirsId, iss: ISS, sub: mine.sub },
          { sessionId: theirsId, iss: OTHER_ISS, sub: theirs.sub },
        ]) {
          expect(
            await stores.revocations.revoke({
              ...revocation,
              replay: { ...replay, jti: `${replay.jti}-${check.iss}` },
              subjectOf: [check],
            }),
          ).toEqual({ result: "other_subject" });
        }
        expect(await stores.revocations.check(handleOf(theirsId, theirs))).toEqual({ active: true });
        expect(await stores.revocations.check(handleOf(mineId, mine))).toEqual({ active: true });
        expect((await stores.revocations.endedSince(since)).filter((e) => e.lsid === theirsId)).toEqual([]);
        // Nor a later sign-in with that sid: its IdP-session ended mark was not written either.
        const later = await stores.sessions.create({ ...theirs, createdAt: theirs.createdAt + 1 });
        expect(await stores.revocations.check(handleOf(later, theirs))).toEqual({ active: true });
        // The replay record was: the same signal again is a replay.
        expect(await stores.revocations.seen({ ...replay, jti: `${replay.jti}-${ISS}` })).toBe(true);

        // The same revocation with the right subject is written whole.
        const revoked = await stores.revocations.revoke({ ...revocation, subjectOf: [{ sessionId: theirsId, iss: ISS, sub: theirs.sub }] });
        expect(revoked).toEqual({
          result: "written",
          events: [expect.objectContaining({ lsid: theirsId, reason: "revoked" })],
          held: [{ id: theirsId, record: theirs }],
        });
        expect(await stores.revocations.check(handleOf(theirsId, theirs))).toEqual({ active: false, reason: "revoked" });
        expect(await stores.revocations.check(handleOf(later, theirs))).toEqual({ active: false, reason: "revoked" });
        expect(await stores.revocations.seen(replay)).toBe(true);
      });

      it("writes nothing when the replay record is already there", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        const replay = { kind: "bcl" as const, iss: ISS, jti: `jti-${Math.random()}`, ttlSeconds: 60.4 };
        expect(await stores.revocations.revoke({ targets: [], sessionIds: [], reason: "revoked", replay, now: Date.now() })).toEqual({
          result: "written",
          events: [],
          held: [],
        });
        expect(
          await stores.revocations.revoke({
            targets: [{ kind: "idp-session", iss: ISS, sid: r.sid as string }],
            sessionIds: [id],
            reason: "revoked",
            replay,
            now: Date.now(),
          }),
        ).toEqual({ result: "replayed" });
        expect(await stores.revocations.check(handleOf(id, r))).toEqual({ active: true });
        expect(await stores.revocations.seen(replay)).toBe(true);
      });

      it("remembers a replay record once, whole seconds or not", async () => {
        const replay = { kind: "ssf" as const, iss: ISS, jti: `jti-${Math.random()}`, ttlSeconds: 0.3 };
        expect(await stores.revocations.seen(replay)).toBe(false);
        expect(await stores.revocations.remember(replay)).toBe(true);
        expect(await stores.revocations.remember(replay)).toBe(false);
        expect(await stores.revocations.seen({ ...replay, kind: "bcl" })).toBe(false);
      });
    });

    describe("remote-API state", () => {
      const state = (token: string): ApiState => ({
        tokens: { statements: { accessToken: token, tokenType: "bearer", expiresAt: 1_800_000_000_000 } },
        dpopKey: { kty: "EC", crv: "P-256", x: "x-coordinate", y: "y-coordinate", d: "private-part" },
      });

      it("keeps a session's API tokens and DPoP key until the session ends, then deletes them with its record", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        expect(await stores.sessions.apiState(id)).toBeNull();
        expect(await stores.sessions.setApiState(id, state("at-1"), r.expiresAt)).toBe(true);
        expect(await stores.sessions.apiState(id)).toEqual(state("at-1"));
        expect(await stores.sessions.setApiState(id, { tokens: {} }, r.expiresAt)).toBe(true);
        expect(await stores.sessions.apiState(id)).toEqual({ tokens: {} });
        await stores.sessions.setApiState(id, state("at-2"), r.expiresAt);
        await endSessions(
          { sessions: stores.sessions, revocations: stores.revocations, now: Date.now },
          [{ kind: "session", id }],
          "logout",
        );
        expect(await stores.sessions.apiState(id)).toBeNull();
      });

      it("keeps nothing for a session that has ended (a write racing its end)", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        await stores.sessions.end([{ id, record: r }], "logout");
        expect(await stores.sessions.setApiState(id, state("at-late"), r.expiresAt)).toBe(false);
        expect(await stores.sessions.apiState(id)).toBeNull();
        expect(await stores.sessions.setApiState("C".repeat(43), state("at-none"), r.expiresAt)).toBe(false);
        expect(await stores.sessions.apiState("C".repeat(43))).toBeNull();
      });

      it("lets a session's API state expire with the session", async () => {
        const r = record();
        const id = await stores.sessions.create(r);
        expect(await stores.sessions.setApiState(id, state("at-short"), Date.now() + 1_100)).toBe(true);
        expect(await stores.sessions.apiState(id)).not.toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 1_400));
        expect(await stores.sessions.apiState(id)).toBeNull();
      });

      it("keeps each session's API state apart", async () => {
        const a = await stores.sessions.create(record());
        const b = await stores.sessions.create(record());
        await stores.sessions.setApiState(a, state("at-a"), Date.now() + 60_000);
        expect(await stores.sessions.apiState(b)).toBeNull();
      });

      it("keeps a client API's state for its TTL, one key per API", async () => {
        const api = `client-${Math.random().toString(36).slice(2, 8)}`;
        expect(await stores.sessions.clientApiState(api)).toBeNull();
        await stores.sessions.setClientApiState(api, state("ct-1"), 400);
        expect((await stores.sessions.clientApiState(api))?.tokens.statements?.accessToken).toBe("ct-1");
        expect(await stores.sessions.clientApiState(`${api}-other`)).toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 600));
        expect(await stores.sessions.clientApiState(api)).toBeNull();
      });

      it("lets one owner hold a client API's lock, only that owner release it, and the lock expire", async () => {
        const api = `lock-${Math.random().toString(36).slice(2, 8)}`;
        const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => stores.sessions.lockClientApi(api, `owner-${i}`, 5_000)));
        expect(claims.filter(Boolean)).toHaveLength(1);
        const owner = `owner-${claims.indexOf(true)}`;
        await stores.sessions.unlockClientApi(api, "someone-else");
        expect(await stores.sessions.lockClientApi(api, "x", 5_000)).toBe(false);
        await stores.sessions.unlockClientApi(api, owner);
        expect(await stores.sessions.lockClientApi(api, "x", 300)).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 450));
        expect(await stores.sessions.lockClientApi(api, "y", 300)).toBe(true);
      });
    });

    describe("stream state", () => {
      it("keeps the stream until it is deleted", async () => {
        expect(await stores.streams.readStream()).toBeNull();
        await stores.streams.writeStream('{"config":{}}', 60);
        expect(await stores.streams.readStream()).toBe('{"config":{}}');
        await stores.streams.deleteStream();
        expect(await stores.streams.readStream()).toBeNull();
      });

      it("accepts the verification state asked for once, and a wrong one uses nothing up", async () => {
        await stores.streams.setVerificationState("state-1", 60);
        expect(await stores.streams.useVerificationState("state-2")).toBe(false);
        expect(await stores.streams.useVerificationState("state-1")).toBe(true);
        expect(await stores.streams.useVerificationState("state-1")).toBe(false);
      });
    });
  });
}
