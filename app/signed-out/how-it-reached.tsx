"use client";

import { useSyncExternalStore } from "react";
import { DELIVERY_KEY, type Delivery } from "../account/delivery";
import { describeShown, measureShown, type Shown } from "./shown";

const viaText: Record<Delivery["via"], string> = {
  broadcast: "another tab of this browser, at once (BroadcastChannel)",
  push: "the server's push to this tab (server-sent events)",
  check: "this tab's own re-check (it regained focus, became visible, came back online or lost its stream)",
  session_iframe: "this tab's session iframe and its silent re-check",
  self: "this tab: you signed out here",
};

function measured(recordedAt: number): string | null {
  const key = `lockstep:shown:${recordedAt}`;
  try {
    const kept = sessionStorage.getItem(key);
    if (kept) return kept;
    const raw = sessionStorage.getItem(DELIVERY_KEY);
    sessionStorage.removeItem(DELIVERY_KEY);
    const delivery = raw ? (JSON.parse(raw) as Delivery) : undefined;
    // Kept, so that a reload shows the same measurement (and this read stays stable).
    sessionStorage.setItem(key, JSON.stringify(measureShown(recordedAt, delivery, Date.now())));
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

const subscribe = () => () => {};

/**
 * The tab's half of "how it reached this tab": how this tab heard (kept by the session watcher in
 * this tab's sessionStorage when it showed the signed-out state in place, just before it moved here)
 * and how long it took, each figure labelled with what it measures (./shown.ts). Measured once, when
 * the page first shows, and kept for reloads.
 */
export function HowItReached({ recordedAt, appName }: { recordedAt: number; appName: string }) {
  const raw = useSyncExternalStore(
    subscribe,
    () => measured(recordedAt),
    () => null,
  );
  const shown = raw ? (JSON.parse(raw) as Shown) : null;
  if (!shown) return null;
  const row = describeShown(shown, appName);
  const via = shown.kind === "self" ? "self" : shown.kind === "told" ? shown.via : undefined;
  return (
    <>
      <dt className="font-medium text-slate-600">Reached this tab through</dt>
      <dd className="mb-2 text-slate-900 sm:mb-0" data-testid="via" data-via={via ?? "page"}>
        {via ? viaText[via] : "this page's own request (no open tab of the session was watching)"}
      </dd>
      <dt className="font-medium text-slate-600">{row.label}</dt>
      <dd className="text-slate-900" data-testid={shown.kind === "self" ? "ended-after-click" : "shown-after"} data-negative={row.negative}>
        {row.text}
      </dd>
    </>
  );
}
