import { describe, expect, it, vi } from "vitest";
import { EndedSessionsHub } from "@/lib/live/hub";
import type { EndedEvent } from "@/lib/store/ports";

const event = (n: number, at: number): EndedEvent => ({ id: `e${n}`, at, lsid: `s${n % 7}`, reason: "revoked" });

describe("the tab hub", () => {
  it("hands each ending to the session's listeners once, whether it came from here or from the feed", async () => {
    const feed = { endedSince: vi.fn(async () => [event(1, Date.now())]) };
    const hub = new EndedSessionsHub(feed, 10);
    const listener = vi.fn();
    const unsubscribe = hub.subscribe("s1", listener);
    hub.deliver([event(1, Date.now())]);
    await vi.waitFor(() => expect(feed.endedSince).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 30));
    unsubscribe();
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it("does not read the feed while no tab listens", async () => {
    const feed = { endedSince: vi.fn(async () => []) };
    new EndedSessionsHub(feed, 5);
    await new Promise((r) => setTimeout(r, 30));
    expect(feed.endedSince).not.toHaveBeenCalled();
  });

  it("remembers a bounded number of endings however many sessions end while no tab listens", () => {
    const now = Date.now();
    const hub = new EndedSessionsHub({ endedSince: async () => [] }, 1_000, () => now);
    for (let n = 0; n < 12_000; n += 1) hub.deliver([event(n, now)]);
    expect(hub.remembered).toBeLessThanOrEqual(10_000);
    // Old endings are forgotten as time passes.
    const later = new EndedSessionsHub({ endedSince: async () => [] }, 1_000, () => now + 60_000);
    later.deliver([event(1, now)]);
    expect(later.remembered).toBe(0);
  });
});

describe("a tab's expiry timer", () => {
  it("waits out a session longer than setTimeout's 24.8-day limit instead of firing at once", async () => {
    const { atTime } = await import("@/lib/live/timer");
    vi.useFakeTimers();
    try {
      const fired = vi.fn();
      const thirtyDays = 30 * 86_400_000;
      atTime(Date.now() + thirtyDays, fired);
      vi.advanceTimersByTime(1_000);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(thirtyDays - 2_000);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1_000);
      expect(fired).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("can be cancelled before it fires", async () => {
    const { atTime } = await import("@/lib/live/timer");
    vi.useFakeTimers();
    try {
      const fired = vi.fn();
      const cancel = atTime(Date.now() + 40 * 86_400_000, fired);
      vi.advanceTimersByTime(30 * 86_400_000);
      cancel();
      vi.advanceTimersByTime(20 * 86_400_000);
      expect(fired).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });
});
