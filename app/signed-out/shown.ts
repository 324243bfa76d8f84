import type { Delivery } from "../account/delivery";

/**
 * The tab's half of "how the sign-out reached this tab": how long it took, measured once, from what
 * the session watcher noted in this tab (app/account/delivery.ts) and the time the server recorded the
 * ending (its revocation: lib/revocation/end-sessions.ts logs the ending at that time).
 *
 * Each figure says what it measures. The server's time is the server's clock, the tab's times this
 * device's; on one machine a tab can only hear of an ending after it was recorded, so a negative
 * difference means that the two clocks differ, and is shown as that, never as 0.
 */
export type Shown =
  /** Another tab, the server's push or a re-check told this tab: `receivedAt` minus the recorded time. */
  | { kind: "told"; via: Exclude<Delivery["via"], "self">; afterRecordedMs: number; afterSentMs?: number }
  /**
   * This tab signed out. `answeredMs`: from the click to the server's answer that the session ended,
   * both on this tab's clock; `recordedAfterClickMs` (when the form was posted without the page's
   * script, so there is no answer time): the recorded time minus the click, across the two clocks.
   * Neither counts the time spent at the identity provider afterwards.
   */
  | { kind: "self"; answeredMs?: number; recordedAfterClickMs?: number }
  /** No tab of the session was watching: this page's own request found the ending. */
  | { kind: "page"; afterRecordedMs: number };

/** How far apart a delivery may be from the recorded time to belong to it (clocks and a slow answer). */
const BELONGS_WITHIN_MS = 60_000;

/**
 * What to show for an ending recorded at `recordedAt` (server clock), seen by this page at `now` (this
 * device's clock), given the delivery the tab noted (if any). A delivery noted long before or after
 * the ending belongs to another one and is ignored.
 */
export function measureShown(recordedAt: number, delivery: Delivery | undefined, now: number): Shown {
  if (delivery?.via === "self") {
    const clickAt = delivery.receivedAt;
    if (Math.abs(recordedAt - clickAt) < BELONGS_WITHIN_MS) {
      if (delivery.answeredAt !== undefined && delivery.answeredAt >= clickAt)
        return { kind: "self", answeredMs: delivery.answeredAt - clickAt };
      return { kind: "self", recordedAfterClickMs: recordedAt - clickAt };
    }
  } else if (delivery && Math.abs(delivery.receivedAt - recordedAt) < BELONGS_WITHIN_MS && now - delivery.receivedAt < BELONGS_WITHIN_MS) {
    // The watching tab showed the signed-out state in place the moment the news came (receivedAt), before this page loaded.
    return {
      kind: "told",
      via: delivery.via,
      afterRecordedMs: delivery.receivedAt - recordedAt,
      afterSentMs: delivery.sentAt !== undefined ? Math.max(0, delivery.receivedAt - delivery.sentAt) : undefined,
    };
  }
  return { kind: "page", afterRecordedMs: now - recordedAt };
}

const ms = (value: number) => `${Math.round(Math.abs(value)).toLocaleString("en")} ms`;

/** One row of the page's list: what is measured (`label`) and the figure with what it counts (`text`). */
export type ShownRow = { label: string; text: string; negative: boolean };

/** The figure the page shows for `shown`, labelled with what it measures. */
export function describeShown(shown: Shown, appName: string): ShownRow {
  if (shown.kind === "self") {
    if (shown.answeredMs !== undefined) {
      return {
        label: "Signed out here",
        text: `${appName} ended the session ${ms(shown.answeredMs)} after you pressed Sign out (from your click to its answer, on this device's clock; your time at your identity provider is not counted)`,
        negative: false,
      };
    }
    const after = shown.recordedAfterClickMs ?? 0;
    return after >= 0
      ? {
          label: "Signed out here",
          text: `${appName} recorded the ending ${ms(after)} after you pressed Sign out (its clock against this device's; your time at your identity provider is not counted)`,
          negative: false,
        }
      : {
          label: "Signed out here",
          text: `${appName} recorded the ending ${ms(after)} before the time this device gave your click: its clock is behind this device's by at least that much`,
          negative: true,
        };
  }
  const after = shown.afterRecordedMs;
  if (after < 0) {
    return {
      label: "Shown here",
      text: `${ms(after)} before the time it was recorded: this device's clock is behind ${appName}'s by at least that much (a tab cannot hear of an ending before it is recorded)`,
      negative: true,
    };
  }
  const sent = shown.kind === "told" && shown.afterSentMs !== undefined ? ` (${ms(shown.afterSentMs)} after the other tab sent it)` : "";
  return { label: "Shown here", text: `${ms(after)} after it was recorded${sent}`, negative: false };
}
