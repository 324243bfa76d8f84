"use client";

import { useEffect, useRef } from "react";
import { rememberIdpSession } from "../signed-out/idp-answer-state";
import { useEndSession } from "./live-session";

type CheckResult = { type: "lockstep:session-check"; result: "same" | "ended" | "error"; sessionState?: string; code?: string };

const MAX_INTERVAL_MS = 60_000;

/**
 * Session Management 1.0, RP side. Posts `client_id + " " + session_state` to the IdP's
 * check_session_iframe at an interval (SM §3.1) and accepts answers only from the IdP's exact origin
 * (SM §3.1, §6). "changed": stop, and re-check silently with prompt=none (SM §3.1); "error": stop for good,
 * never re-authenticate. When the IdP keeps saying "changed" but the re-check finds the same user
 * (third-party cookies blocked, SM §5.1), back off, doubling the interval up to a minute.
 */
export function SessionIframe(props: {
  checkSessionIframe: string;
  clientId: string;
  sessionState: string;
  intervalMs: number;
  sessionId: string;
}) {
  const opFrame = useRef<HTMLIFrameElement>(null);
  const end = useEndSession();

  useEffect(() => {
    const opOrigin = new URL(props.checkSessionIframe).origin;
    let sessionState = props.sessionState;
    let interval = props.intervalMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let checking: HTMLIFrameElement | undefined;
    let stopped = false;
    // Whether the OP said "unchanged" since the last re-check: if not, its "changed" is not to be trusted.
    let sawUnchanged = false;

    const schedule = () => {
      if (stopped) return;
      clearTimeout(timer);
      timer = setTimeout(ask, interval);
    };
    const ask = () => {
      opFrame.current?.contentWindow?.postMessage(`${props.clientId} ${sessionState}`, opOrigin);
      schedule();
    };
    const recheck = () => {
      clearTimeout(timer);
      checking?.remove();
      checking = document.createElement("iframe");
      checking.hidden = true;
      checking.title = "Silent session re-check";
      checking.src = "/api/session/check";
      document.body.appendChild(checking);
    };

    const onMessage = (event: MessageEvent) => {
      if (event.origin === opOrigin && event.source === opFrame.current?.contentWindow) {
        if (event.data === "unchanged") {
          sawUnchanged = true;
          // This browser reads the IdP's session state and it matched: the signed-out page may ask again after a sign-out.
          rememberIdpSession(props.sessionId, sessionState);
          return;
        }
        if (event.data === "changed") return recheck();
        if (event.data === "error") {
          stopped = true;
          clearTimeout(timer);
        }
        return;
      }
      if (event.origin === window.location.origin && event.source === checking?.contentWindow) {
        const data = event.data as CheckResult;
        if (data?.type !== "lockstep:session-check") return;
        checking?.remove();
        checking = undefined;
        if (data.result === "ended") {
          // The server ended the session (lib/check-session/recheck.ts): the tab shows it at once, and the signed-out page reads why.
          stopped = true;
          end({ via: "session_iframe", receivedAt: Date.now() });
          return;
        }
        if (data.result === "same" && data.sessionState) sessionState = data.sessionState;
        // The same user after "changed", with no "unchanged" in between (third-party cookies
        // blocked?), or a failed check: ask less often. Otherwise back to the normal pace.
        interval = data.result === "same" && sawUnchanged ? props.intervalMs : Math.min(interval * 2, MAX_INTERVAL_MS);
        sawUnchanged = false;
        schedule();
      }
    };

    window.addEventListener("message", onMessage);
    // The OP iframe is in the server-rendered HTML and may have loaded before this runs; a message
    // posted before it is ready is simply lost, and the next one goes through.
    schedule();
    return () => {
      stopped = true;
      clearTimeout(timer);
      checking?.remove();
      window.removeEventListener("message", onMessage);
    };
  }, [props.checkSessionIframe, props.clientId, props.sessionState, props.intervalMs, props.sessionId, end]);

  return <iframe ref={opFrame} id="op" src={props.checkSessionIframe} title="Identity provider session check" hidden />;
}
