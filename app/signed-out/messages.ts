import type { SignInFailureCode } from "@/lib/oidc/sign-in-errors";
import type { Ending } from "./ending";

export type Message = {
  title: string;
  body: string;
  /** The reason code the page carries (data-reason), for tests and scripts. */
  code: string;
  /** Whether the identity provider's own session may still be active in this browser: offer to end it there. */
  idpMayBeActive?: boolean;
  /**
   * The IdP handled this browser's sign-out and came back with our state, which does not say whether it
   * ended its own session: the page may ask its check_session_iframe (./idp-answer-state.ts), and then
   * says what it answered instead of `body`.
   */
  askIdp?: boolean;
};

/**
 * Exactly what is known, and nothing more. Every text comes from the server's record of this browser's
 * own ending (or from its sealed note); none from the URL.
 */
export function messageFor(ending: Ending, app: string): Message {
  if (ending.state === "none") return { title: "You are signed out", body: `Sign in again to continue to ${app}.`, code: "none" };
  if (ending.state === "still_active") {
    return {
      title: "You are still signed in",
      body: `Your session at ${app} has not ended. Go back to your account, or sign out there.`,
      code: "active",
    };
  }
  const { note } = ending;
  if (ending.state === "unavailable") {
    if (note.logout === "returned") {
      return {
        title: "You signed out, but not everywhere yet",
        body: `This browser is signed out of ${app}, and your identity provider handled the sign-out. ${app} could not reach its session store to record it, and will as soon as the store answers again. Until then, close this browser if others use it.`,
        code: "logout_incomplete",
        idpMayBeActive: true,
      };
    }
    if (note.logout) {
      return {
        title: "Your sign-out could not be completed",
        body: `This browser is signed out of ${app}, but ${app} could not reach its session store to record it (it will as soon as the store answers again), and your identity provider did not confirm the sign-out. Sign in and sign out again in a moment to be sure.`,
        code: "logout_incomplete_unconfirmed",
        idpMayBeActive: true,
      };
    }
    return {
      title: "You are signed out",
      body: `${app} cannot say more right now: its session store did not answer. Sign in again to continue.`,
      code: "unknown",
    };
  }

  const mayStay = `Your identity provider does not tell ${app} whether it ended its own session too: if you chose to sign out of ${app} only, you are still signed in there, and in other apps that use it.`;
  switch (ending.reason) {
    case "logout":
      if (ending.mechanism !== "this_browser" && ending.mechanism !== undefined) break;
      if (note.logout === "returned") {
        return {
          title: `You signed out of ${app}`,
          body: `Your identity provider confirmed that it received the sign-out and sent you back here. ${mayStay}`,
          code: "logout",
          idpMayBeActive: true,
          askIdp: true,
        };
      }
      if (note.logout === "not_returned") {
        return {
          title: `You signed out of ${app}`,
          body: `Your session in ${app} has ended. Your identity provider did not confirm the sign-out (it came back without the expected state), so you may still be signed in there.`,
          code: "logout_unconfirmed",
          idpMayBeActive: true,
        };
      }
      return {
        title: `You signed out of ${app} in this browser`,
        body: `The sign-out was made in a tab of this browser. This page knows nothing about your identity provider: you may still be signed in there, and in other apps that use it.`,
        code: "logout",
        idpMayBeActive: true,
      };
    case "revoked":
      return {
        title: "Your identity provider ended this session",
        body:
          ending.mechanism === "backchannel"
            ? `Your identity provider told ${app} that your session there is over (for example, you signed out in another app, or an administrator ended it).`
            : `This session was ended on ${app}'s revocation list (by your identity provider or an administrator).`,
        code: "revoked",
      };
    case "frontchannel_logout":
      return {
        title: "Your identity provider signed you out",
        body: `Your identity provider's sign-out page told ${app}, in this browser, that your session there is over.`,
        code: "frontchannel_logout",
      };
    case "idp_session_changed":
      return {
        title: "Your sign-in at your identity provider changed",
        body: `This tab noticed that your session at your identity provider ended or changed, and a silent check with your identity provider confirmed it, so ${app} signed you out.`,
        code: "idp_session_changed",
      };
    case "security_event":
      return {
        title: "Signed out for your security",
        body: "Your identity provider or a security system reported a change to your account (for example, your session was revoked, your password changed or the account was disabled).",
        code: "security_event",
      };
    case "ended_elsewhere":
      return {
        title: "Signed out from another device",
        body: `This session was ended from another of your sessions at ${app} ("Sign out this device" or "Sign out every device"). That signs out of ${app} only: you may still be signed in at your identity provider in this browser.`,
        code: "ended_elsewhere",
        idpMayBeActive: true,
      };
    case "expired":
      return { title: "Your session expired", body: "Sessions last a limited time. Sign in again to continue.", code: "expired" };
    case "idp_refused":
      return {
        title: "Your identity provider no longer accepts this session",
        body: `${app} checks every active session with your identity provider at a regular interval. The last check found that it no longer honours this one (for example, you signed out there or in another app, an administrator ended your sessions, or your account changed), so ${app} signed you out.`,
        code: "idp_refused",
      };
    case "refresh_failed":
      return {
        title: "Your session could not be renewed",
        body: "Your identity provider no longer accepts this session. Sign in again to continue.",
        code: "refresh_failed",
      };
  }
  return { title: "You are signed out", body: `Your session at ${app} has ended. Sign in again to continue.`, code: ending.reason };
}

/**
 * What a failed sign-in says, by the code Auth.js's logger classified (lib/oidc/sign-in-errors.ts).
 * Each names who can fix it; the log line with the same code names the setting.
 */
export function signInFailureMessage(code: SignInFailureCode, app: string, appUrl: string): Message {
  const notYou = "Nothing is wrong with your account.";
  switch (code) {
    case "idp_unreachable":
      return {
        title: "Sign-in is temporarily unavailable",
        body: `${app} could not reach its identity provider. ${notYou} Try again in a moment; if it keeps happening, tell the people who run ${app}.`,
        code: "sign_in_idp_unreachable",
      };
    case "idp_invalid":
      return {
        title: "Sign-in is not available",
        body: `${app}'s identity provider answered, but not as the one ${app} is set up for. ${notYou} The people who run ${app} need to check its settings.`,
        code: "sign_in_idp_invalid",
      };
    case "client_rejected":
      return {
        title: "Sign-in is not available",
        body: `Your identity provider did not accept ${app}'s own credentials, so it could not finish signing you in. ${notYou} The people who run ${app} need to check its settings.`,
        code: "sign_in_client_rejected",
      };
    case "host_mismatch":
      return {
        title: "Sign-in could not be completed",
        body: `This browser did not bring back what ${app} set when the sign-in started. That happens when ${app} is opened at another address than ${appUrl} (for example 127.0.0.1 instead of localhost), or when a sign-in is left for more than 15 minutes. Open ${appUrl} and sign in again.`,
        code: "sign_in_host_mismatch",
      };
    case "store_unavailable":
      return {
        title: "Sign-in is temporarily unavailable",
        body: `${app} could not reach its session store, so it could not sign you in. ${notYou} Try again in a moment.`,
        code: "sign_in_unavailable",
      };
    case "sign_in_failed":
      return {
        title: "Sign-in failed",
        body: `Signing you in did not complete, because of a problem on ${app}'s side. ${notYou} Try again; if it keeps happening, tell the people who run ${app}.`,
        code: "sign_in_failed",
      };
  }
}
