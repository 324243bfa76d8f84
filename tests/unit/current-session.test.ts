import { describe, expect, it } from "vitest";
import { memoryStores } from "@/lib/store/memory";
import { currentSession, LIVENESS_WAIT_MS, type CurrentSessionDeps } from "@/lib/session/current";
import { sealHandle, type SessionHandle } from "@/lib/session/handle";
import { StoreError } from "@/lib/store/errors";
import type { SessionRecord } from "@/lib/session/record";
import { record } from "../store/contract";

const SECRET = "s".repeat(43);
const COOKIE = "lockstep.session";

/** A signed-in session in the memory store, its sealed cookie, and deps whose store calls the test can hold. */
async function setup() {
  const stores = memoryStores({ ttlSeconds: 3600 });
  const r = record();
  const id = await stores.sessions.create(r);
  const handle: SessionHandle = { lsid: id, iss: r.iss, sub: r.sub, sid: r.sid, createdAt: r.createdAt };
  const sealed = await sealHandle(handle, SECRET, COOKIE, 3600);
  const calls: string[] = [];
  let releaseCheck!: () => void;
  const checkHeld = new Promise<void>((resolve) => (releaseCheck = resolve));
  const deps = (read: (id: string) => Promise<SessionRecord | null> = stores.sessions.read): CurrentSessionDeps => ({
    config: { AUTH_SECRET: SECRET },
    cookies: { session: COOKIE, ended: "lockstep.ended", secure: false },
    sessions: {
      read: (lsid) => {
        calls.push("read");
        return read(lsid);
      },
    },
    revocations: {
      check: async (h) => {
        calls.push("check");
        await checkHeld;
        return stores.revocations.check(h);
      },
    },
  });
  return { stores, id, handle, sealed, calls, releaseCheck, deps };
}

describe("currentSession: the route handlers' gate", () => {
  it("reads the record while the revocation list is asked: one round trip of waiting, not two", async () => {
    const { id, sealed, calls, releaseCheck, deps } = await setup();
    const pending = currentSession(deps(), sealed);
    // The check has not answered yet, and the read is already on its way.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect([...calls].sort()).toEqual(["check", "read"]);
    releaseCheck();
    await expect(pending).resolves.toMatchObject({ state: "active", id });
  });

  it("a revoked session is ended even though its record is still there (the list decides, not the record)", async () => {
    const { stores, id, sealed, releaseCheck, deps } = await setup();
    await stores.revocations.revoke({ targets: [], sessionIds: [id], reason: "logout", now: Date.now() });
    releaseCheck();
    await expect(currentSession(deps(), sealed)).resolves.toMatchObject({ state: "ended", reason: "logout" });
  });

  it("a revoked session is ended even when its read fails, and the failed read is not left unhandled", async () => {
    const { stores, id, sealed, releaseCheck, deps } = await setup();
    await stores.revocations.revoke({ targets: [], sessionIds: [id], reason: "revoked", now: Date.now() });
    releaseCheck();
    const failingRead = () => Promise.reject(new StoreError("session.read"));
    await expect(currentSession(deps(failingRead), sealed)).resolves.toMatchObject({ state: "ended", reason: "revoked" });
  });

  it("a live session whose record cannot be read throws the store's error (the caller answers 503)", async () => {
    const { sealed, releaseCheck, deps } = await setup();
    releaseCheck();
    const failingRead = () => Promise.reject(new StoreError("session.read"));
    await expect(currentSession(deps(failingRead), sealed)).rejects.toBeInstanceOf(StoreError);
  });

  it("a live session whose record is gone has expired", async () => {
    const { sealed, releaseCheck, deps } = await setup();
    releaseCheck();
    await expect(
      currentSession(
        deps(async () => null),
        sealed,
      ),
    ).resolves.toMatchObject({ state: "ended", reason: "expired" });
  });
});

describe("currentSession: liveness before a session is served", () => {
  it("ends a session the liveness check finds refused at the IdP, before it is served", async () => {
    const { id, sealed, releaseCheck, deps } = await setup();
    releaseCheck();
    const asked: string[] = [];
    const gate: CurrentSessionDeps = { ...deps(), liveness: async (lsid) => (asked.push(lsid), "ended" as const) };
    await expect(currentSession(gate, sealed)).resolves.toMatchObject({ state: "ended", reason: "idp_refused" });
    expect(asked).toEqual([id]);
  });

  it(
    "serves the session when the check is slower than LIVENESS_WAIT_MS (a slow IdP is not a refusal)",
    { timeout: LIVENESS_WAIT_MS + 5_000 },
    async () => {
      const { id, sealed, releaseCheck, deps } = await setup();
      releaseCheck();
      const gate: CurrentSessionDeps = { ...deps(), liveness: () => new Promise(() => {}) };
      const started = Date.now();
      await expect(currentSession(gate, sealed)).resolves.toMatchObject({ state: "active", id });
      expect(Date.now() - started).toBeGreaterThanOrEqual(LIVENESS_WAIT_MS - 50);
    },
  );

  it("does not ask liveness about a session the revocation list already ended", async () => {
    const { stores, id, sealed, releaseCheck, deps } = await setup();
    await stores.revocations.revoke({ targets: [], sessionIds: [id], reason: "logout", now: Date.now() });
    releaseCheck();
    let asked = 0;
    const gate: CurrentSessionDeps = { ...deps(), liveness: async () => (asked++, "live" as const) };
    await expect(currentSession(gate, sealed)).resolves.toMatchObject({ state: "ended", reason: "logout" });
    expect(asked).toBe(0);
  });
});
