"use client";

import { useEffect, useState } from "react";
import { useEndSession } from "./live-session";
import { TabWatcher, type LiveStatus } from "./tab-watcher";

export type { LiveStatus } from "./tab-watcher";

const statusText: Record<LiveStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline: the server cannot be reached",
};

const titles: Record<LiveStatus, string> = { connecting: "Signed in", live: "Signed in", reconnecting: "Reconnecting", offline: "Offline" };

const dotClass: Record<LiveStatus, string> = {
  connecting: "bg-slate-400",
  live: "bg-green-600",
  reconnecting: "bg-amber-500",
  offline: "bg-red-600",
};

/**
 * Keeps this tab in step with its session, and says how live it is. Same-browser tabs hear of an
 * ending at once through a BroadcastChannel (and then ask the server, so that nothing is shown
 * before it is true); other browsers and devices through the server's event stream; and every tab
 * re-checks when it regains focus, becomes visible, comes back online, or its server comes back.
 * Whatever ended the session, the tab shows the signed-out state in place at once (LiveSession), then
 * moves to the signed-out page, which reads the server's record of the ending; the tab only notes, for
 * itself, how the news reached it.
 */
export function SessionWatcher({ appId, appName, sessionId }: { appId: string; appName: string; sessionId: string }) {
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const end = useEndSession();

  useEffect(() => {
    document.title = `${titles[status]} · ${appName}`;
  }, [status, appName]);

  useEffect(() => {
    const watcher = new TabWatcher({ appId, sessionId, onStatus: setStatus, onEnded: end });
    watcher.start();
    return () => watcher.stop();
  }, [appId, sessionId, end]);

  return (
    <span
      role="status"
      aria-live="polite"
      data-testid="live-status"
      data-status={status}
      className="inline-flex items-center gap-1.5 rounded-full border border-slate-200 bg-white px-2.5 py-1 text-xs font-medium text-slate-700"
    >
      <span aria-hidden="true" className={`inline-block h-2 w-2 rounded-full ${dotClass[status]}`} />
      {statusText[status]}
    </span>
  );
}
