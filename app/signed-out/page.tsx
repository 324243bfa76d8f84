import Link from "next/link";
import { getConfig } from "@/lib/config";
import { buttonClass, Header } from "../components";

export const dynamic = "force-dynamic";

const messages: Record<string, { title: string; body: string }> = {
  logout: { title: "You signed out", body: "Your session here and at your identity provider has ended." },
  logout_unconfirmed: {
    title: "You signed out here",
    body: "Your session in this app has ended. We could not confirm the sign-out at your identity provider, so you may still be signed in there.",
  },
  logout_incomplete: {
    title: "You signed out, but not everywhere yet",
    body: "This browser is signed out and your identity provider ended its session. This app could not reach its session store to record the sign-out; it will once the store is back (your identity provider tells it). Until then, close this browser if others use it.",
  },
  logout_incomplete_unconfirmed: {
    title: "Your sign-out could not be completed",
    body: "This browser is signed out, but this app could not reach its session store and your identity provider did not confirm the sign-out. Sign in and sign out again in a moment to be sure.",
  },
  revoked: { title: "Your session was ended", body: "Your identity provider ended this session (for example, you signed out in another app, or an administrator ended it)." },
  frontchannel_logout: { title: "You were signed out", body: "Your identity provider signed you out of this app (front-channel logout)." },
  idp_session_changed: { title: "Your sign-in changed", body: "Your session at your identity provider ended or changed, so this app signed you out." },
  security_event: {
    title: "Signed out for your security",
    body: "Your identity provider or a security system reported a change to your account (for example, your session was revoked, your password changed or the account was disabled).",
  },
  ended_elsewhere: { title: "Signed out from another device", body: "This session was ended from another of your sessions." },
  expired: { title: "Your session expired", body: "Sessions last a limited time. Sign in again to continue." },
  refresh_failed: { title: "Your session could not be renewed", body: "Your identity provider no longer accepts this session. Sign in again to continue." },
};

const fallback = { title: "You are signed out", body: "Sign in again to continue." };

const refused = { title: "Sign-in refused", body: "This account cannot sign in to this app right now (for example, it has been disabled)." };

const unavailable = {
  title: "Sign-in is temporarily unavailable",
  body: "This app could not reach its session store, so it could not sign you in. Nothing is wrong with your account: try again in a moment.",
};

/** Auth.js's error codes (its `pages.error` is this page): a refused sign-in, or one that failed on our side. */
const signInErrors: Record<string, { title: string; body: string }> = { AccessDenied: refused, unavailable, Configuration: unavailable };

export default async function SignedOut({ searchParams }: { searchParams: Promise<{ reason?: string | string[]; error?: string | string[] }> }) {
  const { APP_NAME } = getConfig();
  const { reason, error } = await searchParams;
  const signInError = typeof error === "string" && Object.hasOwn(signInErrors, error) ? signInErrors[error] : undefined;
  const message = signInError ?? (typeof reason === "string" && Object.hasOwn(messages, reason) ? messages[reason] : undefined) ?? fallback;
  return (
    <>
      <Header appName={APP_NAME} />
      <section aria-labelledby="signed-out-title" className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
        <p className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">Signed out</p>
        <h1 id="signed-out-title" className="mb-2 text-2xl font-bold" data-reason={error === "AccessDenied" ? "sign_in_refused" : signInError ? "sign_in_unavailable" : typeof reason === "string" ? reason : "none"}>
          {message.title}
        </h1>
        <p className="mb-4 text-slate-700">{message.body}</p>
        <Link className={buttonClass} href="/">
          Sign in again
        </Link>
      </section>
    </>
  );
}
