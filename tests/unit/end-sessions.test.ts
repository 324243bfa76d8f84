import { describe, expect, it, vi } from "vitest";
import { memoryStores } from "@/lib/store/memory";
import { endSessions, type EndDeps } from "@/lib/revocation/end-sessions";
import type { SessionHandle } from "@/lib/session/handle";
import type { SessionRecord } from "@/lib/session/record";
import type { Revocation } from "@/lib/store/ports";
import { record } from "../store/contract";

const ISS = "https://idp.example.com";

function setup() {
  const stores = memoryStores({ ttlSeconds: 3600 });
  const onEnded = vi.fn();
  const deps: EndDeps = { sessions: stores.sessions, revocations: stores.revocations, now: Date.now, onEnded };
  const signIn = async (overrides: Partial<SessionRecord> = {}) => {
    const r = record(overrides);
    const id = await stores.sessions.create(r);
    const handle: SessionHandle = { lsid: id, iss: r.iss, sub: r.sub, sid: r.sid, createdAt: r.createdAt };
    return { id, record: r, check: () => stores.revocations.check(handle) };
  };
  return { stores, deps, onEnded, signIn };
}

describe("endSessions: the one way sessions end", () => {
  it("ends one session by its id with the reason its user will see, and tells this instance's tabs", async () => {
    const { deps, onEnded, signIn } = setup();
    const a = await signIn();
    const b = await signIn({ sub: a.record.sub });
    const outcome = await endSessions(deps, [{ kind: "session", id: a.id, record: a.record }], "logout");
    expect(outcome.result).toBe("ended");
    expect(outcome.ended.map((s) => s.id)).toEqual([a.id]);
    expect(await a.check()).toEqual({ active: false, reason: "logout" });
    expect(await b.check()).toEqual({ active: true });
    expect(onEnded).toHaveBeenCalledWith([expect.objectContaining({ lsid: a.id, reason: "logout" })]);
  });

  it("ends an IdP session only at its issuer (OpenID Connect Core §2: sid is unique per issuer only)", async () => {
    const { deps, signIn } = setup();
    const here = await signIn();
    const elsewhere = await signIn({ iss: "https://other.example.com", sid: here.record.sid });
    await endSessions(deps, [{ kind: "idp-session", iss: ISS, sid: here.record.sid as string }], "revoked");
    expect(await here.check()).toEqual({ active: false, reason: "revoked" });
    expect(await elsewhere.check()).toEqual({ active: true });
  });

  it("with sid and sub, ends nothing when the sid's session is another subject's (BCL §2.7)", async () => {
    const { deps, signIn } = setup();
    const s = await signIn();
    const outcome = await endSessions(
      deps,
      [{ kind: "idp-session", iss: ISS, sid: s.record.sid as string, sub: "someone-else" }],
      "revoked",
    );
    expect(outcome.result).toBe("sub_mismatch");
    expect(await s.check()).toEqual({ active: true });
  });

  it("an unknown sid ends nothing, but stops a sign-in that races the signal", async () => {
    const { deps, onEnded, signIn } = setup();
    const outcome = await endSessions(deps, [{ kind: "idp-session", iss: ISS, sid: "racing-sid" }], "revoked");
    expect(outcome).toEqual({ result: "ended", ended: [] });
    expect(onEnded).toHaveBeenCalledWith([]);
    const late = await signIn({ sid: "racing-sid" });
    expect(await late.check()).toEqual({ active: false, reason: "revoked" });
  });

  it("with knownOnly (unauthenticated signals), an unknown sid writes nothing at all", async () => {
    const { deps, signIn } = setup();
    const outcome = await endSessions(deps, [{ kind: "idp-session", iss: ISS, sid: "made-up-sid" }], "frontchannel_logout", {
      knownOnly: true,
    });
    expect(outcome.result).toBe("unknown");
    const later = await signIn({ sid: "made-up-sid" });
    expect(await later.check()).toEqual({ active: true });
  });

  it("a subject-wide ending stops the sessions begun before it and lets later ones live", async () => {
    const { deps, signIn } = setup();
    const old = await signIn({ createdAt: 1_000 });
    const young = await signIn({ sub: old.record.sub, createdAt: 5_000 });
    const outcome = await endSessions(deps, [{ kind: "subject", iss: ISS, sub: old.record.sub, beforeMs: 3_000 }], "security_event");
    expect(outcome.ended.map((s) => s.id)).toEqual([old.id]);
    expect(await old.check()).toEqual({ active: false, reason: "security_event" });
    expect(await young.check()).toEqual({ active: true });
  });

  it("a subject-wide mark only moves forward: a late, older signal cannot shorten it", async () => {
    const { deps, signIn } = setup();
    const s = await signIn({ createdAt: 2_000 });
    await endSessions(deps, [{ kind: "subject", iss: ISS, sub: s.record.sub, beforeMs: 3_000 }], "revoked");
    await endSessions(deps, [{ kind: "subject", iss: ISS, sub: s.record.sub, beforeMs: 1_000 }], "revoked");
    // Signing in again at 2 500 ms (before the newer mark) is still refused.
    const again = await signIn({ sub: s.record.sub, createdAt: 2_500 });
    expect(await again.check()).toEqual({ active: false, reason: "revoked" });
  });

  it("reads the replay record while it looks the sessions up (one round trip of waiting), and tells revoke it did", async () => {
    const { stores, deps, signIn } = setup();
    const s = await signIn();
    const order: string[] = [];
    let releaseFind!: () => void;
    const findHeld = new Promise<void>((resolve) => (releaseFind = resolve));
    const revoke = vi.fn(stores.revocations.revoke);
    const held: EndDeps = {
      ...deps,
      sessions: {
        ...stores.sessions,
        holderOf: async (iss, sid) => {
          order.push("find");
          await findHeld;
          return stores.sessions.holderOf(iss, sid);
        },
      },
      revocations: {
        ...stores.revocations,
        seen: async (replay) => (order.push("seen"), stores.revocations.seen(replay)),
        revoke,
      },
    };
    const replay = { kind: "bcl" as const, iss: ISS, jti: "jti-parallel", ttlSeconds: 600 };
    const running = endSessions(held, [{ kind: "idp-session", iss: ISS, sid: s.record.sid as string }], "revoked", { replay });
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The lookup has not answered, and the replay record is already being read.
    expect([...order].sort()).toEqual(["find", "seen"]);
    releaseFind();
    expect((await running).result).toBe("ended");
    expect(revoke).toHaveBeenCalledWith(expect.objectContaining({ replay, replayChecked: true }));
    // Seen now: the same signal again writes nothing, and revoke is not called.
    revoke.mockClear();
    expect((await endSessions(held, [{ kind: "idp-session", iss: ISS, sid: s.record.sid as string }], "revoked", { replay })).result).toBe(
      "replayed",
    );
    expect(revoke).not.toHaveBeenCalled();
  });

  it("stores the replay record in the same step as the marks: a replayed signal changes nothing", async () => {
    const { deps, signIn } = setup();
    const replay = { kind: "bcl" as const, iss: ISS, jti: "jti-1", ttlSeconds: 600 };
    const first = await signIn();
    expect(
      (await endSessions(deps, [{ kind: "idp-session", iss: ISS, sid: first.record.sid as string }], "revoked", { replay })).result,
    ).toBe("ended");
    const second = await signIn();
    const outcome = await endSessions(deps, [{ kind: "idp-session", iss: ISS, sid: second.record.sid as string }], "revoked", { replay });
    expect(outcome.result).toBe("replayed");
    expect(await second.check()).toEqual({ active: true });
  });

  it("answers a store failure by throwing, with nothing ended, so that the sender retries", async () => {
    const { stores, deps, signIn } = setup();
    const s = await signIn();
    const failing: EndDeps = { ...deps, revocations: { ...stores.revocations, revoke: () => Promise.reject(new Error("down")) } };
    await expect(endSessions(failing, [{ kind: "session", id: s.id }], "logout")).rejects.toThrow("down");
    expect(await s.check()).toEqual({ active: true });
    expect(await stores.sessions.read(s.id)).not.toBeNull();
  });

  it("keeps the revocation when deleting the ended sessions' tokens fails", async () => {
    const { stores, deps, signIn } = setup();
    const s = await signIn();
    const failing: EndDeps = { ...deps, sessions: { ...stores.sessions, end: () => Promise.reject(new Error("down")) } };
    const outcome = await endSessions(failing, [{ kind: "session", id: s.id }], "logout");
    expect(outcome).toMatchObject({ result: "ended", cleanupFailed: true });
    expect(await s.check()).toEqual({ active: false, reason: "logout" });
  });

  it("by sid, reads only the index before the revocation, which reads the holder's record in its own step", async () => {
    const { stores, deps, signIn } = setup();
    const s = await signIn();
    const order: string[] = [];
    const sessions = {
      ...stores.sessions,
      holderOf: vi.fn(async (iss: string, sid: string) => (order.push("holder"), stores.sessions.holderOf(iss, sid))),
      read: vi.fn(stores.sessions.read),
      find: vi.fn(stores.sessions.find),
    };
    const revocations = {
      ...stores.revocations,
      revoke: vi.fn(async (r: Revocation) => (order.push("revoke"), stores.revocations.revoke(r))),
    };
    const outcome = await endSessions(
      { ...deps, sessions, revocations },
      [{ kind: "idp-session", iss: ISS, sid: s.record.sid as string }],
      "revoked",
    );
    expect(order).toEqual(["holder", "revoke"]);
    expect(revocations.revoke).toHaveBeenCalledWith(expect.objectContaining({ targets: [expect.objectContaining({ heldBy: s.id })] }));
    // The record the revocation read is the one the clean-up deletes.
    expect(outcome.ended).toEqual([{ id: s.id, record: s.record }]);
    expect(await stores.sessions.read(s.id)).toBeNull();
    expect(sessions.read).not.toHaveBeenCalled();
    expect(sessions.find).not.toHaveBeenCalled();
  });

  it("by sid and sub, hands the subject check to the revocation, which makes it with its writes (BCL §2.7)", async () => {
    const { stores, deps, signIn } = setup();
    const s = await signIn();
    const revoke = vi.spyOn(stores.revocations, "revoke");
    const replay = { kind: "bcl" as const, iss: ISS, jti: "jti-other-subject", ttlSeconds: 600 };
    const target = { kind: "idp-session" as const, iss: ISS, sid: s.record.sid as string, sub: "someone-else" };
    expect(await endSessions({ ...deps, revocations: stores.revocations }, [target], "revoked", { replay })).toEqual({
      result: "sub_mismatch",
      ended: [],
    });
    expect(revoke).toHaveBeenCalledWith(expect.objectContaining({ subjectOf: [{ sessionId: s.id, iss: ISS, sub: "someone-else" }] }));
    // The replay record was kept: the same token again is a replay.
    expect((await endSessions(deps, [target], "revoked", { replay })).result).toBe("replayed");
    expect(await s.check()).toEqual({ active: true });
  });
});
