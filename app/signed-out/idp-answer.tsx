"use client";

import { useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import { IdpSignOutForm } from "./idp-sign-out";
import { idpAnswerText, readIdpAnswer, recallIdpSession, type IdpAnswer } from "./idp-answer-state";

/** How often the question is posted until the IdP's frame answers (a message sent before its script runs is lost). */
const ASK_EVERY_MS = 250;
/** After this long without an answer, the page says what it knows without one. */
const GIVE_UP_AFTER_MS = 5_000;

const subscribe = () => () => {};

/**
 * The signed-out page's body and actions after an RP-initiated logout that came back with our state:
 * it asks the IdP's check_session_iframe once (./idp-answer-state.ts) whether the IdP's own session in
 * this browser ended, and says so plainly: signed out there too (no further action offered), or still
 * signed in there (with the button to sign out there too). Without an answer (no session_state the IdP
 * confirmed in this tab, an "error", no answer in time, or no script) it says `fallback`: what the
 * matching state alone proves, and offers the button.
 */
export function IdpAnswerBody(props: {
  checkSessionIframe: string;
  clientId: string;
  sessionId: string;
  appName: string;
  fallback: string;
  children: ReactNode;
}) {
  const { checkSessionIframe, clientId, sessionId } = props;
  const sessionState = useSyncExternalStore(
    subscribe,
    () => recallIdpSession(sessionId) ?? null,
    () => null,
  );
  const [answer, setAnswer] = useState<IdpAnswer | undefined>(undefined);
  const frame = useRef<HTMLIFrameElement>(null);
  const asking = sessionState !== null && answer === undefined;

  useEffect(() => {
    if (sessionState === null) return;
    const origin = new URL(checkSessionIframe).origin;
    let settled = false;
    const settle = (value: IdpAnswer) => {
      if (settled) return;
      settled = true;
      clearInterval(asker);
      clearTimeout(giveUp);
      setAnswer(value);
    };
    // SM 1.0 §3.1, §6: only the IdP's exact origin, from the frame this page loaded, answers.
    const onMessage = (event: MessageEvent) => {
      if (event.origin !== origin || event.source !== frame.current?.contentWindow) return;
      const value = readIdpAnswer(event.data);
      if (value) settle(value);
    };
    window.addEventListener("message", onMessage);
    const asker = setInterval(() => frame.current?.contentWindow?.postMessage(`${clientId} ${sessionState}`, origin), ASK_EVERY_MS);
    const giveUp = setTimeout(() => settle("unknown"), GIVE_UP_AFTER_MS);
    return () => {
      settled = true;
      clearInterval(asker);
      clearTimeout(giveUp);
      window.removeEventListener("message", onMessage);
    };
  }, [checkSessionIframe, clientId, sessionState]);

  const known = answer === "active" || answer === "ended" ? answer : undefined;
  return (
    <>
      <p className="mb-4 text-slate-700" data-testid="signed-out-body" data-idp-answer={answer ?? (asking ? "asking" : "unknown")}>
        {known ? idpAnswerText(known, props.appName) : props.fallback}
      </p>
      <div className="flex flex-wrap gap-3">
        {props.children}
        {answer !== "ended" && <IdpSignOutForm />}
      </div>
      {asking && <iframe ref={frame} src={checkSessionIframe} title="Identity provider session check" hidden />}
    </>
  );
}
