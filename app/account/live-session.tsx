"use client";

import Link from "next/link";
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { buttonClass, Header } from "../_components/ui";
import { noteDelivery, type Delivery } from "./delivery";

/**
 * Ends this tab's signed-in view. Called only once the ending is true (the server said so: its event
 * stream, a 401, or a confirmed broadcast); the first call wins.
 */
type End = (delivery: Delivery) => void;

/** Outside a LiveSession (nothing to switch in place), an ending still leads to the signed-out page. */
const LiveSessionContext = createContext<End>((delivery) => {
  noteDelivery(delivery);
  window.location.replace("/signed-out");
});

/** What the session watcher and the session iframe call when they know that this tab's session is over. */
export function useEndSession(): End {
  return useContext(LiveSessionContext);
}

/**
 * The signed-in page's content while its session lives, and the signed-out state in its place the
 * moment the tab knows that it ended: rendered here, at once, with nothing to load first. The
 * signed-in content leaves the DOM in the same render, so it never shows again. Only then does the
 * tab move to the signed-out page, which reads the server's record of the ending to say why and how.
 */
export function LiveSession({ appName, children }: { appName: string; children: ReactNode }) {
  const [ended, setEnded] = useState(false);
  const endedRef = useRef(false);
  const end = useCallback<End>((delivery) => {
    if (endedRef.current) return;
    endedRef.current = true;
    noteDelivery(delivery);
    setEnded(true);
  }, []);
  return <LiveSessionContext value={end}>{ended ? <SignedOutNow appName={appName} /> : children}</LiveSessionContext>;
}

/**
 * How long the in-place signed-out state stays before the signed-out page loads (so that many tabs
 * do not load it at once: docs/benchmarks.md). Meanwhile the tab shows only the signed-out view; the
 * signed-in content and its event stream are already gone.
 */
const FOLLOW_AFTER_MS = 400;

function SignedOutNow({ appName }: { appName: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `Signed out · ${appName}`;
    // Focus moves to the news (WCAG 2.2 SC 2.4.3, focus order; SC 4.1.3, status messages).
    heading.current?.focus();
    // Then the server's account of it: what ended the session, and how the news came. Not at once:
    // one ending often reaches several tabs of a browser together (an IdP-wide logout, an admin's
    // "End all sessions"), and a page load in one of them costs the CPU that the others need to
    // switch. Waiting a moment lets every tab show the signed-out state first.
    const follow = setTimeout(() => window.location.replace("/signed-out"), FOLLOW_AFTER_MS);
    return () => clearTimeout(follow);
  }, [appName]);
  return (
    <>
      <Header appName={appName} />
      <section
        aria-labelledby="signed-out-now-title"
        className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:p-6"
        data-signed-out="in-place"
        data-testid="signed-out-now"
      >
        <p className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">Signed out</p>
        <h1 id="signed-out-now-title" ref={heading} tabIndex={-1} className="mb-2 text-2xl font-bold focus:outline-none">
          You are signed out of {appName}
        </h1>
        <p role="status" className="mb-4 text-slate-700">
          Your session here has ended. Finding out why…
        </p>
        <Link className={buttonClass} href="/">
          Sign in again
        </Link>
      </section>
    </>
  );
}
