"use client";

import { useSyncExternalStore } from "react";
import { DELIVERY_KEY, type Delivery } from "../account/delivery";

const viaText: Record<Delivery["via"], string> = {
  broadcast: "another tab of this browser, at once (BroadcastChannel)",
  push: "the server's push to this tab (server-sent events)",
  check: "this tab's own re-check (it regained focus, became visible, came back online or lost its stream)",
  session_iframe: "this tab's session iframe and its silent re-check",
  self: "this tab: you signed out here",
};

type Shown = { via?: Delivery["via"]; afterRecordedMs: number; afterSentMs?: number };

function measured(recordedAt: number): string | null {
  const key = `lockstep:shown:${recordedAt}`;
  try {
    const kept = sessionStorage.getItem(key);
    if (kept) return kept;
    const now = Date.now();
    const raw = sessionStorage.getItem(DELIVERY_KEY);
    sessionStorage.removeItem(DELIVERY_KEY);
    const delivery = raw ? (JSON.parse(raw) as Delivery) : undefined;
    // A delivery noted long before this ending was recorded belongs to another one.
    const fits = delivery && delivery.receivedAt >= recordedAt - 5_000 && now - delivery.receivedAt < 60_000;
    // A watching tab showed the signed-out state in place the moment the news came (receivedAt), before
    // this page loaded; the tab that signed out itself shows it only here.
    const shownAt = fits && delivery.via !== "self" ? delivery.receivedAt : now;
    const value: Shown = {
      via: fits ? delivery.via : undefined,
      afterRecordedMs: Math.max(0, shownAt - recordedAt),
      afterSentMs: fits && delivery.sentAt ? Math.max(0, shownAt - delivery.sentAt) : undefined,
    };
    // Kept, so that a reload shows the same measurement (and this read stays stable).
    sessionStorage.setItem(key, JSON.stringify(value));
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

const subscribe = () => () => {};

/**
 * The tab's half of "how it reached this tab": how this tab heard (kept by the session watcher in
 * this tab's sessionStorage when it showed the signed-out state in place, just before it moved here)
 * and how many milliseconds after the ending was recorded the tab showed it. Measured once, when the
 * page first shows, and kept for reloads.
 * Times compare this device's clock with the server's (the same clock in the demo).
 */
export function HowItReached({ recordedAt }: { recordedAt: number }) {
  const raw = useSyncExternalStore(
    subscribe,
    () => measured(recordedAt),
    () => null,
  );
  const shown = raw ? (JSON.parse(raw) as Shown) : null;
  if (!shown) return null;
  return (
    <>
      <dt className="font-medium text-slate-600">Reached this tab through</dt>
      <dd className="mb-2 text-slate-900 sm:mb-0" data-testid="via" data-via={shown.via ?? "page"}>
        {shown.via ? viaText[shown.via] : "this page's own request (no open tab of the session was watching)"}
      </dd>
      <dt className="font-medium text-slate-600">Shown here</dt>
      <dd className="text-slate-900" data-testid="shown-after">
        <span className="font-mono">{shown.afterRecordedMs.toLocaleString("en")}</span> ms after it was recorded
        {shown.afterSentMs !== undefined && (
          <>
            {" "}
            (<span className="font-mono">{shown.afterSentMs.toLocaleString("en")}</span> ms after the other tab sent it)
          </>
        )}
      </dd>
    </>
  );
}
