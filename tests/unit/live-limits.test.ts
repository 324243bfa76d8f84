import { describe, expect, it } from "vitest";
import { DRAINING_RETRY_SECONDS, MAX_STREAMS_PER_SESSION, StreamLimits } from "@/lib/live/limits";

describe("caps on open live-update streams", () => {
  it("admits at most MAX_STREAMS_PER_SESSION streams per session: 429 with Retry-After beyond, another session unaffected", () => {
    const limits = new StreamLimits(() => 1_000);
    const held = Array.from({ length: MAX_STREAMS_PER_SESSION }, () => limits.admit("a"));
    expect(held.every((a) => a.admitted)).toBe(true);
    const refused = limits.admit("a");
    expect(refused).toMatchObject({ admitted: false, status: 429, code: "session_streams_full" });
    expect(!refused.admitted && refused.retryAfter).toBeGreaterThan(0);
    expect(limits.admit("b").admitted).toBe(true);
    // One closes: one more may open.
    if (held[0]!.admitted) held[0]!.release();
    expect(limits.admit("a").admitted).toBe(true);
  });

  it("admits at most the process's cap in all: 503 with Retry-After beyond", () => {
    const limits = new StreamLimits(() => 3);
    const held = ["a", "b", "c"].map((id) => limits.admit(id));
    expect(limits.open).toBe(3);
    expect(limits.admit("d")).toMatchObject({ admitted: false, status: 503, code: "process_streams_full" });
    expect(limits.peek("d")).toMatchObject({ status: 503 });
    if (held[1]!.admitted) held[1]!.release();
    expect(limits.peek("d")).toBeUndefined();
    expect(limits.admit("d").admitted).toBe(true);
  });

  it("counts a release once, however often it is called (a stream closed by the client and by its own end)", () => {
    const limits = new StreamLimits(() => 2);
    const first = limits.admit("a");
    if (!first.admitted) throw new Error("refused");
    first.release();
    first.release();
    expect(limits.open).toBe(0);
    expect(limits.admit("a").admitted && limits.admit("a").admitted).toBe(true);
    expect(limits.open).toBe(2);
  });

  it("once the process drains, ends each open stream once and admits no new one (503, a short Retry-After)", () => {
    const limits = new StreamLimits(() => 100);
    const ended: string[] = [];
    const a = limits.admit("a", () => ended.push("a"));
    const b = limits.admit("b", () => ended.push("b"));
    const c = limits.admit("c", () => ended.push("c"));
    if (!c.admitted) throw new Error("refused");
    c.release(); // closed before the drain: not asked again
    expect(a.admitted && b.admitted).toBe(true);

    expect(limits.drain()).toBe(2);
    expect(ended).toEqual(["a", "b"]);
    const refused = limits.admit("d", () => ended.push("d"));
    expect(refused).toMatchObject({ admitted: false, status: 503, code: "process_draining", retryAfter: DRAINING_RETRY_SECONDS });
    expect(limits.peek("a")).toMatchObject({ status: 503, code: "process_draining" });
    expect(limits.drain()).toBe(0);
    expect(ended).toEqual(["a", "b"]);
  });
});
