import { describe, expect, it } from "vitest";
import { describeShown, measureShown } from "@/app/signed-out/shown";
import { endSessions } from "@/lib/revocation/end-sessions";
import { memoryStores } from "@/lib/store/memory";
import { record } from "../store/contract";

/**
 * "How the sign-out reached this tab": each figure measures what its label says, a negative
 * difference is shown as one (never clamped to 0), and the tab that signed itself out does not count
 * the user's time at the identity provider.
 */
const RECORDED = 1_800_000_000_000;
const APP = "Lockstep Bank";

describe("measureShown", () => {
  it("a told tab: from the recorded time to the moment the tab knew (not to when this page loaded)", () => {
    const shown = measureShown(RECORDED, { via: "push", receivedAt: RECORDED + 35 }, RECORDED + 900);
    expect(shown).toEqual({ kind: "told", via: "push", afterRecordedMs: 35, afterSentMs: undefined });
    expect(describeShown(shown, APP)).toEqual({ label: "Shown here", text: "35 ms after it was recorded", negative: false });
  });

  it("a tab told by another tab also says how long the message took between the tabs", () => {
    const shown = measureShown(RECORDED, { via: "broadcast", receivedAt: RECORDED + 40, sentAt: RECORDED + 12 }, RECORDED + 500);
    expect(describeShown(shown, APP).text).toBe("40 ms after it was recorded (28 ms after the other tab sent it)");
  });

  it("shows a tab that knew before the recorded time as before it, and says why: the clocks differ", () => {
    const shown = measureShown(RECORDED, { via: "push", receivedAt: RECORDED - 22 }, RECORDED + 400);
    expect(shown).toMatchObject({ kind: "told", afterRecordedMs: -22 });
    const row = describeShown(shown, APP);
    expect(row.negative).toBe(true);
    expect(row.text).toBe(
      "22 ms before the time it was recorded: this device's clock is behind Lockstep Bank's by at least that much (a tab cannot hear of an ending before it is recorded)",
    );
    expect(row.text).not.toMatch(/^0 ms/);
  });

  it("the tab that signed out: from the click to the server's answer, whatever time the user then spent at the IdP", () => {
    const click = RECORDED - 30;
    // 2.5 s later the user comes back from the IdP's confirmation page.
    const shown = measureShown(RECORDED, { via: "self", receivedAt: click, answeredAt: click + 48 }, click + 2_522);
    expect(shown).toEqual({ kind: "self", answeredMs: 48 });
    const row = describeShown(shown, APP);
    expect(row.label).toBe("Signed out here");
    expect(row.text).toMatch(/^Lockstep Bank ended the session 48 ms after you pressed Sign out \(from your click to its answer/);
    expect(row.text).not.toContain("2,522");
  });

  it("the tab that signed out without the page's script: the recorded time against the click, across the two clocks", () => {
    const shown = measureShown(RECORDED, { via: "self", receivedAt: RECORDED - 61 }, RECORDED + 40_000);
    expect(shown).toEqual({ kind: "self", recordedAfterClickMs: 61 });
    expect(describeShown(shown, APP).text).toMatch(
      /^Lockstep Bank recorded the ending 61 ms after you pressed Sign out \(its clock against this device's/,
    );
    const skewed = describeShown(measureShown(RECORDED, { via: "self", receivedAt: RECORDED + 15 }, RECORDED + 1_000), APP);
    expect(skewed).toMatchObject({ negative: true });
    expect(skewed.text).toMatch(/15 ms before the time this device gave your click: its clock is behind this device's/);
  });

  it("no watching tab, or a delivery that belongs to another ending: this page's own request, at the time it loaded", () => {
    expect(measureShown(RECORDED, undefined, RECORDED + 250)).toEqual({ kind: "page", afterRecordedMs: 250 });
    expect(measureShown(RECORDED, { via: "push", receivedAt: RECORDED - 600_000 }, RECORDED + 250)).toEqual({
      kind: "page",
      afterRecordedMs: 250,
    });
    expect(measureShown(RECORDED, { via: "self", receivedAt: RECORDED - 600_000, answeredAt: RECORDED - 599_990 }, RECORDED + 250)).toEqual(
      {
        kind: "page",
        afterRecordedMs: 250,
      },
    );
    expect(describeShown({ kind: "page", afterRecordedMs: 1_234 }, APP).text).toBe("1,234 ms after it was recorded");
  });
});

describe("the recorded time is the revocation's", () => {
  it("an ending is logged at the time the revocation was written, not when its clean-up ran", async () => {
    let clock = 10_000;
    const stores = memoryStores({ ttlSeconds: 3600, now: () => clock });
    const r = record({ createdAt: 9_000 });
    const id = await stores.sessions.create(r);
    const cleanups: (() => Promise<unknown>)[] = [];
    const outcome = await endSessions(
      { sessions: stores.sessions, revocations: stores.revocations, now: () => clock },
      [{ kind: "session", id, record: r }],
      "logout",
      { detail: { mechanism: "this_browser" }, defer: (_name, task) => void cleanups.push(task) },
    );
    expect(outcome.cleanupDeferred).toBe(true);
    // The tabs hear of it from the feed (at the revocation's time) while the clean-up waits.
    expect((await stores.revocations.endedSince(0)).map((e) => e.at)).toEqual([10_000]);
    clock = 10_120;
    await Promise.all(cleanups.map((run) => run()));
    const [ended] = await stores.sessions.activity(r);
    expect(ended).toMatchObject({ kind: "ended", session: id, reason: "logout", mechanism: "this_browser", at: 10_000 });
  });
});
