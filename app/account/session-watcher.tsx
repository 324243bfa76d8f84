"use client";

import { useEffect, useState } from "react";
import { noteDelivery, type Delivery } from "./delivery";
import { useEndSession } from "./live-session";

type Ended = { type: "ended"; sessionId: string; reason: string; sentAt: number };
/** From the front-channel logout page: some session of this browser ended; each tab checks its own. */
type Check = { type: "check" };

export type LiveStatus = "connecting" | "live" | "reconnecting" | "offline";

/** How often a tab that lost its server asks whether it is back. */
const PROBE_EVERY_MS = 2_000;
/** How long a probe waits for an answer. */
const PROBE_TIMEOUT_MS = 2_500;
/** How long a refused stream waits when its answer named no Retry-After. */
const RETRY_AFTER_DEFAULT_MS = 10_000;
/** The server pings every 5 s; this long without a word and the tab looks again. */
const SILENCE_MS = 12_000;
/** After another tab's sign-out, how long this tab waits for the server to confirm it (the sign-out request may still be on its way). */
const CONFIRM_FOR_MS = 5_000;
/**
 * While it waits, it asks again this soon after an "active", each wait half as long again as the last, up
 * to CONFIRM_MAX_GAP_MS: the sign-out request usually lands within tens of milliseconds, so the first
 * answers come quickly, and news the server never confirms costs a dozen or so requests.
 */
const CONFIRM_FIRST_GAP_MS = 20;
const CONFIRM_MAX_GAP_MS = 500;

/** How long the script's sign-out request may take before the browser posts the form instead. */
const SIGN_OUT_TIMEOUT_MS = 10_000;

/**
 * Sends a sign-out form as the browser would, asking for JSON (POST /api/logout answers
 * `{"next": url}` with the same cookies as its redirect). Resolves where to go next once the server has
 * ended the session; rejects if it did not answer so, and the caller posts the form instead (signing
 * out twice is harmless). An answer that is not JSON (an ID-token-hint page, which the page never asks
 * for) leaves the IdP step to the signed-out page.
 */
async function signOutByScript(form: HTMLFormElement): Promise<string> {
  const response = await fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { Accept: "application/json" },
    redirect: "error", // a redirect here means the JSON answer was not given: post the form instead
    signal: AbortSignal.timeout(SIGN_OUT_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`sign-out answered ${response.status}`);
  if (!response.headers.get("content-type")?.includes("application/json")) return "/signed-out";
  const body: unknown = await response.json();
  const next = typeof body === "object" && body !== null && "next" in body ? body.next : undefined;
  if (typeof next !== "string") throw new Error("sign-out answered without a next step");
  return next;
}

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
    let done = false;
    let events: EventSource | undefined;
    let lastWord = Date.now();
    let probing: ReturnType<typeof setTimeout> | undefined;
    /** A refused stream's next try, after its Retry-After. */
    let retrying: ReturnType<typeof setTimeout> | undefined;
    let current: LiveStatus = "connecting";
    /** When another tab of this browser told this one of the ending (its clock), if it did: it was first, whatever confirms it. */
    let toldByTabAt: number | undefined;
    const set = (next: LiveStatus) => {
      if (done || next === current) return;
      current = next;
      setStatus(next);
    };
    const channel = typeof BroadcastChannel === "undefined" ? undefined : new BroadcastChannel(`lockstep:${appId}`);

    /** The ending is confirmed: tell this browser's other tabs (unless they told this one), then show it here. */
    const signOut = (via: Delivery["via"], tell: boolean) => {
      if (done) return;
      done = true;
      if (tell) channel?.postMessage({ type: "ended", sessionId, reason: "ended", sentAt: Date.now() } satisfies Ended);
      events?.close();
      end(toldByTabAt !== undefined ? { via: "broadcast", receivedAt: Date.now(), sentAt: toldByTabAt } : { via, receivedAt: Date.now() });
    };

    /** Asks the server about this session: "ended", "active", or "unreachable". */
    const ask = async (): Promise<"ended" | "active" | "unreachable"> => {
      try {
        const response = await fetch("/api/session", {
          cache: "no-store",
          headers: { "X-CSRF": "1" },
          signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
        });
        if (response.status === 401) return "ended";
        return response.ok ? "active" : "unreachable";
      } catch {
        return "unreachable";
      }
    };

    const check = async (via: Delivery["via"] = "check") => {
      if (done) return;
      const answer = await ask();
      if (answer === "ended") signOut(via, true);
      else if (answer === "unreachable") lost();
      else if (current === "offline") set(events?.readyState === EventSource.OPEN ? "live" : "reconnecting");
    };

    /** The server went quiet: say so, and keep asking until it answers. */
    const lost = () => {
      if (done) return;
      if (current === "live" || current === "connecting") set("reconnecting");
      if (probing) return;
      const probe = async () => {
        probing = undefined;
        if (done) return;
        let up = false;
        try {
          up = (await fetch("/api/health", { cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })).ok;
        } catch {
          up = false;
        }
        if (done) return;
        if (!up) {
          set("offline");
          probing = setTimeout(probe, PROBE_EVERY_MS);
          return;
        }
        // Back: whatever happened meanwhile, ask about the session, and reopen the stream if it gave up.
        await check();
        if (done) return;
        if (!events || events.readyState === EventSource.CLOSED) connect();
        else if (events.readyState === EventSource.OPEN) set("live");
        else probing = setTimeout(probe, PROBE_EVERY_MS);
      };
      void probe();
    };

    const connect = () => {
      clearTimeout(retrying);
      events?.close();
      const stream = new EventSource("/api/session/events");
      events = stream;
      let opened = false;
      const heard = () => {
        lastWord = Date.now();
      };
      stream.addEventListener("ready", () => {
        opened = true;
        heard();
        set("live");
        // Anything may have happened while the stream was down.
        void check();
      });
      stream.addEventListener("ping", () => {
        heard();
        if (current !== "live") set("live");
      });
      stream.addEventListener("ended", () => signOut("push", true));
      // The stream reached its longest life: open the next one at once, quietly (the server closes this one).
      stream.addEventListener("renew", () => {
        if (events === stream) connect();
      });
      stream.addEventListener("error", () => {
        if (events !== stream) return;
        // Refused before it opened: EventSource cannot read why, so ask without opening one.
        if (stream.readyState === EventSource.CLOSED && !opened) {
          void admission();
          return;
        }
        // CONNECTING: the browser is retrying by itself. CLOSED: it gave up (e.g. a 401 or a 503); a check says which.
        lost();
        if (stream.readyState === EventSource.CLOSED) void check();
      });
    };

    /**
     * After a refused stream: HEAD /api/session/events says why. 401: the session is over. 429 or 503
     * (a cap, or the store down): wait its Retry-After (plus a little, so that refused tabs do not
     * return together), then open the stream again. 204: open it now. No answer: the server is gone.
     */
    const admission = async () => {
      let response: Response;
      try {
        response = await fetch("/api/session/events", { method: "HEAD", cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      } catch {
        lost();
        return;
      }
      if (done) return;
      if (response.status === 401) return signOut("check", true);
      if (response.status === 204) return connect();
      const seconds = Number(response.headers.get("retry-after"));
      const waitMs = (Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : RETRY_AFTER_DEFAULT_MS) * (1 + Math.random() * 0.2);
      set("reconnecting");
      clearTimeout(retrying);
      retrying = setTimeout(() => {
        if (!done) connect();
      }, waitMs);
    };

    channel?.addEventListener("message", (event: MessageEvent<Ended | Check>) => {
      if (event.data?.type === "check") void check();
      else if (event.data?.type === "ended" && event.data.sessionId === sessionId) {
        // Another tab of this browser signed out or saw the end: confirm with the server before
        // saying so (its request may still be on its way), then follow at once.
        toldByTabAt ??= typeof event.data.sentAt === "number" ? event.data.sentAt : Date.now();
        const until = Date.now() + CONFIRM_FOR_MS;
        let gap = CONFIRM_FIRST_GAP_MS;
        const confirm = async () => {
          if (done) return;
          const answer = await ask();
          if (answer === "ended") signOut("broadcast", false);
          else if (done) return;
          else if (Date.now() + gap < until) {
            setTimeout(confirm, gap);
            gap = Math.min(gap * 1.5, CONFIRM_MAX_GAP_MS);
          } else toldByTabAt = undefined; // the server never agreed: that news was not true
        };
        void confirm();
      }
    });

    const watchdog = setInterval(() => {
      if (current === "live" && Date.now() - lastWord > SILENCE_MS) lost();
    }, 2_000);
    const onFocus = () => void check();
    const onVisible = () => {
      if (document.visibilityState === "visible") void check();
    };
    const onOffline = () => lost();
    window.addEventListener("focus", onFocus);
    window.addEventListener("online", onFocus);
    window.addEventListener("offline", onOffline);
    document.addEventListener("visibilitychange", onVisible);

    // Signing out in this tab: the page's script sends the form itself, tells the others as soon as
    // the server has answered (so that their first question to it already hears "ended"), and only then
    // goes on to the IdP. Without a script, or if that request fails, the browser posts the form and the
    // others are told at once (they keep asking until the server agrees). Either way this tab follows
    // its own form, so the news of its own ending must not pull it elsewhere.
    let signingOut = false;
    const onSubmit = (event: SubmitEvent) => {
      const form = event.target as HTMLFormElement | null;
      if (form?.dataset.signout !== "this") return;
      if (signingOut) {
        event.preventDefault();
        return;
      }
      signingOut = true;
      const clickedAt = Date.now();
      noteDelivery({ via: "self", receivedAt: clickedAt });
      done = true;
      events?.close();
      clearTimeout(probing);
      const tellOthers = () => channel?.postMessage({ type: "ended", sessionId, reason: "logout", sentAt: Date.now() } satisfies Ended);
      if (form.dataset.fetch !== "json") {
        tellOthers();
        return;
      }
      event.preventDefault();
      signOutByScript(form).then(
        (next) => {
          // The server has ended the session: how long that took is what the signed-out page reports.
          noteDelivery({ via: "self", receivedAt: clickedAt, answeredAt: Date.now() });
          tellOthers();
          window.location.assign(next);
        },
        () => {
          tellOthers();
          form.submit(); // no submit event: straight to the server
        },
      );
    };
    document.addEventListener("submit", onSubmit);

    connect();

    return () => {
      done = true;
      events?.close();
      channel?.close();
      clearInterval(watchdog);
      clearTimeout(probing);
      clearTimeout(retrying);
      window.removeEventListener("focus", onFocus);
      window.removeEventListener("online", onFocus);
      window.removeEventListener("offline", onOffline);
      document.removeEventListener("visibilitychange", onVisible);
      document.removeEventListener("submit", onSubmit);
    };
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
