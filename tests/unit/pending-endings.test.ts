import { describe, expect, it } from "vitest";
import { memoryStores } from "@/lib/store/memory";
import { StoreError } from "@/lib/store/errors";
import { endSessions, type EndDeps } from "@/lib/revocation/end-sessions";
import { PendingEndings, type PendingLog } from "@/lib/revocation/pending";
import { currentSession, type CurrentSessionDeps } from "@/lib/session/current";
import { seal } from "@/lib/session/handle";
import type { Stores } from "@/lib/store/ports";
import { signInTo } from "../support/sessions";

const ISS = "https://idp.example.com";
const SECRET = "a-test-secret-that-is-long-enough-for-hkdf";
const COOKIE = "bank.session";

/** The in-memory stores behind a switch: while `down`, every call throws StoreError, as the Redis stores do. */
function switchable(stores: Stores) {
  const state = { down: false };
  const wrap = <T extends object>(target: T, name: string): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (state.down) return Promise.reject(new StoreError(`${name}.${String(property)}`));
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      },
    });
  return { state, sessions: wrap(stores.sessions, "session"), revocations: wrap(stores.revocations, "revocation") };
}

function setup(options: { maxAgeMs?: number; maxEntries?: number } = {}) {
  let clock = Date.now();
  const stores = memoryStores({ ttlSeconds: 3600 });
  const store = switchable(stores);
  const logged: Parameters<PendingLog>[0][] = [];
  const pending = new PendingEndings({
    log: (entry) => logged.push(entry),
    now: () => clock,
    maxAgeMs: options.maxAgeMs ?? 60_000,
    maxEntries: options.maxEntries,
    firstPauseMs: 5,
    maxPauseMs: 20,
  });
  const ending: EndDeps = { sessions: store.sessions, revocations: store.revocations, now: () => clock, pending };
  const gate: CurrentSessionDeps = {
    config: { AUTH_SECRET: SECRET },
    cookies: { session: COOKIE, ended: "bank.ended", secure: false },
    sessions: store.sessions,
    revocations: store.revocations,
    pendingEnd: (handle) => pending.covers(handle),
  };
  const signIn = async (sub = "alice", sid?: string) => {
    const signed = await signInTo(stores, ISS, clock, { sub, sid });
    return { ...signed, cookie: await seal(signed.handle, SECRET, COOKIE, 3600) };
  };
  const logout = (id: string) =>
    pending.add({
      key: `logout ${id}`,
      kind: "local_logout",
      reason: "logout",
      targets: [{ kind: "session", id }],
      apply: async () => void (await endSessions(ending, [{ kind: "session", id }], "logout")),
    });
  return { stores, store, pending, logged, gate, signIn, logout, tick: (ms: number) => (clock += ms) };
}

describe("endings queued while the store is down (lib/revocation/pending.ts)", () => {
  it("stores a sign-out taken during an outage once the store is back, retrying with back-off, and logs each step", async () => {
    const { store, pending, logged, gate, signIn, logout } = setup();
    const alice = await signIn();
    store.state.down = true;
    expect(logout(alice.id)).toBe(true);
    // The timer retries by itself while the store is down.
    await new Promise((r) => setTimeout(r, 60));
    expect(pending.size).toBe(1);
    store.state.down = false;
    for (let i = 0; i < 100 && pending.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pending.size).toBe(0);
    expect(await currentSession({ ...gate, pendingEnd: undefined }, alice.cookie)).toMatchObject({ state: "ended", reason: "logout" });
    const events = logged.map((e) => e.event);
    expect(events[0]).toBe("pending_ending.queued");
    expect(events.filter((e) => e === "pending_ending.retrying")).toHaveLength(1);
    expect(events.at(-1)).toBe("pending_ending.applied");
    expect(logged.at(-1)!.attempts).toBeGreaterThan(1);
    expect(JSON.stringify(logged)).not.toContain(alice.id);
  });

  it("lets this process's gate refuse a queued session at once, while the store is down and after it is back", async () => {
    const { store, gate, signIn, logout } = setup();
    const alice = await signIn("alice");
    const bob = await signIn("bob");
    store.state.down = true;
    logout(alice.id);
    expect(await currentSession(gate, alice.cookie)).toMatchObject({ state: "ended", reason: "logout" });
    // Another session is not judged by the queue: the store is asked, and its failure is the answer.
    await expect(currentSession(gate, bob.cookie)).rejects.toThrow(StoreError);
    store.state.down = false;
    expect(await currentSession(gate, alice.cookie)).toMatchObject({ state: "ended", reason: "logout" });
    expect(await currentSession(gate, bob.cookie)).toMatchObject({ state: "active" });
  });

  it("covers a session by id, by its IdP session (and sub), and by its user before a time, and nothing else", () => {
    const { pending } = setup();
    const handle = { lsid: "x".repeat(43), iss: ISS, sub: "alice", sid: "sid-1", createdAt: 1_000 };
    const add = (key: string, target: Parameters<PendingEndings["add"]>[0]["targets"]) =>
      pending.add({ key, kind: "backchannel_logout", reason: "revoked", targets: target, apply: async () => undefined });
    add("other", [{ kind: "idp-session", iss: ISS, sid: "sid-2" }]);
    add("other-sub", [{ kind: "idp-session", iss: ISS, sid: "sid-1", sub: "bob" }]);
    add("later", [{ kind: "subject", iss: ISS, sub: "alice", beforeMs: 1_000 }]);
    add("other-iss", [{ kind: "subject", iss: "https://other.example.com", sub: "alice", beforeMs: 5_000 }]);
    expect(pending.covers(handle)).toBeUndefined();
    add("sid", [{ kind: "idp-session", iss: ISS, sid: "sid-1", sub: "alice" }]);
    expect(pending.covers(handle)).toBe("revoked");
    const user = setup().pending;
    user.add({
      key: "u",
      kind: "ssf_push",
      reason: "security_event",
      targets: [{ kind: "subject", iss: ISS, sub: "alice", beforeMs: 1_001 }],
      apply: async () => undefined,
    });
    expect(user.covers(handle)).toBe("security_event");
  });

  it("keeps one entry per key, refuses more than its cap (and says so), and drops what is older than the session TTL", async () => {
    const { store, pending, logged, signIn, logout, tick } = setup({ maxEntries: 2, maxAgeMs: 1_000 });
    const [a, b, c] = [await signIn("a"), await signIn("b"), await signIn("c")];
    store.state.down = true;
    expect(logout(a.id)).toBe(true);
    expect(logout(a.id)).toBe(true);
    expect(pending.size).toBe(1);
    expect(logout(b.id)).toBe(true);
    expect(logout(c.id)).toBe(false);
    expect(logged.map((e) => e.event)).toContain("pending_ending.full");
    tick(2_000);
    await pending.flush();
    expect(pending.size).toBe(0);
    expect(logged.filter((e) => e.event === "pending_ending.expired")).toHaveLength(2);
  });

  it("refuses what would pass its byte budget (raw SETs), and takes it again once room is made", async () => {
    const logged: string[] = [];
    const pending = new PendingEndings({ log: (e) => logged.push(e.event), maxAgeMs: 60_000, maxBytes: 100 });
    const set = (key: string, bytes: number) =>
      pending.add({ key, kind: "ssf_push", reason: "security_event", bytes, apply: async () => undefined });
    expect(set("a", 60)).toBe(true);
    expect(set("b", 60)).toBe(false);
    expect(logged).toContain("pending_ending.full");
    await pending.flush();
    expect(set("b", 60)).toBe(true);
  });

  it("drops, and logs as refused, an ending that resolves Dropped (a SET that no longer validates)", async () => {
    const { pending, logged } = setup();
    pending.add({ key: "set", kind: "ssf_push", reason: "security_event", apply: async () => ({ dropped: "invalid_signature" }) });
    await pending.flush();
    expect(pending.size).toBe(0);
    expect(logged.at(-1)).toMatchObject({ event: "pending_ending.dropped", outcome: "rejected", reason: "invalid_signature" });
  });
});
