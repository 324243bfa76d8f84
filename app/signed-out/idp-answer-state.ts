/**
 * What the signed-out page may ask the IdP after an RP-initiated logout that came back with our state:
 * whether the IdP's own session in this browser ended, through its check_session_iframe (Session
 * Management 1.0 §3.2). A matching state alone does not say (an IdP may sign out of this app only and
 * come back with the same state).
 *
 * The question needs a session_state the IdP once answered "unchanged" to in this tab: that answer
 * proves that this browser lets the IdP's iframe read its browser state, so a later "changed" means
 * that the state changed (the IdP ends or renews it with its session), not that its cookie is out of
 * reach (SM §5.1: third-party cookies blocked answer "changed" every time). The account page's session
 * iframe keeps it per tab (sessionStorage), for the session it belongs to.
 */
export const IDP_SESSION_KEY = "lockstep:idp-session";

type Remembered = { session: string; sessionState: string };

function tabStorage(): Storage | undefined {
  try {
    return typeof sessionStorage === "undefined" ? undefined : sessionStorage;
  } catch {
    return undefined;
  }
}

/** Notes that the IdP answered "unchanged" to `sessionState` for this app session, in this tab. */
export function rememberIdpSession(sessionId: string, sessionState: string, storage = tabStorage()): void {
  try {
    storage?.setItem(IDP_SESSION_KEY, JSON.stringify({ session: sessionId, sessionState } satisfies Remembered));
  } catch {
    // Storage unavailable: the signed-out page cannot ask, and says what it knows without it.
  }
}

/** The session_state the IdP last answered "unchanged" to for this app session in this tab, if any. */
export function recallIdpSession(sessionId: string, storage = tabStorage()): string | undefined {
  try {
    const raw = storage?.getItem(IDP_SESSION_KEY);
    const kept = raw ? (JSON.parse(raw) as Partial<Remembered>) : undefined;
    return kept?.session === sessionId && typeof kept.sessionState === "string" ? kept.sessionState : undefined;
  } catch {
    return undefined;
  }
}

/** What the IdP's session check said: its session in this browser goes on, it ended, or no answer. */
export type IdpAnswer = "active" | "ended" | "unknown";

/** SM 1.0 §3.2: the check_session_iframe answers "unchanged", "changed" or "error"; anything else is no answer. */
export function readIdpAnswer(data: unknown): IdpAnswer | undefined {
  if (data === "unchanged") return "active";
  if (data === "changed") return "ended";
  if (data === "error") return "unknown";
  return undefined;
}

/** The signed-out page's words for a known answer. */
export function idpAnswerText(answer: Exclude<IdpAnswer, "unknown">, app: string): string {
  return answer === "ended"
    ? `You are signed out at your identity provider too: its session check in this browser says that its session has ended.`
    : `Your identity provider says you are still signed in there: it kept its session (for example, you chose to sign out of ${app} only), so other apps that use it may still have you signed in.`;
}
