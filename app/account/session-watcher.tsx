"use client";

import { useEffect } from "react";

type Ended = { type: "ended"; sessionId: string; reason: string };
/** From the front-channel logout page: some session of this browser ended; each tab checks its own. */
type Check = { type: "check" };

/**
 * Keeps this tab in step with its session. Same-browser tabs hear of an ending at once through a
 * BroadcastChannel; other browsers and devices through the server's event stream; and every tab
 * re-checks when it regains focus, becomes visible or comes back online. Whatever ended the
 * session, the tab moves to the signed-out page with the reason.
 */
export function SessionWatcher({ appId, sessionId }: { appId: string; sessionId: string }) {
  useEffect(() => {
    let done = false;
    const channel = typeof BroadcastChannel === "undefined" ? undefined : new BroadcastChannel(`lockstep:${appId}`);

    const signOut = (reason: string, tell: boolean) => {
      if (done) return;
      done = true;
      if (tell) channel?.postMessage({ type: "ended", sessionId, reason } satisfies Ended);
      window.location.replace(`/signed-out?reason=${encodeURIComponent(reason)}`);
    };

    const check = async () => {
      if (done) return;
      try {
        const response = await fetch("/api/session", { cache: "no-store", headers: { "X-CSRF": "1" } });
        if (response.status === 401) {
          const body = (await response.json().catch(() => ({}))) as { reason?: string };
          signOut(body.reason && body.reason !== "no_session" ? body.reason : "expired", true);
        }
      } catch {
        // Offline: the "online" event will bring us back here.
      }
    };

    channel?.addEventListener("message", (event: MessageEvent<Ended | Check>) => {
      if (event.data?.type === "check") void check();
      else if (event.data?.type === "ended" && event.data.sessionId === sessionId) signOut(event.data.reason, false);
    });

    const events = new EventSource("/api/session/events");
    events.addEventListener("ended", (event) => {
      const { reason } = JSON.parse((event as MessageEvent<string>).data) as { reason: string };
      signOut(reason, true);
    });
    // A stream that closes for good (e.g. 401 on reconnect) leaves the answer to a plain check.
    events.addEventListener("error", () => {
      if (events.readyState === EventSource.CLOSED) void check();
    });

    const onVisible = () => {
      if (document.visibilityState === "visible") void check();
    };
    window.addEventListener("focus", check);
    window.addEventListener("online", check);
    document.addEventListener("visibilitychange", onVisible);

    // Signing out in this tab tells the others at once; this tab then follows its own form
    // (on to the IdP), so the news of its own ending must not pull it elsewhere.
    const onSubmit = (event: SubmitEvent) => {
      const form = event.target as HTMLFormElement | null;
      if (form?.dataset.signout !== "this") return;
      channel?.postMessage({ type: "ended", sessionId, reason: "logout" } satisfies Ended);
      done = true;
      events.close();
    };
    document.addEventListener("submit", onSubmit);

    return () => {
      done = true;
      events.close();
      channel?.close();
      window.removeEventListener("focus", check);
      window.removeEventListener("online", check);
      document.removeEventListener("visibilitychange", onVisible);
      document.removeEventListener("submit", onSubmit);
    };
  }, [appId, sessionId]);

  return null;
}
