/**
 * The hash-slot rule (lib/store/keys.ts): every command Lockstep sends touches one Redis Cluster
 * slot. Slots are computed here (tests/support/key-slot.ts, checked against the server's CLUSTER
 * KEYSLOT in the store-cluster tier); the store-cluster tier runs the whole store on a real cluster.
 */
import { describe, expect, it } from "vitest";
import { appKeys, idpSessionTag, sessionTag, userTag, TAG_LENGTH } from "@/lib/store/keys";
import { newSessionId, type Revocation, type Revoked } from "@/lib/store/ports";
import { record } from "../store/contract";

/** The session ids a written revocation fed to the tabs, or what it did instead. */
const lsidsOf = (revoked: Revoked) => (revoked.result === "written" ? revoked.events.map((e) => e.lsid) : revoked.result);
import { revocationKeys } from "@/lib/store/verdict";
import { revokeBySlot, type RevokeSteps } from "@/lib/store/revoke";
import { keySlot } from "../support/key-slot";

const k = appKeys("ls:", "bank");
const ISS = "https://idp.example.com";
const slotsOf = (keys: readonly string[]) => new Set(keys.map(keySlot));

describe("hash slots", () => {
  it("computes Redis's slots (CRC16 XMODEM of the hash tag, modulo 16384)", () => {
    expect(keySlot("123456789")).toBe(0x31c3);
    expect(keySlot("{user1000}.following")).toBe(keySlot("{user1000}.followers"));
    // An empty tag ("{}") does not count: the whole key is hashed.
    expect(keySlot("foo{}{bar}")).not.toBe(keySlot("bar"));
    expect(keySlot("foo{{bar}}zap")).toBe(keySlot("{bar"));
  });

  it("puts every key of one user, and every key of each of their sessions, in one slot", () => {
    const user = { iss: ISS, sub: "alice" };
    const ids = [newSessionId(user), newSessionId(user)];
    const keys = [
      k.subjectSessions(ISS, "alice"),
      k.revokedSubject(ISS, "alice"),
      k.activityLog(ISS, "alice"),
      k.accountDisabled(ISS, "alice"),
      ...ids.flatMap((id) => [
        k.session(id),
        k.revokedSession(id),
        k.revokedIdpSession(sessionTag(id), ISS, "sid-1"),
        k.lastSeen(id),
        k.refreshLock(id),
        ...revocationKeys(k, { lsid: id, iss: ISS, sub: "alice", sid: "sid-1", createdAt: 1 }),
        ...revocationKeys(k, { lsid: id, iss: ISS, sub: "alice", createdAt: 1 }),
      ]),
    ];
    expect(slotsOf(keys).size).toBe(1);
    expect(keySlot(k.session(ids[0]!))).toBe(keySlot(`{${userTag(ISS, "alice")}}`));
  });

  it("puts what a sid-only logout looks up (iss, sid) in one slot", () => {
    expect(slotsOf([k.idpSession(ISS, "sid-1"), k.idpSessionUser(ISS, "sid-1"), k.idpSessionEnded(ISS, "sid-1")]).size).toBe(1);
    expect(keySlot(k.idpSession(ISS, "sid-1"))).toBe(keySlot(`{${idpSessionTag(ISS, "sid-1")}}`));
  });

  it("keeps the rule whatever an iss, sub or sid holds (braces are encoded; the tag comes first)", () => {
    for (const sub of ["{x}", "a}b{c", "}{", "ümlaut {", ""]) {
      const user = { iss: "https://{idp}.example.com/}", sub };
      const id = newSessionId(user);
      expect(
        slotsOf([k.session(id), k.subjectSessions(user.iss, sub), k.revokedSubject(user.iss, sub), k.activityLog(user.iss, sub)]).size,
      ).toBe(1);
      expect(slotsOf([k.idpSession(user.iss, sub), k.idpSessionEnded(user.iss, sub)]).size).toBe(1);
    }
  });

  it("spreads users over the slots (and so over a cluster's masters)", () => {
    const slots = Array.from({ length: 2_000 }, (_, i) => keySlot(k.session(newSessionId({ iss: ISS, sub: `user-${i}` }))));
    expect(new Set(slots).size).toBeGreaterThan(1_800);
    const thirds = [0, 1, 2].map((t) => slots.filter((s) => Math.floor((s * 3) / 16_384) === t).length);
    for (const count of thirds) expect(count).toBeGreaterThan(500);
  });

  it("mints session ids of the cookie's shape that carry their user's tag, the rest random", () => {
    const user = { iss: ISS, sub: "bob" };
    const [a, b] = [newSessionId(user), newSessionId(user)];
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionTag(a)).toBe(userTag(ISS, "bob"));
    expect(sessionTag(a)).toHaveLength(TAG_LENGTH);
    expect(a.slice(TAG_LENGTH)).not.toBe(b.slice(TAG_LENGTH));
    expect(userTag(ISS, "bob")).not.toBe(userTag(ISS, "bob2"));
    expect(userTag(ISS, "bob")).not.toBe(idpSessionTag(ISS, "bob"));
  });

  /** A revocation that spans two users' slots: carol's IdP session (sid-c, held by her session) and dave's subject, with a session of each. */
  const twoUsers = (jti: string) => {
    const carol = newSessionId({ iss: ISS, sub: "carol" });
    const dave = newSessionId({ iss: ISS, sub: "dave" });
    const revocation: Revocation = {
      targets: [
        { kind: "idp-session", iss: ISS, sid: "sid-c", heldBy: carol },
        { kind: "subject", iss: ISS, sub: "dave", beforeMs: 5 },
      ],
      sessionIds: [carol, dave],
      reason: "revoked",
      replay: { kind: "bcl", iss: ISS, jti, ttlSeconds: 60 },
      now: 1_000,
    };
    return { carol, dave, revocation };
  };

  it("runs a revocation as one-slot steps, the feed first and the replay record last", async () => {
    const calls: { step: string; keys: string[] }[] = [];
    const steps: RevokeSteps = {
      exists: async (key) => (calls.push({ step: "exists", keys: [key] }), false),
      isMember: async (key) => (calls.push({ step: "member", keys: [key] }), true),
      appendFeed: async (key) => void calls.push({ step: "feed", keys: [key] }),
      endIdpSession: async (ended, user) => (calls.push({ step: "sid", keys: [ended, user] }), userTag(ISS, "carol")),
      mark: async (keys) => void calls.push({ step: "mark", keys }),
      setOnce: async (key) => (calls.push({ step: "replay", keys: [key] }), true),
      mget: async (keys) => (calls.push({ step: "read", keys }), keys.map(() => JSON.stringify(record({ sub: "carol" })))),
    };
    const { carol, dave, revocation } = twoUsers("j-1");
    const revoked = await revokeBySlot(steps, k, revocation, 3600);
    expect(lsidsOf(revoked)).toEqual([carol, dave]);
    // Carol's record, read in her slot, for the clean-up.
    expect(revoked).toMatchObject({ held: [{ id: carol, record: { sub: "carol" } }] });
    expect(calls.map((c) => c.step)).toEqual(["exists", "feed", "sid", "read", "mark", "mark", "replay"]);
    for (const call of calls) expect(slotsOf(call.keys).size, call.step).toBe(1);
    const marks = calls.filter((c) => c.step === "mark");
    expect(marks[0]?.keys).toEqual([k.revokedIdpSession(userTag(ISS, "carol"), ISS, "sid-c"), k.revokedSession(carol)]);
    expect(marks[1]?.keys).toEqual([k.revokedSubject(ISS, "dave"), k.revokedSession(dave)]);
  });

  it("sends the feed and the sid steps together, the marks only once both are done, and the replay record only once every mark is", async () => {
    const log: string[] = [];
    const pending: (() => void)[] = [];
    // Each step resolves only when released, so the test sees what is in flight at once.
    const held = <T>(name: string, value: T) =>
      new Promise<T>((resolve) => {
        log.push(`start ${name}`);
        pending.push(() => {
          log.push(`done ${name}`);
          resolve(value);
        });
      });
    const steps: RevokeSteps = {
      exists: (key) => held(`exists ${key}`, false),
      isMember: (key) => held(`member ${key}`, true),
      appendFeed: () => held("feed", undefined),
      endIdpSession: () => held("sid", userTag(ISS, "carol")),
      mark: (keys) => held(`mark ${slotsOf(keys).values().next().value}`, undefined),
      setOnce: () => held("replay", true),
      mget: (keys) =>
        held(
          "read",
          keys.map(() => null),
        ),
    };
    const { carol, dave, revocation } = twoUsers("j-2");
    const running = revokeBySlot(steps, k, revocation, 3600);
    const release = async () => {
      await new Promise((r) => setTimeout(r, 5));
      const now = pending.splice(0);
      for (const go of now) go();
      return now.length;
    };
    expect(await release()).toBe(1); // exists, alone
    expect(await release()).toBe(3); // the feed, the sid step and the holder's record, together
    expect(log.slice(2, 5).sort()).toEqual(["start feed", "start read", "start sid"]);
    expect(await release()).toBe(2); // both users' marks, together, after both
    expect(log.indexOf("start replay")).toBe(-1);
    expect(await release()).toBe(1); // the replay record, after every mark
    expect(log.filter((l) => l.startsWith("done mark")).length).toBe(2);
    expect(log.indexOf("start replay")).toBeGreaterThan(log.lastIndexOf("done mark"));
    expect(log.findIndex((l) => l.startsWith("start mark"))).toBeGreaterThan(Math.max(log.indexOf("done feed"), log.indexOf("done sid")));
    expect(lsidsOf(await running)).toEqual([carol, dave]);
  });

  it("checks each session's subject (BCL §2.7) in that subject's slot alongside the replay record, and writes only the replay record when one fails", async () => {
    const calls: { step: string; keys: string[] }[] = [];
    const { carol, dave, revocation } = twoUsers("j-4");
    const steps: RevokeSteps = {
      exists: async (key) => (calls.push({ step: "exists", keys: [key] }), false),
      // Carol's set holds carol's session, not dave's.
      isMember: async (key, member) => (calls.push({ step: "member", keys: [key] }), member === carol),
      appendFeed: async (key) => void calls.push({ step: "feed", keys: [key] }),
      endIdpSession: async (ended, user) => (calls.push({ step: "sid", keys: [ended, user] }), userTag(ISS, "carol")),
      mark: async (keys) => void calls.push({ step: "mark", keys }),
      setOnce: async (key) => (calls.push({ step: "replay", keys: [key] }), true),
      mget: async (keys) => (calls.push({ step: "read", keys }), keys.map(() => null)),
    };
    const check = (sessionId: string) => ({ sessionId, iss: ISS, sub: "carol" });
    expect(await revokeBySlot(steps, k, { ...revocation, subjectOf: [check(carol), check(dave)] }, 3600)).toEqual({
      result: "other_subject",
    });
    expect(calls.map((c) => c.step)).toEqual(["exists", "member", "member", "replay"]);
    expect(calls[1]?.keys).toEqual([k.subjectSessions(ISS, "carol")]);

    calls.length = 0;
    const revoked = await revokeBySlot(
      steps,
      k,
      { ...revocation, replay: { ...revocation.replay!, jti: "j-5" }, subjectOf: [check(carol)] },
      3600,
    );
    expect(lsidsOf(revoked)).toEqual([carol, dave]);
    expect(calls.map((c) => c.step)).toEqual(["exists", "member", "feed", "sid", "read", "mark", "mark", "replay"]);
  });

  it("writes nothing for a signal whose replay record is there", async () => {
    const written: string[] = [];
    const steps: RevokeSteps = {
      exists: async () => true,
      isMember: async () => (written.push("member"), true),
      appendFeed: async () => void written.push("feed"),
      endIdpSession: async () => (written.push("sid"), null),
      mark: async () => void written.push("mark"),
      setOnce: async () => (written.push("replay"), true),
      mget: async (keys) => (written.push("read"), keys.map(() => null)),
    };
    const revocation = {
      targets: [{ kind: "idp-session" as const, iss: ISS, sid: "s" }],
      sessionIds: [newSessionId({ iss: ISS, sub: "e" })],
      reason: "revoked" as const,
      replay: { kind: "bcl" as const, iss: ISS, jti: "j", ttlSeconds: 60 },
      now: 1,
    };
    expect(await revokeBySlot(steps, k, revocation, 3600)).toEqual({ result: "replayed" });
    expect(written).toEqual([]);
  });

  it("with replayChecked, does not read the replay record again, and its final write still catches a concurrent delivery", async () => {
    const calls: string[] = [];
    let firstWrite = true;
    const steps: RevokeSteps = {
      exists: async () => (calls.push("exists"), false),
      isMember: async () => (calls.push("member"), true),
      appendFeed: async () => void calls.push("feed"),
      endIdpSession: async () => (calls.push("sid"), null),
      mark: async () => void calls.push("mark"),
      // The second delivery finds the record its twin wrote: it reports the signal as already handled.
      setOnce: async () => (calls.push("replay"), firstWrite ? !(firstWrite = false) : false),
      mget: async (keys) => (calls.push("read"), keys.map(() => null)),
    };
    const { revocation } = twoUsers("j-3");
    expect(await revokeBySlot(steps, k, { ...revocation, replayChecked: true }, 3600)).toMatchObject({ result: "written" });
    expect(calls[0]).not.toBe("exists");
    expect(calls).not.toContain("exists");
    expect(await revokeBySlot(steps, k, { ...revocation, replayChecked: true }, 3600)).toEqual({ result: "replayed" });
  });
});
