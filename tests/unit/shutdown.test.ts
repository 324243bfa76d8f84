import { describe, expect, it } from "vitest";
import { drain } from "@/lib/compose/shutdown";
import { StreamLimits } from "@/lib/live/limits";
import type { SecurityEvent } from "@/lib/log/security-log";
import { PendingEndings } from "@/lib/revocation/pending";
import { StoreError } from "@/lib/store/errors";

/** A queue holding one local sign-out whose store answers only once `up` is set. */
function queueWithOne() {
  const state = { up: false, applied: 0 };
  const pending = new PendingEndings({ log: () => {}, maxAgeMs: 60_000, firstPauseMs: 60_000, maxPauseMs: 60_000 });
  pending.add({
    key: "session-1",
    kind: "local_logout",
    reason: "logout",
    apply: async () => {
      if (!state.up) throw new StoreError("session.find");
      state.applied += 1;
    },
  });
  return { pending, state };
}

describe("draining a stopping instance", () => {
  it("ends every open stream, logs what it held, and stores a queued ending the store now takes", async () => {
    const streams = new StreamLimits(() => 100);
    const ended: string[] = [];
    streams.admit("a", () => ended.push("a"));
    streams.admit("b", () => ended.push("b"));
    const { pending, state } = queueWithOne();
    state.up = true;
    const logged: SecurityEvent[] = [];

    await drain({ streams, pending, log: (entry) => logged.push(entry), deadlineMs: 1_000 });

    expect(ended).toEqual(["a", "b"]);
    expect(logged[0]).toEqual({ event: "server.drain", outcome: "ok", streams: 2, pending: 1 });
    expect(state.applied).toBe(1);
    expect(pending.size).toBe(0);
    expect(logged.some((entry) => entry.event === "pending_ending.lost")).toBe(false);
  });

  it("says how many queued endings are lost when the store still cannot take them", async () => {
    const { pending } = queueWithOne();
    const logged: SecurityEvent[] = [];
    await drain({ streams: new StreamLimits(() => 100), pending, log: (entry) => logged.push(entry), deadlineMs: 1_000 });
    expect(logged).toContainEqual({ event: "pending_ending.lost", outcome: "error", queued: 1 });
  });

  it("waits for the telemetry export, but no longer than its deadline", async () => {
    let flushed = false;
    const quick = { shutdown: async () => void (flushed = true) };
    await drain({ streams: new StreamLimits(() => 1), telemetry: quick, log: () => {} });
    expect(flushed).toBe(true);

    const stuck = { shutdown: () => new Promise<void>(() => {}) };
    const started = Date.now();
    await drain({ streams: new StreamLimits(() => 1), telemetry: stuck, log: () => {}, deadlineMs: 50 });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
